"""One lookup per caller across the cluster: before a node asks a connector about a number it
claims ``lookup:<connector>:<e164>`` in Redis (``SET NX PX``, for the connector's deadline); a
node that finds the claim taken waits, at most that deadline, for the claimant's answer to land
in the shared card cache and uses it instead of asking again. When Redis does not answer, or the
claimant goes away without an answer, the node asks the connector itself: a pop never waits on
the cluster for longer than it would have waited on the connector.
"""

from __future__ import annotations

import asyncio
import contextlib

from screenpop.cache import Cache, CacheHit, CacheState
from screenpop.cluster.redis import ClusterDown, ClusterRedis
from screenpop.keys import lookup_key

POLL_S = 0.02  # how often a waiting node looks for the claimant's answer in the cache

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LookupClaims:
    """Claims on (connector, number) lookups, shared by every node."""

    def __init__(self, redis: ClusterRedis, node_id: str, cache: Cache) -> None:
        self.node_id = node_id
        self.waited = 0  # lookups answered by another node's claim
        self._redis = redis
        self._cache = cache
        self._release = redis.script(_RELEASE)

    async def claim(self, section_key: str, wait_s: float) -> CacheHit | None:
        """None: this node should ask the connector (it holds the claim, or the cluster cannot
        say); else the fresh answer another node's lookup cached meanwhile."""
        key = self._redis.key(lookup_key(section_key))
        ms = max(1, round(wait_s * 1000))
        client = self._redis.client
        try:
            if await self._redis.call(client.set, key, self.node_id, nx=True, px=ms):
                return None
        except ClusterDown:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while loop.time() < deadline:
            await asyncio.sleep(POLL_S)
            hit = await self._answered(section_key)
            if hit is not None:
                return hit
            try:
                if not await self._redis.call(client.exists, key):
                    # the claimant is done: it cached its answer just before letting go (read
                    # it once more, it may have landed since the read above), or it gave up
                    return await self._answered(section_key)
            except ClusterDown:
                return None
        return None

    async def _answered(self, section_key: str) -> CacheHit | None:
        hit = await self._cache.get(section_key)
        if hit is None or hit.state is not CacheState.FRESH:
            return None
        self.waited += 1
        return hit

    async def release(self, section_key: str) -> None:
        """The answer is cached (or there was none to cache): others need not wait any more."""
        with contextlib.suppress(ClusterDown):
            await self._redis.call(
                self._release, [self._redis.key(lookup_key(section_key))], [self.node_id]
            )
