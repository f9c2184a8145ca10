"""The supervisor board the same on every node: each node applies its own call changes, agent
presence and wrap-ups to its board and publishes them on the `board` channel; every other node
applies them to its own board too. So any node's supervisors see the calls any node's links and
webhooks saw, and the board outlives any one node (each holds all of it).

Publishing never holds up the pipeline (:class:`~screenpop.cluster.channel.ClusterChannel`:
changes wait in a bounded queue for one sender task, which drops them, counted, while Redis is
away). A node started later has today's figures from
the shared call log, and the calls and agents that change from then on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from screenpop.board.alarms import Thresholds
from screenpop.board.state import BoardState
from screenpop.calls import Call
from screenpop.cluster.channel import ClusterChannel
from screenpop.cluster.redis import ClusterRedis
from screenpop.events import CallState
from screenpop.keys import BOARD_CHANNEL

log = logging.getLogger(__name__)


def call_json(call: Call) -> dict[str, Any]:
    out = dataclasses.asdict(call)
    out["state"] = call.state.value
    out["ringing"] = sorted(call.ringing)
    return out


def call_from(data: Mapping[str, Any]) -> Call:
    values = dict(data)
    values["state"] = CallState(values["state"])
    values["ringing"] = set(values.get("ringing", ()))
    return Call(**values)


class SharedBoardState:
    """A :class:`BoardState` whose changes every node applies; reads are this node's board."""

    def __init__(self, local: BoardState, redis: ClusterRedis, node_id: str) -> None:
        self.local = local
        self.node_id = node_id
        self.changed: Callable[[], None] = lambda: None  # the board feed: a remote change came
        self.channel = ClusterChannel(redis, BOARD_CHANNEL, node_id, self._apply)
        self._publish = self.channel.publish

    # -- changes: applied here, then published ---------------------------------------------------
    async def on_call(self, call: Call, now: float) -> None:
        await self.local.on_call(call, now)
        self._publish({"kind": "call", "call": call_json(call), "now": now})

    async def presence(self, agent_id: str, online: bool, now: float) -> None:
        await self.local.presence(agent_id, online, now)
        self._publish({"kind": "presence", "agent": agent_id, "online": online, "now": now})

    async def ready(self, agent_id: str, now: float) -> None:
        await self.local.ready(agent_id, now)
        self._publish({"kind": "ready", "agent": agent_id, "now": now})

    async def pause(self, agent_id: str, reason: str | None, now: float) -> None:
        await self.local.pause(agent_id, reason, now)
        self._publish({"kind": "pause", "agent": agent_id, "reason": reason, "now": now})

    # -- this node's own --------------------------------------------------------------------------
    async def configure(
        self,
        service_level_s: float,
        wrap_up_s: float,
        agents: Iterable[tuple[str, str]],
        *,
        max_call_age_s: float | None = None,
        thresholds: Mapping[str, Thresholds] | None = None,
        zone: str | None = None,
    ) -> None:
        await self.local.configure(
            service_level_s,
            wrap_up_s,
            agents,
            max_call_age_s=max_call_age_s,
            thresholds=thresholds,
            zone=zone,
        )

    async def expire(self, now: float) -> list[str]:
        return await self.local.expire(now)

    async def rebuild(self, calls: Iterable[Mapping[str, Any]], now: float | None = None) -> None:
        await self.local.rebuild(calls, now)

    async def shows_call(self, call_id: str) -> bool:
        return await self.local.shows_call(call_id)

    async def snapshot(self, now: float, role: str | None) -> dict[str, Any]:
        return await self.local.snapshot(now, role)

    # -- the channel ------------------------------------------------------------------------------
    @property
    def dropped(self) -> int:
        """Changes not published (Redis away, or the queue full)."""
        return self.channel.dropped

    async def send(self) -> None:
        """Publish the queued changes in order until cancelled."""
        await self.channel.send()

    async def listen(self) -> None:
        """Apply the other nodes' changes until cancelled."""
        await self.channel.listen()

    async def _apply(self, change: Mapping[str, Any]) -> None:
        kind, now = change.get("kind"), float(change["now"])
        if kind == "call":
            await self.local.on_call(call_from(change["call"]), now)
        elif kind == "presence":
            await self.local.presence(str(change["agent"]), bool(change["online"]), now)
        elif kind == "ready":
            await self.local.ready(str(change["agent"]), now)
        elif kind == "pause":
            reason = change.get("reason")
            await self.local.pause(
                str(change["agent"]), None if reason is None else str(reason), now
            )
        self.changed()
