"""Fan-out: ask every connector about a number at once, each under its own deadline.

A :class:`CardBuild` belongs to one call. It reads the cache for every connector in one round
trip, runs the connectors that missed (all at once, one TaskGroup), and exposes:

* :attr:`CardBuild.first`: resolved once every section is final or its connector's deadline has
  passed (those sections say `timeout`); this is the card that pops.
* ``on_update``: called with each newer card after that, when a late answer arrives.

Stale cache entries are served at once and refreshed in the background (single flight per key).
A connector's failure becomes its section's status; it never cancels a sibling.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from screenpop.cache import Cache, CacheHit, CacheState, Revalidator
from screenpop.card import Card, Section, Status
from screenpop.connector import Connector, LookupQuery, LookupResult
from screenpop.errors import ConnectorError
from screenpop.settings import CacheSettings, ConnectorSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConnectorRuntime:
    """A started connector with the common settings the fan-out needs."""

    connector: Connector
    settings: ConnectorSettings

    @property
    def name(self) -> str:
        return self.settings.name


def section_key(connector: str, e164: str) -> str:
    return f"section:{connector}:{e164}"


async def call_connector(runtime: ConnectorRuntime, query: LookupQuery) -> Section:
    """Run one lookup under the connector's hard limit; every failure becomes a section."""
    start = time.perf_counter()
    status, data, error = Status.ERROR, None, None
    try:
        async with asyncio.timeout(runtime.settings.late_ms / 1000):
            result = await runtime.connector.lookup(query)
        status, data = to_status(result)
    except TimeoutError:
        status = Status.TIMEOUT
    except ConnectorError as exc:
        error = str(exc) or type(exc).__name__
    except Exception:
        log.exception("connector %s: lookup failed", runtime.name)
        error = "internal error"
    return Section(status, data, (time.perf_counter() - start) * 1000, error=error)


def to_status(result: LookupResult) -> tuple[Status, Any]:
    if result is None:
        return Status.NOT_FOUND, None
    if isinstance(result, Mapping):
        return Status.OK, dict(result)
    rows = [dict(r) for r in result]
    if not rows:
        return Status.NOT_FOUND, None
    return Status.OK, rows[0] if len(rows) == 1 else rows


class Lookup:
    """Builds cards; shared by every call. Swapped whole on config reload."""

    def __init__(
        self,
        connectors: Sequence[ConnectorRuntime],
        cache: Cache,
        cache_settings: CacheSettings,
        revalidator: Revalidator,
        on_section: Callable[[str, Section], None] = lambda name, section: None,
    ) -> None:
        self.connectors = list(connectors)
        self._cache = cache
        self._cfg = cache_settings
        self._revalidator = revalidator
        self._on_section = on_section  # metrics hook

    @property
    def priorities(self) -> dict[str, int]:
        return {c.name: c.settings.priority for c in self.connectors}

    async def cached(self, query: LookupQuery) -> list[CacheHit | None]:
        keys = [section_key(c.name, query.e164) for c in self.connectors]
        return await self._cache.get_many(keys) if keys else []

    async def store(self, runtime: ConnectorRuntime, e164: str, section: Section) -> None:
        """Cache a final answer: ok for the connector's TTL, not_found for the negative TTL."""
        if section.status is Status.OK:
            fresh = (
                runtime.settings.ttl_s if runtime.settings.ttl_s is not None else self._cfg.ttl_s
            )
        elif section.status is Status.NOT_FOUND:
            neg = runtime.settings.negative_ttl_s
            fresh = neg if neg is not None else self._cfg.negative_ttl_s
        else:
            return
        if fresh <= 0:
            return
        value = {"status": str(section.status), "data": section.data}
        stale = self._cfg.stale_s if section.status is Status.OK else 0.0
        await self._cache.set(section_key(runtime.name, e164), value, fresh, stale)

    async def fetch(self, runtime: ConnectorRuntime, query: LookupQuery) -> Section:
        section = await call_connector(runtime, query)
        self._on_section(runtime.name, section)
        await self.store(runtime, query.e164, section)
        return section

    def revalidate(self, runtime: ConnectorRuntime, query: LookupQuery) -> None:
        async def refresh() -> None:
            await self.fetch(runtime, query)

        self._revalidator.refresh(section_key(runtime.name, query.e164), refresh)


def from_cache(hit: CacheHit) -> Section:
    status = Status(hit.value.get("status", "ok"))
    return Section(status, hit.value.get("data"), 0.0, cached=True)


class CardBuild:
    """The card of one call while its sections arrive."""

    def __init__(self, card: Card, on_update: Callable[[Card], None]) -> None:
        self.card = card
        self.first: asyncio.Future[Card] = asyncio.get_running_loop().create_future()
        self._on_update = on_update
        self._pending: set[str] = set()

    def _set(self, name: str, section: Section) -> None:
        current = self.card.sections.get(name)
        if current is not None and current.status not in (Status.PENDING, Status.TIMEOUT):
            return
        self.card = self.card.with_section(name, section)
        self._pending.discard(name)
        if self.first.done():
            self._on_update(self.card)
        else:
            self._maybe_first()

    def _deadline(self, name: str) -> None:
        if name in self._pending and not self.first.done():
            self._pending.discard(name)
            self.card = self.card.with_section(name, Section(Status.TIMEOUT))
            self._maybe_first()

    def _maybe_first(self) -> None:
        if not self._pending and not self.first.done():
            self.first.set_result(self.card)

    def set_history(self, history: Sequence[Mapping[str, Any]]) -> None:
        card = self.card
        self.card = Card(card.call_id, card.caller, card.sections, card.priorities, history)

    async def run(self, lookup: Lookup, query: LookupQuery | None) -> None:
        """Fill the card: cache first, then every missing connector at once."""
        if query is None or not lookup.connectors:
            self._maybe_first()
            return
        hits = await lookup.cached(query)
        loop = asyncio.get_running_loop()
        todo: list[ConnectorRuntime] = []
        handles = []
        for runtime, hit in zip(lookup.connectors, hits, strict=True):
            if hit is not None:
                self.card = self.card.with_section(runtime.name, from_cache(hit))
                if hit.state is CacheState.STALE:
                    lookup.revalidate(runtime, query)
                continue
            todo.append(runtime)
            self._pending.add(runtime.name)
            self.card = self.card.with_section(runtime.name, Section(Status.PENDING))
            handles.append(
                loop.call_later(runtime.settings.deadline_ms / 1000, self._deadline, runtime.name)
            )
        self._maybe_first()
        try:
            async with asyncio.TaskGroup() as tg:
                for runtime in todo:
                    tg.create_task(self._one(lookup, runtime, query))
        finally:
            for handle in handles:
                handle.cancel()
            self._pending.clear()
            self._maybe_first()

    async def _one(self, lookup: Lookup, runtime: ConnectorRuntime, query: LookupQuery) -> None:
        self._set(runtime.name, await lookup.fetch(runtime, query))
