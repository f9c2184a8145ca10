"""Guard rails around one connector: a circuit breaker and a concurrency limit.

A connector that keeps failing must not cost every pop its full deadline, and a burst of calls
must not open more queries against a back office than it was sized for. Both pieces are
in-process state owned by the connector's :class:`ConnectorGuard`; a breaker shared through Redis
can replace :class:`CircuitBreaker` later without touching its callers (`allow`, `settle`).

Breaker: after ``failures`` consecutive failures (an error or the hard time limit) it opens and
the connector is skipped for ``cooloff_s``; the first lookup after the cool-off is let through as
the one probe (half-open) while others are still skipped; the probe's success closes the breaker,
its failure opens it again for another cool-off. Health is logged when it changes, not on every
failure: "connector X went down: ..." and "connector X recovered".

Concurrency limit: at most ``max_concurrency`` lookups run at once. A lookup waits for a slot, and
that wait counts against its deadline: a lookup that gets no slot before its deadline is given up
with :class:`ConnectorBusy` (the section says ``error: busy``). Busy is our own limit, not the
connector's failure, so it never trips the breaker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from enum import IntEnum

from screenpop.errors import ConnectorError
from screenpop.health import HealthLatch

log = logging.getLogger(__name__)

UNAVAILABLE = "unavailable"  # the section's error text while the breaker skips the connector
BUSY = "busy"  # the section's error text when no slot freed up before the deadline


class ConnectorBusy(ConnectorError):
    """Every slot of the connector's concurrency limit stayed taken until the deadline."""

    def __init__(self) -> None:
        super().__init__(BUSY)


class BreakerState(IntEnum):
    """The breaker's state; the value is what the `/metrics` gauge shows."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class CircuitBreaker:
    """Counts consecutive failures of one connector and decides whether to call it at all.

    Callers do ``if breaker.allow(): ...call... ; breaker.settle(ok)`` and must settle every
    allowed call exactly once: ``True`` for an answer (found or not), ``False`` for a failure,
    ``None`` when the call ended without a verdict (cancelled, or no slot was free).
    """

    def __init__(
        self,
        name: str,
        failures: int,
        cooloff_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failures = max(1, failures)
        self.cooloff_s = cooloff_s
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._health = HealthLatch(log)
        self._consecutive = 0
        self._opened_at = 0.0
        self.on_change: Callable[[str, BreakerState], None] | None = None

    @property
    def state(self) -> BreakerState:
        return self._state

    def allow(self) -> bool:
        """Whether to call the connector now; the first call after a cool-off is the probe."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.HALF_OPEN:
            return False  # the probe is in flight; everyone else is still skipped
        if self._clock() - self._opened_at < self.cooloff_s:
            return False
        self._move(BreakerState.HALF_OPEN)
        log.debug("connector %s: cool-off over, probing", self.name)
        return True

    def settle(self, ok: bool | None, reason: str = "") -> None:
        """Record how an allowed call ended (see the class docstring)."""
        if ok is None:
            self._abandon()
        elif ok:
            self._succeeded()
        else:
            self._failed(reason)

    def _succeeded(self) -> None:
        self._consecutive = 0
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)
            self._health.up("connector %s recovered", self.name)

    def _failed(self, reason: str) -> None:
        self._consecutive += 1
        if self._state is BreakerState.HALF_OPEN:
            self._open()
            log.debug("connector %s: probe failed (%s), still down", self.name, reason)
        elif self._state is BreakerState.CLOSED and self._consecutive >= self.failures:
            self._open()
            self._health.down(
                "connector %s went down: %s (%d failures in a row; skipped for %gs)",
                self.name,
                reason or "failure",
                self._consecutive,
                self.cooloff_s,
            )

    def _abandon(self) -> None:
        if self._state is BreakerState.HALF_OPEN:
            # The probe never got a verdict: open again, with the next call probing at once.
            self._state = BreakerState.OPEN
            self._opened_at = self._clock() - self.cooloff_s
            self._notify()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._move(BreakerState.OPEN)

    def _move(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            self._notify()

    def _notify(self) -> None:
        if self.on_change is not None:
            self.on_change(self.name, self._state)


class ConcurrencyLimit:
    """At most `limit` lookups at once; the wait for a slot is bounded by the caller."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._slots = asyncio.Semaphore(self.limit)
        self._busy = 0

    @property
    def in_use(self) -> int:
        return self._busy

    @asynccontextmanager
    async def slot(self, wait_s: float) -> AsyncIterator[None]:
        """Hold one slot for the body; raise :class:`ConnectorBusy` if none frees in `wait_s`."""
        try:
            async with asyncio.timeout(max(0.0, wait_s)):
                await self._slots.acquire()
        except TimeoutError:
            raise ConnectorBusy() from None
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1
            self._slots.release()


class ConnectorGuard:
    """The guard rails of one connector: its breaker and its concurrency limit."""

    def __init__(
        self,
        name: str,
        *,
        max_concurrency: int = 8,
        breaker_failures: int = 5,
        breaker_cooloff_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.breaker = CircuitBreaker(name, breaker_failures, breaker_cooloff_s, clock)
        self.limit = ConcurrencyLimit(max_concurrency)
