"""The one way the daemon opens a Redis client (the card cache and the cluster each hold one).

Every command is bounded: connecting and each reply wait at most `timeout_s`, redis-py retries
nothing (the callers decide what a failure means), and the pool is bounded and blocking: past
:data:`POOL_SIZE` commands at once, the next waits for a free connection (within the caller's
timeout) instead of failing with "Too many connections", as redis-py's default pool does past
100 (a thousand tabs resuming at once reach that).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

POOL_SIZE = 128  # connections per client at most


def redis_client(url: str, timeout_s: float) -> aioredis.Redis:
    """A client on its own bounded pool; `await client.aclose()` closes both."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_SIZE,
        timeout=timeout_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )
    return aioredis.Redis.from_pool(pool)


def safe_location(url: str) -> str:
    """host:port/db (or a socket path) of a Redis URL, never its credentials."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    try:
        port = parts.port or 6379
    except ValueError:
        port = 0
    return f"{parts.hostname or 'localhost'}:{port}{parts.path or '/0'}"


def describe(exc: BaseException) -> str:
    """An exception as one line: its message, or its type when it has none."""
    return str(exc) or type(exc).__name__
