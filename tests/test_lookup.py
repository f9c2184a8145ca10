"""The fan-out: every connector at once, each under its deadline, failures kept to their section.

The connectors here are real connector classes whose answers the test controls; "late" is a gate
the test opens after the first card is out, so nothing depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from screenpop.cache import Cache, MemoryCache, Revalidator
from screenpop.card import Card, Section, Status
from screenpop.connectors.contract import LookupQuery, LookupResult
from screenpop.connectors.runtime import ConnectorRuntime
from screenpop.errors import ConnectorError
from screenpop.lookup import CardBuild, Lookup
from screenpop.metrics import Metrics
from screenpop.settings import CacheSettings, ConnectorSettings

QUERY = LookupQuery("+12125551234", "(212) 555-1234", "12125551234", "2125551234", "US")


class AnswerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnswerConnector:
    """Answers `answer` (or raises it, if it is an exception) once `gate` is open."""

    Settings: ClassVar[type[BaseModel]] = AnswerSettings

    def __init__(self, name: str, answer: Any = None, *, gated: bool = False) -> None:
        self.name = name
        self.answer = answer
        self.gate = asyncio.Event()
        if not gated:
            self.gate.set()
        self.calls = 0

    async def start(self) -> None:
        return None

    async def lookup(self, query: LookupQuery) -> LookupResult:
        self.calls += 1
        await self.gate.wait()
        if isinstance(self.answer, BaseException):
            raise self.answer
        result: LookupResult = self.answer
        return result

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


@pytest.fixture
async def cache() -> AsyncIterator[Cache]:
    cache = MemoryCache("test:")
    yield cache
    await cache.aclose()


@pytest.fixture
async def revalidator() -> AsyncIterator[Revalidator]:
    revalidator = Revalidator()
    yield revalidator
    await revalidator.aclose()


def rt(connector: AnswerConnector, **common: Any) -> ConnectorRuntime:
    return ConnectorRuntime(connector, ConnectorSettings(name=connector.name, kind="t", **common))


def new_build(updates: list[Card]) -> CardBuild:
    card = Card("call-1", {"e164": QUERY.e164}, {})
    return CardBuild(card, updates.append)


def status_of(card: Card) -> dict[str, tuple[str, Any, str | None]]:
    return {n: (str(s.status), s.data, s.error) for n, s in card.sections.items()}


async def test_a_late_connector_is_timeout_on_the_first_card_and_fills_in_later(
    cache: Cache, revalidator: Revalidator
) -> None:
    fast = AnswerConnector("crm", {"name": "Jane Doe", "customer_id": "C-1"})
    slow = AnswerConnector("billing", {"balance": 12.5}, gated=True)
    lookup = Lookup(
        [rt(fast), rt(slow, deadline_ms=50, late_ms=30_000)], cache, CacheSettings(), revalidator
    )
    updates: list[Card] = []
    build = new_build(updates)
    run = asyncio.create_task(build.run(lookup, QUERY))

    first = await build.first  # resolves at billing's deadline while billing is still held
    assert status_of(first) == {
        "crm": ("ok", {"name": "Jane Doe", "customer_id": "C-1"}, None),
        "billing": ("timeout", None, None),
    }
    assert first.to_json()["summary"] == {"name": "Jane Doe", "customer_id": "C-1"}
    assert not run.done() and updates == []

    slow.gate.set()
    await run
    assert len(updates) == 1
    assert status_of(updates[0])["billing"] == ("ok", {"balance": 12.5}, None)
    assert updates[0].to_json()["complete"] is True


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (ConnectorError("billing system is down"), "billing system is down"),
        (RuntimeError("a bug in the connector"), "internal error"),
        ({"since": date(2020, 1, 1)}, "internal error"),  # not JSON: would break the websocket
        ("just a string", "internal error"),
        ([{"ok": 1}, "not a record"], "internal error"),
    ],
)
async def test_a_failing_connector_is_error_and_its_siblings_are_intact(
    cache: Cache, revalidator: Revalidator, answer: Any, error: str
) -> None:
    good = AnswerConnector("crm", [{"name": "Jane Doe"}])
    bad = AnswerConnector("billing", answer)
    nobody = AnswerConnector("sales", [])
    lookup = Lookup([rt(good), rt(bad), rt(nobody)], cache, CacheSettings(), revalidator)
    build = new_build([])
    await build.run(lookup, QUERY)
    assert status_of(await build.first) == {
        "crm": ("ok", {"name": "Jane Doe"}, None),
        "billing": ("error", None, error),
        "sales": ("not_found", None, None),
    }


async def test_answers_are_cached_per_connector_and_errors_are_not(
    cache: Cache, revalidator: Revalidator
) -> None:
    crm = AnswerConnector("crm", {"name": "Jane Doe"})
    uncached = AnswerConnector("loyalty", {"tier": "gold"})
    broken = AnswerConnector("billing", ConnectorError("down"))
    lookup = Lookup(
        [rt(crm), rt(uncached, ttl_s=0), rt(broken)], cache, CacheSettings(), revalidator
    )
    for _ in range(2):
        build = new_build([])
        await build.run(lookup, QUERY)
    assert (crm.calls, uncached.calls, broken.calls) == (1, 2, 2)
    assert build.card.sections["crm"].cached is True
    assert build.card.sections["loyalty"].cached is False


async def test_outcomes_latency_and_breaker_state_are_counted(
    cache: Cache, revalidator: Revalidator
) -> None:
    metrics = Metrics()
    seen: list[tuple[str, Section]] = []
    ok = AnswerConnector("crm", {"name": "Jane Doe"})
    down = AnswerConnector("billing", ConnectorError("down"))
    lookup = Lookup(
        [rt(ok, ttl_s=0), rt(down, breaker_failures=2)],
        cache,
        CacheSettings(),
        revalidator,
        lambda name, section: seen.append((name, section)),
        metrics=metrics,
    )
    assert sample(metrics, "screenpop_connector_breaker_state", connector="billing") == 0
    sections = []
    for _ in range(4):
        build = new_build([])
        await build.run(lookup, QUERY)
        sections.append(build.card.sections["billing"])

    assert [(s.status, s.error) for s in sections] == [
        (Status.ERROR, "down"),
        (Status.ERROR, "down"),
        (Status.ERROR, "unavailable"),
        (Status.ERROR, "unavailable"),
    ]
    assert down.calls == 2
    outcomes = "screenpop_connector_outcomes_total"
    assert sample(metrics, outcomes, connector="crm", outcome="ok") == 4
    assert sample(metrics, outcomes, connector="billing", outcome="error") == 2
    assert sample(metrics, outcomes, connector="billing", outcome="skipped") == 2
    # Only the lookups that reached the connector are timed.
    assert sample(metrics, "screenpop_connector_seconds_count", connector="billing") == 2
    assert sample(metrics, "screenpop_connector_breaker_state", connector="billing") == 1
    assert sample(metrics, "screenpop_connector_breaker_state", connector="crm") == 0
    assert len(seen) == 8


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    value = metrics.registry.get_sample_value(name, labels)
    return value
