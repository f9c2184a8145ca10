"""The memory of accepted webhook requests that refuses the same request twice (sans-I/O).

A webhook source asks :meth:`SeenRequests.first_time` once a request's signature is verified,
passing the key that identifies it (its signature, plus what the flavor adds), the time it may be
forgotten at and the current time. Keys are forgotten once their time has passed, so the memory
holds at most what was accepted within the window; ``limit`` caps it as well (the entries that
would be forgotten soonest go first), in case a sender floods it with validly signed requests.
"""

from __future__ import annotations

import heapq

MAX_REMEMBERED = 100_000  # about 30 requests/s for an hour; each entry is one key and a float


class SeenRequests:
    """Keys of accepted requests, each until its own expiry; no clock of its own (times given)."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self._limit = limit
        self._expiry: dict[str, float] = {}
        self._order: list[tuple[float, str]] = []  # a heap: soonest expiry first

    def __len__(self) -> int:
        return len(self._expiry)

    def first_time(self, key: str, forget_at: float, now: float) -> bool:
        """True (and `key` remembered until `forget_at`) unless `key` is remembered already.

        The caller must only pass keys of requests it has verified: whatever is remembered here
        refuses a later request with the same key until `forget_at` has passed.
        """
        self._forget_until(now)
        if key in self._expiry:
            return False
        self._expiry[key] = forget_at
        heapq.heappush(self._order, (forget_at, key))
        while len(self._expiry) > self._limit:
            self._drop_soonest()
        return True

    def _forget_until(self, now: float) -> None:
        while self._order and self._order[0][0] <= now:
            self._drop_soonest()

    def _drop_soonest(self) -> None:
        _, key = heapq.heappop(self._order)
        del self._expiry[key]
