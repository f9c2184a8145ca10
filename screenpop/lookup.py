"""Fan-out: ask every connector about a number at once, each under its own deadline.

A :class:`CardBuild` belongs to one call. It reads the cache for every connector in one round
trip, runs the connectors that missed (all at once, one TaskGroup), and exposes:

* :attr:`CardBuild.first`: resolved once every section is final or its connector's deadline has
  passed (those sections say `timeout`); this is the card that pops.
* ``on_update``: called with each newer card after that, when a late answer arrives (counted
  per connector in `screenpop_connector_late_total`).

Lookup keys (`[lookup] keys`, IVR data) reach a connector in its query; a connector whose query
uses some (its `uses_keys`) has their values in its cache key, and a record it finds with them
makes the card's `matched_by` those keys (else `"number"`).

Stale cache entries are served at once and refreshed in the background (single flight per key).
A connector's failure becomes its section's status; it never cancels a sibling.

Every call goes through the connector's guard rails (:mod:`screenpop.connectors.guard`): an
open breaker skips it (``error: unavailable``, outcome ``skipped``), a saturated concurrency
limit makes it
wait for a slot until its deadline and then gives up (``error: busy``, outcome ``busy``). An
answer that is not ``None``, a record or a list of records of JSON values is a connector bug,
reported as ``error: internal error``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from screenpop.cache import Cache, CacheHit, CacheState, Revalidator
from screenpop.card import Card, Section, Status
from screenpop.connectors.contract import LookupQuery, LookupResult
from screenpop.connectors.guard import (
    BUSY,
    UNAVAILABLE,
    BreakerState,
    ConnectorBusy,
)
from screenpop.connectors.runtime import ConnectorRuntime
from screenpop.errors import ConnectorError
from screenpop.keys import choice_key, section_key
from screenpop.metrics import Metrics
from screenpop.settings import CacheSettings

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """How one lookup ended, as counted in `/metrics`."""

    OK = "ok"
    NOT_FOUND = "not_found"
    TIMEOUT = "timeout"  # killed at the connector's hard limit (late_ms)
    ERROR = "error"
    SKIPPED = "skipped"  # the breaker is open: the connector was not called
    BUSY = "busy"  # no free slot before the deadline: the connector was not called


_STATUS = {
    Outcome.OK: Status.OK,
    Outcome.NOT_FOUND: Status.NOT_FOUND,
    Outcome.TIMEOUT: Status.TIMEOUT,
    Outcome.ERROR: Status.ERROR,
    Outcome.SKIPPED: Status.ERROR,
    Outcome.BUSY: Status.ERROR,
}
_VERDICT = {Outcome.OK: True, Outcome.NOT_FOUND: True, Outcome.TIMEOUT: False, Outcome.ERROR: False}


@dataclass(frozen=True, slots=True)
class Attempt:
    """One guarded call of a connector: the section it produced and how it ended."""

    section: Section
    outcome: Outcome

    @property
    def called(self) -> bool:
        return self.outcome not in (Outcome.SKIPPED, Outcome.BUSY)


CHOICE_TTL_S = 30 * 86400.0


async def call_connector(runtime: ConnectorRuntime, query: LookupQuery) -> Attempt:
    """Run one lookup behind the connector's guard rails; every failure becomes a section.

    The breaker may skip the call (``error: unavailable``); the wait for a concurrency slot is
    bounded by the deadline (``error: busy``); the lookup itself by the hard limit, ``late_ms``.
    """
    breaker = runtime.guard.breaker
    if not breaker.allow():
        return Attempt(Section(Status.ERROR, error=UNAVAILABLE), Outcome.SKIPPED)
    start = time.perf_counter()
    outcome: Outcome | None = None  # stays None if the fan-out is cancelled meanwhile
    data: Any = None
    error: str | None = None
    try:
        outcome, data, error = await _attempt(runtime, query)
    finally:
        verdict = _VERDICT.get(outcome) if outcome is not None else None
        breaker.settle(verdict, error or "timeout")
    ms = (time.perf_counter() - start) * 1000
    return Attempt(Section(_STATUS[outcome], data, ms, error=error), outcome)


async def _attempt(
    runtime: ConnectorRuntime, query: LookupQuery
) -> tuple[Outcome, Any, str | None]:
    settings = runtime.settings
    try:
        async with asyncio.timeout(settings.late_ms / 1000):
            async with runtime.guard.limit.slot(settings.deadline_ms / 1000):
                result = await runtime.connector.lookup(query)
        return to_outcome(result)
    except ConnectorBusy:
        return Outcome.BUSY, None, BUSY
    except TimeoutError:
        return Outcome.TIMEOUT, None, None
    except ConnectorError as exc:
        return Outcome.ERROR, None, str(exc) or type(exc).__name__
    except Exception:
        log.exception("connector %s: lookup failed", runtime.name)
        return Outcome.ERROR, None, "internal error"


def to_outcome(result: LookupResult) -> tuple[Outcome, Any, str | None]:
    """Check a connector's answer at the trust boundary: JSON-able records, or nothing."""
    status, data = to_status(result)
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the answer is not JSON: {exc}") from exc
    return (Outcome.OK if status is Status.OK else Outcome.NOT_FOUND), data, None


def to_status(result: LookupResult) -> tuple[Status, Any]:
    """A connector's answer as a section status and data (one dict, or a list for several)."""
    if result is None:
        return Status.NOT_FOUND, None
    if isinstance(result, Mapping):
        return Status.OK, dict(result)
    if isinstance(result, str | bytes) or not isinstance(result, Sequence):
        raise TypeError(f"the answer is a {type(result).__name__}, not a record or a list")
    rows = [_record(r) for r in result]
    if not rows:
        return Status.NOT_FOUND, None
    return Status.OK, rows[0] if len(rows) == 1 else rows


def _record(row: object) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise TypeError(f"a listed answer is a {type(row).__name__}, not a record")
    return dict(row)


class Claims(Protocol):
    """One lookup per (connector, number) across several nodes (`[cluster]`)."""

    async def claim(self, section_key: str, wait_s: float) -> CacheHit | None:
        """None: ask the connector; else the answer another node cached meanwhile."""
        ...

    async def release(self, section_key: str) -> None: ...


class Lookup:
    """Builds cards; shared by every call. Swapped whole on config reload.

    `on_section` is called with every section a connector produced (cached ones excluded);
    `metrics`, when given, counts every lookup's outcome and latency and the sections that came
    late, and shows each connector's breaker state.
    """

    def __init__(
        self,
        connectors: Sequence[ConnectorRuntime],
        cache: Cache,
        cache_settings: CacheSettings,
        revalidator: Revalidator,
        on_section: Callable[[str, Section], None] = lambda name, section: None,
        *,
        metrics: Metrics | None = None,
        claims: Claims | None = None,
    ) -> None:
        self.connectors = list(connectors)
        self.keyed = {c.name: _uses_keys(c) for c in self.connectors}
        self._claims = claims
        self._cache = cache
        self._cfg = cache_settings
        self._revalidator = revalidator
        self._on_section = on_section
        self._metrics = metrics
        if metrics is not None:
            for runtime in self.connectors:
                runtime.guard.breaker.on_change = self._breaker_changed
                metrics.breaker_state(runtime.name, runtime.guard.breaker.state)
                metrics.connector_late.labels(runtime.name)  # shown at 0 before the first

    def _breaker_changed(self, connector: str, state: BreakerState) -> None:
        if self._metrics is not None:
            self._metrics.breaker_state(connector, state)

    def late(self, connector: str) -> None:
        """A card's section arrived after the card was ready to pop: counted per connector."""
        if self._metrics is not None:
            self._metrics.late_section(connector)

    def key_values(self, connector: str, query: LookupQuery) -> dict[str, str]:
        """The lookup keys with a value for this call that the connector's query uses."""
        used = self.keyed.get(connector, frozenset())
        return {k: v for k, v in query.key_values.items() if k in used}

    def section_key(self, connector: str, query: LookupQuery) -> str:
        """The cache key of the connector's answer to `query`."""
        return section_key(connector, query.e164, self.key_values(connector, query))

    @property
    def priorities(self) -> dict[str, int]:
        return {c.name: c.settings.priority for c in self.connectors}

    async def cached(self, query: LookupQuery) -> tuple[list[CacheHit | None], str | None]:
        """Every connector's cached section and the customer picked for the number, in one
        round trip to the cache."""
        keys = [self.section_key(c.name, query) for c in self.connectors]
        *hits, choice = await self._cache.get_many([*keys, choice_key(query.e164)])
        chosen = choice.value.get("customer_id") if choice is not None else None
        return hits, chosen if isinstance(chosen, str) else None

    async def remember_choice(self, e164: str, customer_id: str) -> None:
        """Cache the customer an agent picked for this number (the store keeps it for good)."""
        await self._cache.set(choice_key(e164), {"customer_id": customer_id}, CHOICE_TTL_S, 0.0)

    async def store(self, runtime: ConnectorRuntime, query: LookupQuery, section: Section) -> None:
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
        await self._cache.set(self.section_key(runtime.name, query), value, fresh, stale)

    async def fetch(
        self,
        runtime: ConnectorRuntime,
        query: LookupQuery,
        on_answer: Callable[[Section], None] = lambda section: None,
    ) -> Section:
        """Ask one connector (behind its guard rails), count the outcome, cache the answer.

        `on_answer` gets the section before the cache write, so a slow cache never delays it.
        """
        claims, key = self._claims, self.section_key(runtime.name, query)
        if claims is not None:
            hit = await claims.claim(key, runtime.settings.deadline_ms / 1000)
            if hit is not None:  # another node asked meanwhile: its answer, from the cache
                section = from_cache(hit)
                on_answer(section)
                return section
        try:
            attempt = await call_connector(runtime, query)
            section = attempt.section
            if self._metrics is not None:
                seconds = section.ms / 1000 if attempt.called else None
                self._metrics.connector_outcome(runtime.name, attempt.outcome, seconds)
            self._on_section(runtime.name, section)
            on_answer(section)
            await self.store(runtime, query, section)
        finally:
            if claims is not None:
                await claims.release(key)
        return section

    def revalidate(self, runtime: ConnectorRuntime, query: LookupQuery) -> None:
        async def refresh() -> None:
            await self.fetch(runtime, query)

        self._revalidator.refresh(self.section_key(runtime.name, query), refresh)


def _uses_keys(runtime: ConnectorRuntime) -> frozenset[str]:
    """The lookup keys a connector's query uses (a connector's optional `uses_keys`)."""
    used: object = getattr(runtime.connector, "uses_keys", frozenset())
    return frozenset(used) if isinstance(used, frozenset | set | tuple | list) else frozenset()


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
        self._matches: Callable[[str], Mapping[str, str]] = lambda name: {}

    def _set(self, name: str, section: Section) -> bool:
        """Put a connector's answer on the card; True when it is late: it fills in a section
        that timed out, after the card was ready to pop."""
        current = self.card.sections.get(name)
        if current is not None and current.status not in (Status.PENDING, Status.TIMEOUT):
            return False
        late = self.first.done() and section.status is not Status.TIMEOUT
        self._put(name, section)
        self._pending.discard(name)
        if self.first.done():
            self._on_update(self.card)
        else:
            self._maybe_first()
        return late

    def _put(self, name: str, section: Section) -> None:
        """Put a section on the card; a record found makes `matched_by` what found it."""
        card = self.card.with_section(name, section)
        if section.status is Status.OK:
            keys = self._matches(name)
            if keys:
                matched_in = (*card.matched_in, name)
                card = dataclasses.replace(card, matched_by=keys, matched_in=matched_in)
            elif card.matched_by is None:
                card = dataclasses.replace(card, matched_by="number")
        self.card = card

    def _deadline(self, name: str) -> None:
        if name in self._pending and not self.first.done():
            self._pending.discard(name)
            self.card = self.card.with_section(name, Section(Status.TIMEOUT))
            self._maybe_first()

    def _maybe_first(self) -> None:
        if not self._pending and not self.first.done():
            self.first.set_result(self.card)

    def amend(self, history: Sequence[Mapping[str, Any]], chosen: str | None) -> None:
        """Add what the call log knows (the caller's history, the customer an agent picked for
        this number). It arrives independently of the connectors: if the card already popped,
        the agents get it as a card update."""
        before = self.card
        chosen = chosen if chosen is not None else before.chosen
        self.card = dataclasses.replace(before, history=tuple(history), chosen=chosen)
        if self.first.done() and (before.history, before.chosen) != (self.card.history, chosen):
            self._on_update(self.card)

    async def run(self, lookup: Lookup, query: LookupQuery | None) -> None:
        """Fill the card: cache first, then every missing connector at once."""
        if query is None or not lookup.connectors:
            self._maybe_first()
            return
        self._matches = lambda name: lookup.key_values(name, query)
        hits, chosen = await lookup.cached(query)
        if chosen is not None:
            self.card = dataclasses.replace(self.card, chosen=chosen)
        loop = asyncio.get_running_loop()
        todo: list[ConnectorRuntime] = []
        handles = []
        for runtime, hit in zip(lookup.connectors, hits, strict=True):
            if hit is not None:
                self._put(runtime.name, from_cache(hit))
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
        def answered(section: Section) -> None:
            if self._set(runtime.name, section):
                lookup.late(runtime.name)

        await lookup.fetch(runtime, query, answered)
