"""The card cache: connector sections by number, in process memory or in Redis.

Both backends keep the same contract (:class:`Cache`): an entry is FRESH for ``fresh_s`` after it
was set, then STALE for ``stale_s`` more (served at once while a background refresh runs, see
:class:`Revalidator`), then gone. Values are JSON objects; the freshness deadline travels inside
the stored JSON (wall-clock epoch seconds, so every node sharing a Redis agrees on it) and Redis
expires the key itself at ``fresh_s + stale_s``.

A cache never breaks a pop: on a dead or slow Redis (each call bounded by ``timeout_s``), reads
are misses and writes are dropped, every such failure is counted in ``errors``, and the backend
logs only when its health changes. Only :meth:`Cache.ping` raises, for ``/readyz``.

One slow moment is not an outage: a timed-out call is a miss for that call alone (counted), and
Redis is marked down (skipped for a cool-off, ``/readyz`` failing) only when it keeps failing, see
:class:`~screenpop.health.FailureStreak`: timeouts for at least ``OUTAGE_SPAN_S`` with no success
between them, or two refused or closed connections in a row, or any failure before it ever answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from screenpop.errors import ConfigError
from screenpop.health import FailureStreak, HealthLatch
from screenpop.keys import SECTION, choice_key
from screenpop.redis_client import describe, redis_client, safe_location

log = logging.getLogger(__name__)

# The key layout is in screenpop/keys.py; a cache only puts `[cache] key_prefix` in front.
MEMORY_MAX_ENTRIES = 100_000
REDIS_COOLOFF_S = 1.0  # once down, Redis is skipped (counted as a failure) this long between tries
OUTAGE_FAILURES = 3  # timeouts in a row, with no success between them...
OUTAGE_SPAN_S = 1.0  # ...over at least this long, before Redis counts as down


class CacheState(StrEnum):
    FRESH = "fresh"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class CacheHit:
    """A cached value and whether it is still fresh."""

    value: dict[str, Any]
    state: CacheState


class Cache(Protocol):
    """What the lookup needs from a cache. Only :meth:`ping` raises."""

    errors: int  # operations that failed (a dead Redis), for /metrics

    async def get_many(self, keys: Sequence[str]) -> list[CacheHit | None]:
        """One hit or None per key, in the order given, in one round trip."""
        ...

    async def get(self, key: str) -> CacheHit | None: ...

    async def set(self, key: str, value: dict[str, Any], fresh_s: float, stale_s: float) -> None:
        """Store `value`: FRESH for `fresh_s`, then STALE for `stale_s` more, then gone."""
        ...

    async def delete(self, key: str) -> None: ...

    async def drop_number(self, e164: str, *, dry_run: bool = False) -> int:
        """Delete every connector's cached section for `e164` (with any lookup key values, and
        the cached "not found" answers): how many were deleted (with `dry_run`, how many would
        be, nothing deleted)."""
        ...

    async def ping(self) -> None:
        """Raise (OSError or ScreenpopError) when the cache is unreachable."""
        ...

    async def aclose(self) -> None: ...


async def forget_cached(cache: Cache, e164: str, *, dry_run: bool = False) -> dict[str, int]:
    """Delete all `cache` holds about the caller `e164` (a caller's erasure): every connector's
    cached card and "not found" answer, and the customer an agent picked for the number; how
    many of each went, ``{"sections", "choice"}`` (with `dry_run`: how many there are)."""
    choice = await cache.get(choice_key(e164))
    sections = await cache.drop_number(e164, dry_run=dry_run)
    if choice is not None and not dry_run:
        await cache.delete(choice_key(e164))
    return {"sections": sections, "choice": 0 if choice is None else 1}


def open_cache(url: str, key_prefix: str, timeout_s: float) -> Cache:
    """The backend for `url`: ``memory://`` or ``redis://`` / ``rediss://`` / ``unix://``.

    Opens nothing on the network yet (Redis connects on first use). The caller must
    ``await cache.aclose()`` once when done.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryCache(key_prefix)
    if scheme in ("redis", "rediss", "unix"):
        return RedisCache(url, key_prefix, timeout_s)
    raise ConfigError(
        f"cache.url: unsupported scheme {scheme or '(none)'!r} (use memory:// or redis://)"
    )


# -- encoding ------------------------------------------------------------------------------------


def encode(value: dict[str, Any], fresh_until: float) -> str:
    """The stored form: the value with its freshness deadline. Non-JSON leaves become strings."""
    return json.dumps({"f": fresh_until, "v": value}, ensure_ascii=False, default=str)


def decode(raw: str | bytes | None, now: float) -> CacheHit | None:
    """A hit from the stored form; None for a missing or unreadable entry."""
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        fresh_until, value = float(doc["f"]), doc["v"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(value, dict):
        return None
    return CacheHit(value, CacheState.FRESH if now < fresh_until else CacheState.STALE)


def is_number_section(key: str, e164: str) -> bool:
    """Whether `key` (without the prefix) is a cached section for `e164` (see screenpop.keys)."""
    if not key.startswith(SECTION):
        return False
    _connector, sep, tail = key[len(SECTION) :].partition(":")
    return bool(sep) and (tail == e164 or tail.startswith(e164 + "|"))


def glob_escape(text: str) -> str:
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


# -- memory --------------------------------------------------------------------------------------


class MemoryCache:
    """An in-process cache, bounded to `max_entries` with least-recently-used eviction.

    Entries are stored JSON-encoded, exactly as in Redis, so a caller can never mutate a cached
    value and both backends round-trip the same types.
    """

    def __init__(self, key_prefix: str = "", max_entries: int = MEMORY_MAX_ENTRIES) -> None:
        self.errors = 0
        self._prefix = key_prefix
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()  # key: (expires, raw)

    def __len__(self) -> int:
        return len(self._entries)

    def _read(self, key: str, now: float) -> CacheHit | None:
        full = self._prefix + key
        entry = self._entries.get(full)
        if entry is None:
            return None
        expires, raw = entry
        if now >= expires:
            del self._entries[full]
            return None
        self._entries.move_to_end(full)
        return decode(raw, now)

    async def get_many(self, keys: Sequence[str]) -> list[CacheHit | None]:
        now = time.time()
        return [self._read(key, now) for key in keys]

    async def get(self, key: str) -> CacheHit | None:
        return self._read(key, time.time())

    async def set(self, key: str, value: dict[str, Any], fresh_s: float, stale_s: float) -> None:
        now = time.time()
        full = self._prefix + key
        self._entries[full] = (now + fresh_s + stale_s, encode(value, now + fresh_s))
        self._entries.move_to_end(full)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._entries.pop(self._prefix + key, None)

    async def drop_number(self, e164: str, *, dry_run: bool = False) -> int:
        size = len(self._prefix)
        doomed = [k for k in self._entries if is_number_section(k[size:], e164)]
        for full in [] if dry_run else doomed:
            del self._entries[full]
        return len(doomed)

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        self._entries.clear()


# -- redis ---------------------------------------------------------------------------------------


class RedisCache:
    """The Redis backend: one client and connection pool, opened here, closed by :meth:`aclose`."""

    def __init__(
        self, url: str, key_prefix: str, timeout_s: float, cooloff_s: float = REDIS_COOLOFF_S
    ) -> None:
        self.errors = 0
        self._prefix = key_prefix
        self._timeout = timeout_s
        self._cooloff = cooloff_s
        self._skip_until = 0.0
        self._health = HealthLatch(log)
        self._streak = FailureStreak(OUTAGE_FAILURES, OUTAGE_SPAN_S)
        self._reached = False  # whether Redis ever answered: before that, a failure is an outage
        self._where = safe_location(url)
        self._client = redis_client(url, timeout_s)

    async def get_many(self, keys: Sequence[str]) -> list[CacheHit | None]:
        if not keys:
            return []
        raws = await self._call(self._client.mget, [self._prefix + k for k in keys])
        if not isinstance(raws, list) or len(raws) != len(keys):
            return [None] * len(keys)
        now = time.time()
        return [decode(raw, now) for raw in raws]

    async def get(self, key: str) -> CacheHit | None:
        return (await self.get_many([key]))[0]

    async def set(self, key: str, value: dict[str, Any], fresh_s: float, stale_s: float) -> None:
        now = time.time()
        expire_ms = max(1, round((fresh_s + stale_s) * 1000))
        await self._call(
            self._client.set, self._prefix + key, encode(value, now + fresh_s), px=expire_ms
        )

    async def delete(self, key: str) -> None:
        await self._call(self._client.delete, self._prefix + key)

    async def drop_number(self, e164: str, *, dry_run: bool = False) -> int:
        pattern = f"{glob_escape(self._prefix)}{SECTION}*:{glob_escape(e164)}*"
        keys = await self._call(self._scan, pattern)
        size = len(self._prefix)
        doomed = [k for k in keys or [] if is_number_section(k[size:], e164)]
        if not doomed or dry_run:
            return len(doomed)
        return int(await self._call(self._client.delete, *doomed) or 0)

    async def _scan(self, pattern: str) -> list[str]:
        return [
            k.decode() if isinstance(k, bytes) else str(k)
            async for k in self._client.scan_iter(match=pattern, count=500)
        ]

    async def ping(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.ping()
        except (RedisError, OSError) as exc:
            if await self._failed(exc):
                raise ConnectionError(
                    f"cache at {self._where} unreachable: {describe(exc)}"
                ) from None
            return  # one slow moment: still up (the failure is counted)
        self._recovered()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
        """Run one command under the timeout; a failure is counted and becomes None."""
        if time.monotonic() < self._skip_until:
            self.errors += 1
            return None
        try:
            async with asyncio.timeout(self._timeout):
                result = await method(*args, **kw)
        except (RedisError, OSError) as exc:  # TimeoutError is an OSError
            await self._failed(exc)
            return None
        self._recovered()
        return result

    async def _drop_idle_connections(self) -> None:
        """Once per outage, when Redis is marked down, close the pooled connections nobody is
        using. When Redis went away they are all dead, and each would otherwise fail once more
        after it came back (the cache "down" again, and another cool-off without it)."""
        with contextlib.suppress(RedisError, OSError):
            await self._client.connection_pool.disconnect(inuse_connections=False)

    async def _failed(self, exc: BaseException) -> bool:
        """Count a failure; True if Redis is (now) down. Marking it down starts the cool-off and
        drops the idle connections, once per outage; while down, a failed try re-arms the
        cool-off only."""
        self.errors += 1
        now = time.monotonic()
        timed_out = isinstance(exc, (TimeoutError, RedisTimeoutError))
        outage = self._streak.failed(now, refused=not timed_out) or not self._reached
        if not outage and self._health.healthy:
            return False
        self._skip_until = now + self._cooloff
        if self._health.down(
            "cache at %s is down, serving without it: %s", self._where, describe(exc)
        ):
            await self._drop_idle_connections()
        return True

    def _recovered(self) -> None:
        self._reached = True
        self._streak.succeeded()
        self._skip_until = 0.0
        self._health.up("cache at %s recovered", self._where)


# -- stale-while-revalidate ----------------------------------------------------------------------

_DIGITS = re.compile(r"\d(?=\d{2})")


class Revalidator:
    """Background refreshes of stale entries, at most one at a time per key.

    Owns its tasks: keeps a reference to each, logs their failures, and cancels those still
    running in :meth:`aclose`, which the owner must await once on shutdown.
    """

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    def refresh(self, key: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Start ``factory()`` in the background unless `key` is already being refreshed."""
        if self._closed or key in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(
            self._run(factory), name=f"revalidate {_DIGITS.sub('*', key)}"
        )
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._done(key, done))

    @staticmethod
    async def _run(factory: Callable[[], Awaitable[None]]) -> None:
        await factory()

    def _done(self, key: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    @property
    def running(self) -> int:
        """How many refreshes are in flight."""
        return len(self._tasks)

    async def wait_idle(self) -> None:
        """Return once no refresh is running (for tests and orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel every refresh still running and wait for them to finish."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
