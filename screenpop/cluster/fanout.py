"""Every node's tabs get their agent's messages, whichever node numbered them.

:class:`ClusterHub` is the hub whose tabs are fed from the cluster's `deliver` channel (through
:class:`Relay`), never straight from :meth:`Hub.publish`: an agent's messages, numbered on any
node, reach each node in the one order Redis numbered them. While the channel is away the log
hands this node's own messages to :meth:`ClusterHub.deliver` directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

from redis.exceptions import RedisError

from screenpop.cluster.delivery import RedisDeliveryLog
from screenpop.cluster.redis import ClusterDown, ClusterRedis
from screenpop.delivery.hub import Hub, Subscription
from screenpop.delivery.wire import Frame
from screenpop.keys import DELIVER_CHANNEL

log = logging.getLogger(__name__)

RETRY_S = 0.5  # after the channel failed, subscribe again this often


class ClusterHub(Hub):
    """A :class:`Hub` whose tabs this node holds are registered here, fed by :meth:`deliver`."""

    log: RedisDeliveryLog

    def __init__(self, log: RedisDeliveryLog, outbox_limit: int = 256) -> None:
        super().__init__(log, outbox_limit)
        self._limit = outbox_limit
        self._tabs: dict[str, set[Subscription]] = {}
        log.deliver = self.deliver

    def subscribe(self, agent_id: str, last_seq: int = 0) -> Subscription:
        sub = Subscription(agent_id, self._limit)
        sub.delivered = last_seq
        self._tabs.setdefault(agent_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.close("unsubscribed")
        subs = self._tabs.get(sub.agent_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._tabs[sub.agent_id]

    async def resume(self, sub: Subscription, last_seq: int) -> bool:
        if await super().resume(sub, last_seq):
            return True
        await self.log.forget_kinds(sub.agent_id)  # the calls are popped again: let them through
        return False

    def deliver(self, agent_id: str, frame: Frame, fresh_tabs: bool = True) -> None:
        """Hand a numbered frame to every tab of the agent on this node; an old frame filled in
        after an outage (not `fresh_tabs`) skips the tabs that have had nothing yet: what came
        before them reaches them by their `resume`, never twice."""
        for sub in list(self._tabs.get(agent_id, ())):
            if not fresh_tabs and sub.delivered == 0 and not sub.outbox:
                continue
            if not sub.push(frame):
                self.slow_closed += 1
                log.warning("agent %s: closing a tab that cannot keep up", agent_id)
                self.unsubscribe(sub)

    def watched(self, agent_id: str) -> bool:
        return agent_id in self._tabs

    def online(self) -> Iterator[str]:
        return iter(list(self._tabs))

    def tabs(self, agent_id: str) -> int:
        return len(self._tabs.get(agent_id, ()))

    @property
    def unsent(self) -> int:
        return sum(len(sub.outbox) for subs in self._tabs.values() for sub in subs)

    def close_all(self, reason: str = "shutting down") -> None:
        for subs in list(self._tabs.values()):
            for sub in list(subs):
                self.unsubscribe(sub)
                sub.close(reason)


class Relay:
    """Listens on the `deliver` channel and hands each message to this node's tabs, filling in
    from the agent's stream any seq it did not hear (the channel was away meanwhile)."""

    def __init__(self, redis: ClusterRedis, hub: ClusterHub) -> None:
        self._redis = redis
        self._hub = hub
        self._log = hub.log
        self._heard: dict[str, int] = {}  # the highest seq heard per agent

    async def run(self) -> None:
        """Listen until cancelled, subscribing again whenever the channel fails."""
        while True:
            try:
                await self._listen()
            except (RedisError, OSError) as exc:
                self._redis.failed(exc)
            except ClusterDown:
                pass
            finally:
                self._log.relayed = False
            await self._redis.drop_idle()
            await asyncio.sleep(RETRY_S)

    async def _listen(self) -> None:
        pubsub = self._redis.client.pubsub()
        try:
            await pubsub.subscribe(self._redis.key(DELIVER_CHANNEL))
            await self._log.raise_floors()
            self._log.relayed = True
            self._redis.answered()
            while True:
                item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if item is not None and item.get("type") == "message":
                    await self._take(item["data"])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _take(self, data: bytes) -> None:
        _node, agent, number, kind, body = data.split(b"\n", 4)
        agent_id, seq = agent.decode(), int(number)
        frame = Frame(seq, kind.decode(), body)
        self._log.observe(agent_id, seq)
        heard = self._heard.get(agent_id, 0)
        self._heard[agent_id] = max(heard, seq)
        if not self._hub.watched(agent_id) or seq <= heard:
            return
        if heard and seq > heard + 1:  # some went out while this node was not listening
            for missed in await self._log.since(agent_id, heard) or []:
                if missed.seq < seq:
                    self._hub.deliver(agent_id, missed, fresh_tabs=False)
        self._hub.deliver(agent_id, frame)
