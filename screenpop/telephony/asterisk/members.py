"""Asterisk queue members' pauses to PBX-neutral :class:`AgentStatusEvent` values, free of I/O.

app_queue pauses a member per queue. It says so in:
  `QueueMemberPause` (Asterisk 12+; `QueueMemberPaused` in 11) when a member is paused or
  unpaused (`Paused: 1|0`, `PausedReason`, or `Reason` in 11 and 16);
  `QueueMemberStatus` and `QueueMemberAdded` (`Paused`, `PausedReason` since 13) on every
  device state change and when a member joins a queue;
  `QueueMember` items of a `QueueStatus` list (the resync after a reconnect).
The member is named by `Interface` (12+) or `Location` (11), its device by `StateInterface`.

:class:`AmiMemberMapper` remembers each member's pause per queue and reports the member paused
when it is paused in every queue it is known in (an `Action: QueuePause` without `Queue` pauses
it in all of them, one event per queue), and available as soon as one queue offers it calls
again. It emits only when that changes (or the reason does), so the frequent status events
cost nothing downstream; a member first seen available says nothing (every agent is available
until a pause is heard of).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from screenpop.events import AgentStatusEvent
from screenpop.telephony.asterisk.protocol import Message

MEMBER_EVENTS = frozenset(
    {
        "QueueMemberPause",
        "QueueMemberPaused",
        "QueueMemberStatus",
        "QueueMemberAdded",
        "QueueMember",
    }
)
REMOVED = "QueueMemberRemoved"
_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(slots=True)
class _Member:
    queues: dict[str, tuple[bool, str]] = field(default_factory=dict)  # queue -> paused, reason
    state_interface: str | None = None
    reported: tuple[bool, str] = (False, "")  # as last emitted (a member is first available)

    def now(self) -> tuple[bool, str]:
        """(paused, reason) over every queue: paused only when paused in all of them."""
        paused = bool(self.queues) and all(p for p, _ in self.queues.values())
        reasons = [r for p, r in self.queues.values() if p and r]
        return paused, (reasons[0] if paused and reasons else "")


class AmiMemberMapper:
    """Feed it every AMI event (and the resync's `QueueMember` items); one per source."""

    def __init__(self, source: str, clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self._clock = clock
        self._members: dict[str, _Member] = {}

    def feed(self, msg: Message) -> list[AgentStatusEvent]:
        """The status change one event means: none, or one event for its member."""
        name = msg.event
        if name not in MEMBER_EVENTS and name != REMOVED:
            return []
        interface = msg.get("Interface") or msg.get("Location")
        if not interface:
            return []
        member = self._members.setdefault(interface, _Member())
        member.state_interface = msg.get("StateInterface") or member.state_interface
        queue = msg.get("Queue")
        if name == REMOVED:
            member.queues.pop(queue, None)
            if not member.queues:  # in no queue any more: paused nowhere
                return self._gone(interface)
        else:
            paused = msg.get("Paused").strip().lower() in _TRUE
            reason = (msg.get("PausedReason") or msg.get("Reason")).strip()
            member.queues[queue] = (paused, reason if paused else "")
        return self._changed(interface, member)

    def resync(self, items: list[Message]) -> list[AgentStatusEvent]:
        """After a reconnect: what a `QueueStatus` list's `QueueMember` items say now. Members
        it no longer lists left every queue while we were away: paused nowhere."""
        members = [i for i in items if i.event == "QueueMember"]
        listed = {i.get("Interface") or i.get("Location") for i in members}
        out: list[AgentStatusEvent] = []
        for gone in sorted(set(self._members) - listed):
            out += self._gone(gone)
        for member in self._members.values():
            member.queues.clear()
        for item in members:
            out += self.feed(item)
        return out

    def _gone(self, interface: str) -> list[AgentStatusEvent]:
        member = self._members.pop(interface)
        member.queues.clear()
        return self._changed(interface, member)

    def _changed(self, interface: str, member: _Member) -> list[AgentStatusEvent]:
        state = member.now()
        if state == member.reported:
            return []
        member.reported = state
        paused, reason = state
        event = AgentStatusEvent(
            self.source,
            interface,
            paused,
            reason,
            state_endpoint=member.state_interface,
            at=self._clock(),
        )
        return [event]
