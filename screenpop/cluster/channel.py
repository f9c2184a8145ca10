"""One pub/sub channel of the cluster on which each node tells the others its changes: the
board's (`board`: calls, presence, wrap-ups) and the callback items' (`callbacks`: the items
live in the shared store; a take, release, dial or close, or items the call log made, must
reach the agents whose tabs another node holds).

Publishing never holds anything up: changes wait in a bounded queue for one sender task, which
drops them (counted) while Redis is away. The listener applies every other node's changes, in
order, and subscribes again after a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from redis.exceptions import RedisError

from screenpop.cluster.redis import ClusterDown, ClusterRedis

QUEUE_LIMIT = 10_000
RETRY_S = 0.5

Apply = Callable[[Mapping[str, Any]], Awaitable[None]]


class ClusterChannel:
    """This node's end of the channel `name`; `apply` takes the other nodes' changes. Run
    :meth:`send` and :meth:`listen` as tasks."""

    def __init__(self, redis: ClusterRedis, name: str, node_id: str, apply: Apply) -> None:
        self.node_id = node_id
        self.dropped = 0  # changes not published (Redis away, or the queue full)
        self._redis = redis
        self._apply = apply
        self._channel = redis.key(name)
        self._outbox: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)

    def publish(self, change: dict[str, Any]) -> None:
        """Tell the other nodes `change` (JSON values); never waits."""
        try:
            self._outbox.put_nowait(json.dumps({**change, "node": self.node_id}))
        except asyncio.QueueFull:
            self.dropped += 1

    async def send(self) -> None:
        """Publish the queued changes in order until cancelled."""
        while True:
            change = await self._outbox.get()
            try:
                await self._redis.call(self._redis.client.publish, self._channel, change)
            except ClusterDown:
                self.dropped += 1

    async def listen(self) -> None:
        """Apply the other nodes' changes until cancelled, subscribing again after a failure."""
        while True:
            pubsub = self._redis.client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if item is not None and item.get("type") == "message":
                        change = json.loads(item["data"])
                        if change.get("node") != self.node_id:
                            await self._apply(change)
            except (RedisError, OSError) as exc:
                self._redis.failed(exc)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(RETRY_S)
