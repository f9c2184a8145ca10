"""The retention purge on SQLite and the real PostgreSQL: exactly the rows older than the
cutoff go (a row at the cutoff stays), in batches, and the audit trail has a retention of its
own."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from screenpop.audit import audit_record
from screenpop.cli import main
from screenpop.cluster.lease import Lease
from screenpop.cluster.redis import ClusterRedis
from screenpop.keys import RETENTION_LEASE
from screenpop.retention import DAY_S, Retention
from screenpop.settings import Settings, parse_settings
from screenpop.store import CallRecord, Store
from screenpop.store.callback_table import CallbackRecord
from screenpop.store.retention import STORE_RETAINED, older_batch, purge_older
from screenpop.store.schema import LogoutRecord, NoteRecord, PauseRecord, RingRecord, Write
from tests.harness import make_settings, running, until

NOW = 1_795_000_000.0
E164 = "+12125551234"


def settings(store_days: int, audit_days: int) -> Settings:
    raw: dict[str, Any] = {
        "store": {"retention_days": store_days},
        "audit": {"retention_days": audit_days},
    }
    return parse_settings(raw, "test")


def rows_at(n: int, at: float) -> list[Write]:
    """Call `n` at `at` with a ring, a note, an audit row, a logout, a pause and a callback item
    of its own."""
    call_id = f"c{n}"
    return [
        CallRecord("pbx", call_id, E164, E164, None, "q", "alice", "ended", "inbound", at),
        RingRecord("pbx", call_id, "alice", 1, at, "answered", at + 5),
        NoteRecord(f"n{n}", call_id, E164, "alice", "resolved", "text", at),
        audit_record("alice", "pop", E164, call_id, at=at),
        LogoutRecord(f"agent{n}", int(at * 1000), at),
        PauseRecord("alice", "lunch", at, at + 600),
        CallbackRecord("pbx", call_id, "q", E164, "abandoned", 30.0, at),
    ]


async def seed(store: Store, times: list[float]) -> None:
    for n, at in enumerate(times):
        await store.write(rows_at(n, at))
        table = store.tables.choices
        await store.change(
            table.insert().values(caller_e164=f"+1212555{n:04d}", customer_id="C", at=at), "seed"
        )


async def count(store: Store, name: str) -> int:
    table = getattr(store.tables, name)
    return int((await store.rows(select(func.count()).select_from(table), "count"))[0][0])


async def times_left(store: Store) -> list[float]:
    c = store.tables.calls.c
    return [row[0] for row in await store.rows(select(c.started_at).order_by(c.started_at), "")]


async def test_exactly_the_older_rows_go_and_the_one_at_the_cutoff_stays(store: Store) -> None:
    cutoff = NOW - 30 * DAY_S
    await seed(store, [cutoff - 86_000, cutoff - 1, cutoff, cutoff + 1, NOW - 60])
    retention = Retention(lambda: settings(30, 0), store, batch=2)

    purged = await retention.run_once(now=NOW)

    prefix = store.tables.calls.name.removesuffix("calls")
    assert purged == {
        f"{prefix}calls": 2,
        f"{prefix}call_notes": 2,
        f"{prefix}call_rings": 2,
        f"{prefix}caller_choices": 2,
        f"{prefix}session_logouts": 2,
        f"{prefix}agent_pauses": 2,
        f"{prefix}callbacks": 2,
    }
    assert await times_left(store) == [cutoff, cutoff + 1, NOW - 60]
    for retained in STORE_RETAINED:
        assert await count(store, retained.table) == 3, retained.table
    assert await count(store, "audit") == 5  # [audit] retention_days = 0: kept for ever


async def test_a_purge_runs_in_batches_until_nothing_older_is_left(store: Store) -> None:
    await seed(store, [NOW - 100 * DAY_S + i for i in range(7)] + [NOW])
    calls = store.tables.calls
    one = await store.change(older_batch(calls, "started_at", NOW - DAY_S, 3), "one batch")
    assert one == 3  # one statement deletes at most a batch
    rest = await purge_older(store, STORE_RETAINED[0], NOW - DAY_S, batch=3, dry_run=False)
    assert rest == 4
    assert await times_left(store) == [NOW]


async def test_the_audit_trail_has_its_own_retention(store: Store) -> None:
    await seed(store, [NOW - 400 * DAY_S, NOW - 200 * DAY_S, NOW - DAY_S])
    registry = CollectorRegistry()
    retention = Retention(lambda: settings(0, 365), store, registry)

    purged = await retention.run_once(now=NOW)

    assert purged == {store.tables.audit.name: 1}
    assert await count(store, "audit") == 2
    assert await count(store, "calls") == 3  # [store] retention_days = 0: kept for ever
    deleted = registry.get_sample_value(
        "screenpop_retention_rows_deleted_total", {"table": "audit"}
    )
    assert deleted == 1.0
    assert registry.get_sample_value("screenpop_retention_last_run_timestamp_seconds") == NOW


async def test_a_dry_run_counts_and_deletes_nothing(store: Store) -> None:
    await seed(store, [NOW - 90 * DAY_S, NOW - 10 * DAY_S])
    retention = Retention(lambda: settings(30, 30), store)

    found = await retention.run_once(now=NOW, dry_run=True)

    assert set(found.values()) == {1}
    assert len(found) == len(STORE_RETAINED) + 1
    for name in ("calls", "notes", "rings", "choices", "logouts", "pauses", "audit"):
        assert await count(store, name) == 2


async def test_screenpop_purge_runs_it_once_now(tmp_path: Path, capsys: Any) -> None:
    config = tmp_path / "screenpop.toml"
    config.write_text(
        f'[store]\nurl = "sqlite+aiosqlite:///{tmp_path / "calls.db"}"\nretention_days = 30\n'
        "[audit]\nretention_days = 0\n"
    )
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    await store.start()
    now = time.time()
    await seed(store, [now - 60 * DAY_S, now - 31 * DAY_S, now - DAY_S])

    assert await asyncio.to_thread(main, ["purge", "--dry-run", "--config", str(config)]) == 0
    assert await count(store, "calls") == 3
    assert await asyncio.to_thread(main, ["purge", "--config", str(config)]) == 0

    assert await count(store, "calls") == 1
    assert await count(store, "audit") == 3
    printed = capsys.readouterr().out
    assert "would delete (dry run)" in printed
    assert re.search(r"^  calls +2$", printed, re.MULTILINE)
    await store.aclose()


async def test_in_a_cluster_one_node_purges_a_day(
    store: Store, redis_url: str, redis_cleanup: str, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(store, [time.time() - 90 * DAY_S, time.time()])
    redis = ClusterRedis(redis_url, redis_cleanup)
    registries = {node: CollectorRegistry() for node in ("a", "b")}
    nodes = {
        node: Retention(
            lambda: settings(30, 0),
            store,
            registry,
            Lease(redis, RETENTION_LEASE, node, DAY_S / 2),
        )
        for node, registry in registries.items()
    }

    def last_run(node: str) -> float:
        found = registries[node].get_sample_value("screenpop_retention_last_run_timestamp_seconds")
        return found or 0.0

    caplog.set_level(logging.INFO, "screenpop.retention")
    tasks = [asyncio.create_task(nodes["a"].run_daily(first_s=0))]
    try:
        await until(lambda: last_run("a") > 0, "node a purged")
        tasks.append(asyncio.create_task(nodes["b"].run_daily(first_s=0)))
        await until(lambda: "node a purges today" in caplog.text, "node b skipped")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await redis.aclose()
    assert await count(store, "calls") == 1
    assert last_run("b") == 0


async def test_the_daemon_purges_on_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("screenpop.retention.FIRST_RUN_S", 0.0)
    cfg = make_settings(tmp_path, store={"url": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
                                         "retention_days": 30})  # fmt: skip
    store = Store(cfg.store.url)
    await store.start()
    await seed(store, [time.time() - 31 * DAY_S, time.time()])
    async with running(cfg) as (_, port):
        for _ in range(500):
            if await count(store, "calls") == 1:
                break
            await asyncio.sleep(0.02)
        url = f"http://127.0.0.1:{port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            text = await response.text()
    assert await count(store, "calls") == 1
    assert 'screenpop_retention_rows_deleted_total{table="calls"} 1.0' in text
    await store.aclose()
