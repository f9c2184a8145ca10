"""One health latch: a component's health is logged when it changes, never on every failure.

Every failure is still counted (in `/metrics`); the log gets one line when something goes down
and one when it comes back, so an ops engineer reading it at 3 a.m. sees the story, not a flood.
"""

from __future__ import annotations

import logging


class HealthLatch:
    """Up or down, with a log line on each change. Starts up unless told otherwise."""

    def __init__(self, log: logging.Logger, *, healthy: bool = True) -> None:
        self._log = log
        self.healthy = healthy

    def down(self, message: str, *args: object) -> bool:
        """Mark it down; logs `message` % `args` as a warning only if it was up. True if so."""
        if not self.healthy:
            return False
        self.healthy = False
        self._log.warning(message, *args)
        return True

    def up(self, message: str, *args: object) -> bool:
        """Mark it up; logs `message` % `args` only if it was down. True if so."""
        if self.healthy:
            return False
        self.healthy = True
        self._log.info(message, *args)
        return True


class FailureStreak:
    """When failures amount to an outage: one slow moment is not one.

    Failures with no success between them form a streak. The streak is an outage once it holds
    `min_failures` failures AND has lasted `min_span_s` from its first failure to its last (a stall
    that times out a burst of calls at once is many failures in one moment, not an outage; a dead
    server keeps failing for longer), or once it holds `min_refusals` failures that are conclusive
    on their own (a refused or closed connection, not a timeout). Any success ends the streak.
    """

    def __init__(self, min_failures: int, min_span_s: float, min_refusals: int = 2) -> None:
        self.min_failures = max(1, min_failures)
        self.min_span_s = max(0.0, min_span_s)
        self.min_refusals = max(1, min_refusals)
        self.failures = 0  # in the current streak
        self.refusals = 0
        self._first = 0.0

    def failed(self, now: float, *, refused: bool = False) -> bool:
        """Count one failure at `now` (a monotonic clock); True if the streak is now an outage."""
        if self.failures == 0:
            self._first = now
        self.failures += 1
        self.refusals += refused
        if self.refusals >= self.min_refusals:
            return True
        return self.failures >= self.min_failures and now - self._first >= self.min_span_s

    def succeeded(self) -> None:
        """A success: the streak is over."""
        self.failures = self.refusals = 0
