"""The cluster's one Redis client: keys prefixed, every command under a timeout, health logged on
change only.

A command that fails raises :class:`ClusterDown` (the callers decide how to carry on without
Redis: a lease holder keeps its link, the delivery log numbers locally). :attr:`up` and
:attr:`detail` say whether Redis is down, for `/readyz`: as for the cache, one slow moment is not
an outage (:class:`~screenpop.health.FailureStreak`): timeouts over at least ``OUTAGE_SPAN_S``
with no answer between them, two refused or closed connections in a row, or any failure before
Redis ever answered. The idle pooled connections are dropped once per outage, when it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from screenpop.health import FailureStreak, HealthLatch
from screenpop.redis_client import describe, redis_client, safe_location

log = logging.getLogger(__name__)

TIMEOUT_S = 1.0
OUTAGE_FAILURES = 3  # timeouts in a row, with no answer between them...
OUTAGE_SPAN_S = 1.0  # ...over at least this long, before Redis counts as down


class ClusterDown(Exception):
    """Redis did not answer; the message says why."""


class ClusterRedis:
    """One client and pool for the cluster parts; close with :meth:`aclose`."""

    def __init__(self, url: str, prefix: str, timeout_s: float = TIMEOUT_S) -> None:
        self.prefix = prefix
        self.where = safe_location(url)
        self.up = True
        self.detail = "not used yet"
        self._timeout = timeout_s
        self._health = HealthLatch(log)
        self._streak = FailureStreak(OUTAGE_FAILURES, OUTAGE_SPAN_S)
        self._reached = False  # whether Redis ever answered: before that, a failure is an outage
        self.client = redis_client(url, timeout_s)

    def key(self, name: str) -> str:
        return self.prefix + name

    def script(self, source: str) -> Callable[..., Awaitable[Any]]:
        """A Lua script, loaded on first use (and again after a Redis restart)."""
        return self.client.register_script(source)

    async def call(self, method: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
        """Run one command under the timeout; ClusterDown when Redis fails or is too slow."""
        try:
            async with asyncio.timeout(self._timeout):
                result = await method(*args, **kw)
        except (RedisError, OSError) as exc:  # TimeoutError is an OSError
            if self.failed(exc):
                await self.drop_idle()
            raise ClusterDown(f"Redis at {self.where}: {describe(exc)}") from None
        self.answered()
        return result

    def failed(self, exc: BaseException) -> bool:
        """Count one failed command; True when it starts an outage (Redis marked down now)."""
        timed_out = isinstance(exc, (TimeoutError, RedisTimeoutError))
        outage = self._streak.failed(time.monotonic(), refused=not timed_out) or not self._reached
        if not outage:
            return False
        self.up = False
        self.detail = f"Redis at {self.where} unreachable: {describe(exc)}"
        return self._health.down("cluster: %s; each node carries on with what it sees", self.detail)

    def answered(self) -> None:
        self._reached = True
        self._streak.succeeded()
        self.up = True
        self.detail = f"Redis at {self.where} answers"
        self._health.up("cluster: Redis at %s answers again", self.where)

    async def drop_idle(self) -> None:
        """Close the idle pooled connections: after an outage each would fail once more."""
        with contextlib.suppress(RedisError, OSError):
            await self.client.connection_pool.disconnect(inuse_connections=False)

    async def aclose(self) -> None:
        await self.client.aclose()
