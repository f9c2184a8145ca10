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
