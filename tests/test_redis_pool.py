"""Many commands at once never fail for want of a connection (issue 11, found by the two-node
bench: a hundred tabs opening at once made the cluster's Redis client say "Too many connections",
redis-py's default pool limit, and the node numbered messages locally as if Redis were down)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screenpop.cache import RedisCache
from screenpop.cluster.redis import ClusterRedis
from screenpop.redis_client import POOL_SIZE
from tests.fakes.faults import PrivateRedis

AT_ONCE = POOL_SIZE * 3


async def test_the_cluster_client_queues_commands_beyond_its_pool(tmp_path: Path) -> None:
    async with PrivateRedis(tmp_path / "redis") as server:
        client = ClusterRedis(server.url, "pool:", timeout_s=5.0)
        try:
            # BLPOP with a short block holds a connection for a while, as a slow moment would
            key = client.key("none")
            calls = [client.call(client.client.blpop, [key], 0.05) for _ in range(AT_ONCE)]
            assert await asyncio.gather(*calls) == [None] * AT_ONCE
            assert client.up
        finally:
            await client.aclose()


async def test_the_cache_serves_many_lookups_at_once(tmp_path: Path) -> None:
    async with PrivateRedis(tmp_path / "redis") as server:
        cache = RedisCache(server.url, "pool:", 5.0)
        try:
            keys = [f"section:+1212555{i:04d}" for i in range(AT_ONCE)]
            assert await asyncio.gather(*(cache.get(k) for k in keys)) == [None] * AT_ONCE
            assert cache.errors == 0
        finally:
            await cache.aclose()
