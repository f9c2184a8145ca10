"""Guard rails per connector: the circuit breaker and the concurrency limit.

The breaker is driven with a hand-moved clock, so "the cool-off is over" is a fact of the test,
not a race with the wall clock. The connectors are real connector classes answering as told.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from screenpop.card import Status
from screenpop.connectors.contract import ConnectorContext, LookupQuery, LookupResult
from screenpop.connectors.guard import BreakerState, CircuitBreaker, ConcurrencyLimit, ConnectorBusy
from screenpop.connectors.runtime import ConnectorRuntime
from screenpop.errors import ConnectorError
from screenpop.lookup import Outcome, call_connector
from screenpop.settings import ConnectorSettings

QUERY = LookupQuery("+12125551234", "(212) 555-1234", "12125551234", "2125551234", "US")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SwitchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SwitchConnector:
    """Answers, fails or hangs as the test sets `mode`; `gate` holds lookups while it is clear."""

    Settings: ClassVar[type[BaseModel]] = SwitchSettings

    def __init__(self, name: str, settings: Any, context: ConnectorContext) -> None:
        self.name = name
        self.mode = "ok"
        self.calls = 0
        self.running = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self._arrivals = asyncio.Condition()

    async def start(self) -> None:
        return None

    async def lookup(self, query: LookupQuery) -> LookupResult:
        self.calls += 1
        self.running += 1
        async with self._arrivals:
            self._arrivals.notify_all()
        try:
            await self.gate.wait()
            if self.mode == "fail":
                raise ConnectorError("back office says no")
            if self.mode == "hang":
                await asyncio.Event().wait()
            return {"name": "Jane Doe"} if self.mode == "ok" else None
        finally:
            self.running -= 1

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def until_running(self, n: int) -> None:
        """Wait until `n` lookups are inside the connector at once."""
        async with self._arrivals:
            await self._arrivals.wait_for(lambda: self.running >= n)


def runtime(clock: Clock | None = None, **common: Any) -> tuple[ConnectorRuntime, SwitchConnector]:
    settings = ConnectorSettings(name="crm", kind="test", **common)
    connector = SwitchConnector("crm", SwitchSettings(), ConnectorContext())
    rt = ConnectorRuntime(connector, settings)
    if clock is not None:
        rt.guard.breaker = CircuitBreaker(
            "crm", settings.breaker_failures, settings.breaker_cooloff_s, clock
        )
    return rt, connector


# -- the breaker on its own ------------------------------------------------------------------


def test_breaker_opens_after_n_consecutive_failures() -> None:
    clock = Clock()
    breaker = CircuitBreaker("crm", failures=3, cooloff_s=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.settle(False, "boom")
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    breaker.settle(False, "boom")
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()


def test_a_success_resets_the_count_of_failures() -> None:
    breaker = CircuitBreaker("crm", failures=2, cooloff_s=10, clock=Clock())
    for verdict in (False, True, False, True, False):
        assert breaker.allow()
        breaker.settle(verdict, "boom")
    assert breaker.state is BreakerState.CLOSED


def test_half_open_lets_one_probe_through_after_the_cooloff() -> None:
    clock = Clock()
    breaker = CircuitBreaker("crm", failures=1, cooloff_s=10, clock=clock)
    breaker.allow()
    breaker.settle(False, "boom")
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.allow()  # the probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # everyone else waits for the probe's verdict


@pytest.mark.parametrize(
    ("verdict", "after"),
    [(True, BreakerState.CLOSED), (False, BreakerState.OPEN), (None, BreakerState.OPEN)],
)
def test_the_probe_decides(verdict: bool | None, after: BreakerState) -> None:
    clock = Clock()
    breaker = CircuitBreaker("crm", failures=1, cooloff_s=10, clock=clock)
    breaker.allow()
    breaker.settle(False, "boom")
    clock.now += 10
    assert breaker.allow()
    breaker.settle(verdict, "boom")
    assert breaker.state is after


def test_a_failed_probe_starts_a_new_cooloff_but_an_abandoned_one_probes_again_at_once() -> None:
    clock = Clock()
    failed = CircuitBreaker("a", failures=1, cooloff_s=10, clock=clock)
    abandoned = CircuitBreaker("b", failures=1, cooloff_s=10, clock=clock)
    for breaker in (failed, abandoned):
        breaker.allow()
        breaker.settle(False, "boom")
    clock.now += 10
    for breaker, verdict in ((failed, False), (abandoned, None)):
        assert breaker.allow()
        breaker.settle(verdict, "boom")
    assert not failed.allow()
    assert abandoned.allow()


def test_every_state_change_is_reported() -> None:
    clock = Clock()
    seen: list[tuple[str, BreakerState]] = []
    breaker = CircuitBreaker("crm", failures=1, cooloff_s=10, clock=clock)
    breaker.on_change = lambda name, state: seen.append((name, state))
    breaker.allow()
    breaker.settle(False, "boom")
    clock.now += 10
    breaker.allow()
    breaker.settle(True)
    assert [state for _, state in seen] == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]
    assert {name for name, _ in seen} == {"crm"}


# -- the breaker around real lookups --------------------------------------------------------


async def test_failures_open_the_breaker_and_the_connector_is_skipped_as_unavailable() -> None:
    rt, connector = runtime(Clock(), breaker_failures=3)
    connector.mode = "fail"
    for _ in range(3):
        attempt = await call_connector(rt, QUERY)
        assert attempt.outcome is Outcome.ERROR
        assert attempt.section.error == "back office says no"
    skipped = await call_connector(rt, QUERY)
    assert skipped.outcome is Outcome.SKIPPED
    assert skipped.section.status is Status.ERROR
    assert skipped.section.error == "unavailable"
    assert connector.calls == 3  # the skipped lookup never reached the back office


async def test_timeouts_at_the_hard_limit_count_as_failures() -> None:
    rt, connector = runtime(Clock(), breaker_failures=2, deadline_ms=10, late_ms=30)
    connector.mode = "hang"
    outcomes = [(await call_connector(rt, QUERY)).outcome for _ in range(3)]
    assert outcomes == [Outcome.TIMEOUT, Outcome.TIMEOUT, Outcome.SKIPPED]
    assert rt.guard.breaker.state is BreakerState.OPEN


async def test_not_found_is_an_answer_not_a_failure() -> None:
    rt, connector = runtime(Clock(), breaker_failures=1)
    connector.mode = "none"
    for _ in range(3):
        assert (await call_connector(rt, QUERY)).outcome is Outcome.NOT_FOUND
    assert rt.guard.breaker.state is BreakerState.CLOSED


async def test_probe_success_closes_and_probe_failure_reopens(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    rt, connector = runtime(clock, breaker_failures=2, breaker_cooloff_s=30)
    caplog.set_level(logging.INFO, logger="screenpop.connectors.guard")
    connector.mode = "fail"
    for _ in range(6):  # two to open it, four skipped
        await call_connector(rt, QUERY)
    assert connector.calls == 2

    clock.now += 30
    probe = await call_connector(rt, QUERY)  # still failing: open again
    assert probe.outcome is Outcome.ERROR
    assert (await call_connector(rt, QUERY)).outcome is Outcome.SKIPPED

    clock.now += 30
    connector.mode = "ok"
    recovered = await call_connector(rt, QUERY)
    assert recovered.outcome is Outcome.OK
    assert recovered.section.data == {"name": "Jane Doe"}
    assert rt.guard.breaker.state is BreakerState.CLOSED
    assert (await call_connector(rt, QUERY)).outcome is Outcome.OK

    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(messages) == 2, messages  # health on change only, not once per failure
    assert messages[0].startswith("connector crm went down: back office says no")
    assert messages[1] == "connector crm recovered"


async def test_a_probe_cancelled_midway_leaves_the_next_call_probing() -> None:
    clock = Clock()
    rt, connector = runtime(clock, breaker_failures=1)
    connector.mode = "fail"
    await call_connector(rt, QUERY)
    clock.now += 60
    connector.mode = "ok"
    connector.gate.clear()
    probe = asyncio.create_task(call_connector(rt, QUERY))
    await connector.until_running(1)
    assert rt.guard.breaker.state is BreakerState.HALF_OPEN
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    connector.gate.set()
    assert (await call_connector(rt, QUERY)).outcome is Outcome.OK
    assert rt.guard.breaker.state is BreakerState.CLOSED


# -- the concurrency limit ------------------------------------------------------------------


async def test_no_more_than_the_limit_run_at_once_and_waiters_get_the_freed_slot() -> None:
    rt, connector = runtime(max_concurrency=2, deadline_ms=30_000, late_ms=30_000)
    connector.gate.clear()
    tasks = [asyncio.create_task(call_connector(rt, QUERY)) for _ in range(5)]
    await connector.until_running(2)
    for _ in range(10):
        await asyncio.sleep(0)
    assert connector.running == 2
    assert rt.guard.limit.in_use == 2
    connector.gate.set()
    attempts = await asyncio.gather(*tasks)
    assert [a.outcome for a in attempts] == [Outcome.OK] * 5
    assert connector.calls == 5
    assert rt.guard.limit.in_use == 0


async def test_a_lookup_that_gets_no_slot_before_its_deadline_is_busy() -> None:
    rt, connector = runtime(max_concurrency=1, deadline_ms=20, late_ms=30_000, breaker_failures=1)
    connector.gate.clear()
    holder = asyncio.create_task(call_connector(rt, QUERY))
    await connector.until_running(1)
    waiter = await call_connector(rt, QUERY)
    assert waiter.outcome is Outcome.BUSY
    assert waiter.section.status is Status.ERROR
    assert waiter.section.error == "busy"
    assert connector.calls == 1
    assert rt.guard.breaker.state is BreakerState.CLOSED  # our own limit is not its failure
    connector.gate.set()
    assert (await holder).outcome is Outcome.OK


async def test_a_slot_is_given_back_when_its_holder_is_cancelled() -> None:
    limit = ConcurrencyLimit(1)
    entered = asyncio.Event()

    async def hold() -> None:
        async with limit.slot(1.0):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(hold())
    await entered.wait()
    with pytest.raises(ConnectorBusy):
        async with limit.slot(0.0):
            pass
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with limit.slot(0.0):
        assert limit.in_use == 1
    assert limit.in_use == 0
