"""The daily purge: call-log rows older than `[store] retention_days` and audit rows older than
`[audit] retention_days` (0 keeps them for ever), deleted in batches that let the pops run
between two (:mod:`screenpop.store.retention` lists the tables).

The daemon's task owner runs it a minute after start, then once a day; `screenpop purge` runs
it once now. In cluster mode one node purges: the one that takes the `@retention` lease, held for
half a day so the other nodes' daily runs find it taken.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from screenpop.cluster.lease import Lease
from screenpop.cluster.node import ClusterNode
from screenpop.cluster.redis import ClusterDown
from screenpop.errors import StoreError
from screenpop.keys import RETENTION_LEASE
from screenpop.pipeline.live import LiveConfig
from screenpop.settings import Settings
from screenpop.store import Store
from screenpop.store.retention import (
    AUDIT_RETAINED,
    BATCH_ROWS,
    STORE_RETAINED,
    Retained,
    purge_older,
    table_of,
)
from screenpop.tasks import TaskOwner

log = logging.getLogger(__name__)

DAY_S = 86_400.0
FIRST_RUN_S = 60.0  # after start: the daemon is up and serving before it purges


class Retention:
    """Purges what is older than the retention settings, read from `settings` on every run."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        store: Store,
        registry: CollectorRegistry | None = None,
        lease: Lease | None = None,
        *,
        batch: int = BATCH_ROWS,
    ) -> None:
        self._settings = settings
        self._store = store
        self._lease = lease
        self._batch = batch
        registry = registry if registry is not None else CollectorRegistry()
        self.deleted = Counter(
            "screenpop_retention_rows_deleted",
            "Rows deleted by the retention purge, per table",
            ["table"],
            registry=registry,
        )
        self.last_run = Gauge(
            "screenpop_retention_last_run_timestamp_seconds",
            "When the retention purge last ran to its end (epoch seconds; 0: not yet)",
            registry=registry,
        )

    def plan(self, now: float) -> list[tuple[Retained, float]]:
        """Each table to purge with its cutoff: rows older than it go."""
        cfg = self._settings()
        plan: list[tuple[Retained, float]] = []
        if cfg.store.retention_days:
            cutoff = now - cfg.store.retention_days * DAY_S
            plan += [(retained, cutoff) for retained in STORE_RETAINED]
        if cfg.audit.retention_days:
            plan.append((AUDIT_RETAINED, now - cfg.audit.retention_days * DAY_S))
        return plan

    async def run_once(self, *, dry_run: bool = False, now: float | None = None) -> dict[str, int]:
        """Purge now: table name -> rows deleted (with `dry_run`, rows that would be, nothing
        deleted). StoreError when the store fails (what was deleted before stays deleted)."""
        now = time.time() if now is None else now
        purged: dict[str, int] = {}
        for retained, cutoff in self.plan(now):
            rows = await purge_older(
                self._store, retained, cutoff, batch=self._batch, dry_run=dry_run
            )
            purged[table_of(self._store, retained).name] = rows
            if not dry_run:
                self.deleted.labels(retained.table).inc(rows)
        if not dry_run:
            self.last_run.set(now)
            summary = _summary(purged) or "nothing was older"
            log.info("retention: %s rows purged (%s)", sum(purged.values()), summary)
        return purged

    async def run_daily(self, first_s: float | None = None, every_s: float = DAY_S) -> None:
        """Purge `first_s` (default FIRST_RUN_S) after start, then every `every_s`, until
        cancelled."""
        await asyncio.sleep(FIRST_RUN_S if first_s is None else first_s)
        while True:
            if await self._our_turn():
                try:
                    await self.run_once()
                except StoreError as exc:
                    log.warning("retention: purge stopped, tried again tomorrow: %s", exc)
            await asyncio.sleep(every_s)

    async def _our_turn(self) -> bool:
        if self._lease is None:
            return True
        try:
            holder = await self._lease.acquire()
        except ClusterDown as exc:
            log.warning("retention: not purging today, Redis does not answer: %s", exc)
            return False
        if holder != self._lease.node_id:
            log.info("retention: node %s purges today, not this one", holder)
            return False
        return True


def start_retention(
    live: LiveConfig,
    store: Store,
    tasks: TaskOwner,
    registry: CollectorRegistry,
    cluster: ClusterNode | None,
) -> Retention:
    """The daily purge, running on `tasks`; in a cluster only on the node holding its lease."""
    lease = None
    if cluster is not None:
        lease = Lease(cluster.redis, RETENTION_LEASE, cluster.node_id, DAY_S / 2)
    retention = Retention(lambda: live.settings, store, registry, lease)
    tasks.spawn(retention.run_daily(), name="retention")
    return retention


def _summary(purged: dict[str, int]) -> str:
    return ", ".join(f"{table} {rows}" for table, rows in purged.items() if rows)
