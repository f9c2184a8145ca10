"""Which nodes are alive: each beats a key of its own that expires unless beaten again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from screenpop.cluster.redis import ClusterDown, ClusterRedis
from screenpop.keys import NODE, node_key


class Heartbeat:
    """This node's heartbeat (every third of `ttl_s`), and the list of live nodes."""

    def __init__(self, redis: ClusterRedis, node_id: str, ttl_s: float) -> None:
        self.node_id = node_id
        self._redis = redis
        self._ttl_ms = max(1, round(ttl_s * 1000))
        self._every_s = ttl_s / 3
        self._key = redis.key(node_key(node_id))
        self._started = time.time()

    async def run(self) -> None:
        """Beat until cancelled; a beat Redis missed is simply the next one."""
        body = json.dumps({"node": self.node_id, "started": self._started})
        while True:
            with contextlib.suppress(ClusterDown):
                await self._redis.call(self._redis.client.set, self._key, body, px=self._ttl_ms)
            await asyncio.sleep(self._every_s)

    async def stop(self) -> None:
        """A clean stop: this node is gone at once, not after its key expires."""
        with contextlib.suppress(ClusterDown):
            await self._redis.call(self._redis.client.delete, self._key)

    async def alive(self) -> list[str]:
        """The ids of the nodes whose heartbeat has not expired, sorted. ClusterDown if Redis
        does not answer."""
        pattern = self._redis.key(NODE) + "*"
        start = len(self._redis.key(NODE))
        found: list[str] = []
        cursor = 0
        while True:
            cursor, keys = await self._redis.call(
                self._redis.client.scan, cursor, match=pattern, count=500
            )
            found.extend(k.decode()[start:] for k in keys)
            if not cursor:
                return sorted(set(found))
