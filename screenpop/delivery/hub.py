"""Per-agent ordered delivery to every open tab of that agent.

Each agent has one stream of messages numbered by `seq` (1, 2, 3...). Every tab (subscription)
of the agent gets the same stream. A bounded buffer of recent messages lets a reconnecting tab
`resume` without gaps or duplicates. A tab whose outbox overflows is closed (it reconnects and
resumes) rather than slowing anybody else down: :meth:`Hub.publish` never awaits. Whoever holds
the tab's socket awaits :meth:`Subscription.wait_closed` beside its writer (which may be stuck
sending to a peer that stopped reading) and closes the socket at once when it returns.

Numbering and replay go through the injected :class:`~screenpop.delivery.log.DeliveryLog`, the
seam where a Redis-backed log goes when agents may land on any node. The tabs themselves are
always local to the node that holds their websocket.

A message is encoded once when it is published (or before, by whoever sends the same message to
many agents: :class:`~screenpop.delivery.wire.Encoded`); every tab of the agent and the replay
buffer get the same :class:`~screenpop.delivery.wire.Frame`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from screenpop.delivery.log import DeliveryLog
from screenpop.delivery.outbound import ServerMessage
from screenpop.delivery.wire import Encoded, Frame, Message

log = logging.getLogger(__name__)

TOO_SLOW = "too slow: outbox full"

__all__ = ["Encoded", "Frame", "Hub", "Message", "Subscription"]


@dataclass(eq=False)
class Subscription:
    """One open tab. Its writer task awaits :meth:`next` and sends what it gets."""

    agent_id: str
    limit: int
    outbox: deque[Frame] = field(default_factory=deque)
    delivered: int = 0  # highest seq handed to the writer
    sent_any: bool = False  # whether the writer has had a frame yet
    held: bool = False  # frames wait in the outbox until the tab says where it stands
    closed: bool = False
    close_reason: str = ""
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def too_slow(self) -> bool:
        """True when the hub closed it because its outbox overflowed."""
        return self.closed and self.close_reason == TOO_SLOW

    def push(self, frame: Frame) -> bool:
        """Queue a frame; False (and the subscription closes) when the outbox is full."""
        if self.closed:
            return False
        if len(self.outbox) >= self.limit:
            self.close(TOO_SLOW)
            return False
        self.outbox.append(frame)
        self._wake.set()
        return True

    def requeue(self, replayed: list[Frame]) -> None:
        """Put replayed frames in front, dropping anything already delivered or duplicated."""
        merged: dict[int, Frame] = {f.seq: f for f in replayed if f.seq > self.delivered}
        for f in self.outbox:
            merged.setdefault(f.seq, f)
        self.outbox = deque(merged[s] for s in sorted(merged))
        self._wake.set()

    def hold(self) -> None:
        """Keep frames back until :meth:`release`: a new tab first says what it has already
        seen (its ``resume``), so its stream goes out in seq order from there, never a newer
        frame before the ones it missed."""
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self._wake.set()

    def close(self, reason: str) -> None:
        if not self.closed:
            self.closed, self.close_reason = True, reason
            self._wake.set()
            self._ended.set()

    async def wait_closed(self) -> None:
        """Return once the subscription is closed (by the hub, or by :meth:`close`)."""
        await self._ended.wait()

    def take(self) -> Frame | None:
        """The next frame in seq order if one is there to send now, else None (no waiting)."""
        while self.outbox and not self.closed and not self.held:
            frame = self.outbox.popleft()
            if frame.seq > self.delivered:
                self.delivered, self.sent_any = frame.seq, True
                return frame
        return None

    async def next(self) -> Frame | None:
        """The next frame in seq order, or None once the subscription is closed."""
        while True:
            frame = self.take()
            if frame is not None:
                return frame
            if self.closed:
                return None
            self._wake.clear()
            await self._wake.wait()


class Hub:
    """Routes numbered messages to every subscription of an agent."""

    def __init__(self, log: DeliveryLog, outbox_limit: int = 256) -> None:
        self.log = log
        self._outbox_limit = outbox_limit
        self._subs: dict[str, set[Subscription]] = {}
        self._sent_at: dict[tuple[str, int], float] = {}
        self.slow_closed = 0

    def subscribe(self, agent_id: str, last_seq: int = 0) -> Subscription:
        """Open a tab's subscription: it gets every message published from now on (and, after
        :meth:`resume`, the ones it missed after `last_seq`)."""
        sub = Subscription(agent_id, self._outbox_limit)
        sub.delivered = last_seq
        self._subs.setdefault(agent_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.close("unsubscribed")
        subs = self._subs.get(sub.agent_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.agent_id]

    async def resume(self, sub: Subscription, last_seq: int) -> bool:
        """Replay what the tab missed after `last_seq`; False when the buffer no longer has it."""
        missed = await self.log.since(sub.agent_id, last_seq)
        # a tab that has had nothing yet goes on from exactly what it has seen
        sub.delivered = min(sub.delivered, last_seq) if sub.sent_any else last_seq
        if missed is not None:
            sub.requeue(missed)
        sub.release()
        return missed is not None

    async def publish(self, agent_id: str, message: ServerMessage | Message | Encoded) -> Frame:
        """Number and deliver `message` to every tab of `agent_id`; returns the numbered frame.
        It waits only for the log (never for a tab): the agent's messages are numbered in the
        order this is called. A message not yet :class:`Encoded` is encoded here, once."""
        encoded = message if isinstance(message, Encoded) else Encoded.of(message)
        frame = await self.log.append(agent_id, encoded)
        if frame.type == "pop":
            self._sent_at[(agent_id, frame.seq)] = time.monotonic()
            if len(self._sent_at) > 10_000:
                self._sent_at.pop(next(iter(self._sent_at)))
        for sub in list(self._subs.get(agent_id, ())):
            if not sub.push(frame):
                self.slow_closed += 1
                log.warning("agent %s: closing a tab that cannot keep up", agent_id)
                self.unsubscribe(sub)
        return frame

    def ack(self, agent_id: str, seq: int) -> float | None:
        """Seconds from publishing pop `seq` to the tab saying it rendered it (first ack only)."""
        sent = self._sent_at.pop((agent_id, seq), None)
        return None if sent is None else time.monotonic() - sent

    def online(self) -> Iterator[str]:
        """Ids of agents with at least one open tab."""
        return iter(list(self._subs))

    def tabs(self, agent_id: str) -> int:
        return len(self._subs.get(agent_id, ()))

    @property
    def unsent(self) -> int:
        """Frames waiting in the tabs' outboxes for their writers."""
        return sum(len(sub.outbox) for subs in self._subs.values() for sub in subs)

    def close_all(self, reason: str = "shutting down") -> None:
        for subs in list(self._subs.values()):
            for sub in list(subs):
                self.unsubscribe(sub)
                sub.close(reason)
