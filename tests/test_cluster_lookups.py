"""One lookup per caller across nodes: a node that finds another's claim uses its answer, even
when that answer lands in the very moment between the waiter's looks (real Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from screenpop.cache import CacheHit, MemoryCache
from screenpop.cluster.lookups import LookupClaims
from screenpop.cluster.redis import ClusterRedis

KEY = "section:crm:+12125550100"


class RacingCache(MemoryCache):
    """Misses once, and while it says so the claimant caches its answer and lets go."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: Callable[[], Awaitable[None]] | None = None

    async def get(self, key: str) -> CacheHit | None:
        hit = await super().get(key)
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            await meanwhile()
        return hit


Nodes = tuple[RacingCache, LookupClaims, LookupClaims]


@pytest.fixture
async def nodes(redis_url: str, redis_cleanup: str) -> AsyncIterator[Nodes]:
    """Node A's and node B's claims on one Redis, over one card cache."""
    cache = RacingCache()
    redis = ClusterRedis(redis_url, redis_cleanup)
    try:
        yield cache, LookupClaims(redis, "node-a", cache), LookupClaims(redis, "node-b", cache)
    finally:
        await redis.client.aclose()


async def test_the_claimants_answer_is_used_though_it_landed_between_two_looks(
    nodes: Nodes,
) -> None:
    cache, a, b = nodes
    assert await a.claim(KEY, 2.0) is None  # node A asks the connector

    async def answered() -> None:
        await cache.set(KEY, {"status": "ok", "data": {"name": "Ada"}}, 60, 0)
        await a.release(KEY)

    cache.meanwhile = answered
    hit = await b.claim(KEY, 2.0)
    assert hit is not None and hit.value["data"] == {"name": "Ada"}
    assert b.waited == 1


async def test_a_claimant_that_lets_go_without_an_answer_sends_the_waiter_to_the_connector(
    nodes: Nodes,
) -> None:
    _cache, a, b = nodes
    assert await a.claim(KEY, 2.0) is None
    waiting = asyncio.create_task(b.claim(KEY, 2.0))
    await asyncio.sleep(0.1)
    assert not waiting.done()  # B waits for A's answer
    await a.release(KEY)  # A's connector failed: nothing cached
    assert await asyncio.wait_for(waiting, 1.0) is None  # B asks the connector itself
    assert b.waited == 0
