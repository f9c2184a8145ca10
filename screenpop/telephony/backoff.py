"""Exponential reconnect backoff with jitter, shared by the connection-holding PBX sources."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays that double from `min_s` up to `max_s`, each shaved by up to a quarter at random.

    Call :meth:`next` before each retry and :meth:`reset` once a connection got all the way up,
    so a source that keeps failing waits longer and longer while one that recovered retries fast.
    """

    def __init__(
        self, min_s: float, max_s: float, rand: Callable[[float, float], float] = random.uniform
    ) -> None:
        if min_s <= 0 or max_s < min_s:
            raise ValueError("backoff needs 0 < min_s <= max_s")
        self.min_s, self.max_s = min_s, max_s
        self._rand = rand
        self._current = min_s

    def next(self) -> float:
        """The delay to wait now; the following one will be twice as long (up to `max_s`)."""
        delay = self._current * self._rand(0.75, 1.0)
        self._current = min(self._current * 2, self.max_s)
        return delay

    def reset(self) -> None:
        self._current = self.min_s
