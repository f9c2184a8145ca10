"""Failed-login throttling: :class:`LoginThrottle` (in memory, bounded, no I/O).

The rule, for a limit of N failures in a window of W seconds:

1. An address with N failures in the last W seconds is refused (429) whatever agent id it names,
   the right token included: otherwise the answer would tell a guesser when it has found it.
2. An agent id with N failures in the last W seconds (from all addresses together) is *under
   attack*. That does not lock the agent out: an address is refused for that agent only once it
   has itself failed :data:`TRIES_UNDER_ATTACK` times on it in the window. Someone hammering alice
   from address A therefore only slows A; alice logging in from address B, where she has not
   failed, gets in at once. A guesser spreading over many addresses gets a few tries per address.
3. Only failures count (a refused attempt is not checked, so it neither fails nor succeeds). A
   success from an address forgets that address's failures *on that agent*, not the address's
   total, so a guesser holding one valid token cannot reset its own address by logging in.

Bearer tokens name no agent id, so rule 1 alone applies to them. Keys are kept for at most W
seconds and at most `max_keys` of each kind (the least recently failed go first), so memory stays
bounded under a flood from many addresses.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

TRIES_UNDER_ATTACK = 3
MAX_KEYS = 10_000


class _Failures:
    """The latest failure times per key, at most `keep` per key and `max_keys` keys."""

    def __init__(self, max_keys: int) -> None:
        self._times: OrderedDict[object, deque[float]] = OrderedDict()
        self._max_keys = max_keys

    def add(self, key: object, now: float, keep: int) -> None:
        times = self._times.pop(key, None)
        if times is None or times.maxlen != keep:
            times = deque(times or (), maxlen=keep)
        times.append(now)
        self._times[key] = times
        while len(self._times) > self._max_keys:
            self._times.popitem(last=False)

    def forget(self, key: object) -> None:
        self._times.pop(key, None)

    def wait(self, key: object, limit: int, now: float, window_s: float) -> float:
        """Seconds until `key` has fewer than `limit` failures in the window; 0 when it has."""
        times = self._times.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - window_s:
            times.popleft()
        if not times:
            del self._times[key]
            return 0.0
        if len(times) < limit:
            return 0.0
        return times[-limit] + window_s - now

    def __len__(self) -> int:
        return len(self._times)


class LoginThrottle:
    """Counts failed logins per address, per agent id and per (agent id, address).

    Call :meth:`retry_after` before checking credentials and refuse with 429 when it is not None;
    then :meth:`failed` or :meth:`succeeded` with the outcome. Limits are passed on every call so
    that a config reload takes effect at once. `clock` is injectable for tests.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS):
        self._clock = clock
        self._by_address = _Failures(max_keys)
        self._by_agent = _Failures(max_keys)
        self._by_pair = _Failures(max_keys)

    def retry_after(
        self, address: str, agent_id: str | None, limit: int, window_s: float
    ) -> int | None:
        """Whole seconds the caller must wait before trying again, or None when it may try now."""
        now = self._clock()
        wait = self._by_address.wait(address, limit, now, window_s)
        if agent_id is not None and self._by_agent.wait(agent_id, limit, now, window_s) > 0:
            tries = min(TRIES_UNDER_ATTACK, limit)
            pair = self._by_pair.wait((agent_id, address), tries, now, window_s)
            wait = max(wait, pair)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, address: str, agent_id: str | None, limit: int) -> None:
        """Record a wrong token from `address` (for `agent_id`, when the attempt named one)."""
        now = self._clock()
        self._by_address.add(address, now, limit)
        if agent_id is not None:
            self._by_agent.add(agent_id, now, limit)
            self._by_pair.add((agent_id, address), now, min(TRIES_UNDER_ATTACK, limit))

    def succeeded(self, address: str, agent_id: str) -> None:
        """Forget the failures of `address` on `agent_id` (not the address's other failures)."""
        self._by_pair.forget((agent_id, address))

    def tracked(self) -> int:
        """How many keys are held (for tests of the bound)."""
        return len(self._by_address) + len(self._by_agent) + len(self._by_pair)
