"""Asterisk manager events to PBX-neutral :class:`CallEvent` values, free of I/O.

A call is keyed by `Linkedid`: the `Uniqueid` of the oldest channel of the conversation (the
caller's), which every channel Asterisk creates for it (agent legs, FreePBX `Local/...;1|2`
halves) carries too. Ids are compared as strings, never parsed as numbers: with `unique_id`
set in asterisk.conf they carry a system name prefix (`pbx1-1795351021.53`).

Queued calls (app_queue):
  `QueueCallerJoin` -> QUEUED (the lookup starts before any agent rings); `AgentCalled` ->
  RINGING(`DestChannel`); `AgentRingNoAnswer` -> MISSED; `AgentConnect` -> ANSWERED (the tracker
  tells every other rung agent `answered_elsewhere`); `AgentComplete` -> ENDED unless its reason
  is `transfer`; `QueueCallerAbandon` -> ABANDONED; `QueueCallerLeave` before any answer (a queue
  timeout or exit key) -> MISSED for the agents still ringing. Ring-all losers only get `DialEnd`
  `DialStatus: CANCEL` and a `Hangup` "Answered elsewhere": CANCEL never means MISSED.
Direct calls (a `Dial()` to a device, no queue):
  `DialBegin` -> RINGING(`DestChannel`); `DialEnd` ANSWER -> ANSWERED; NOANSWER, BUSY,
  CONGESTION, CHANUNAVAIL -> MISSED.
Every call:
  `Hangup` of the caller's channel -> ENDED (the tracker makes it ABANDONED if nobody answered).
  `BlindTransfer` -> TRANSFERRED to the `Extension`, and to the device the transferee then dials;
  `AttendedTransfer` -> TRANSFERRED(`TransferTargetChannel`) on the transferee's call
  (`TransfereeLinkedid`: with a phone's own transfer the consultation call has a linkedid of its
  own). After an answer, dials inside the call (consultation legs) are not rings.
Calls we originate (click-to-dial) are announced with :meth:`AmiCallMapper.expect_originate`:
their first channel rings the agent (RINGING, outbound) and answers (ANSWERED).

Caller numbers are passed through raw (`<unknown>`, `anonymous` included: callerid normalizes
them); caller names lose their C escapes and `<unknown>`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from screenpop.events import CallEvent, EventKind
from screenpop.telephony.ami_protocol import Message, known, unescape_c

MAX_TRACKED = 4096  # calls remembered at once; the oldest are forgotten first
MISSED_STATUSES = frozenset({"NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL"})
STATE_RINGING = "5"
STATE_UP = "6"


@dataclass(slots=True)
class _Call:
    call_id: str
    caller: str | None = None
    caller_name: str | None = None
    caller_uid: str | None = None  # the caller's channel: its Hangup ends the call
    queue: str | None = None
    queued: bool = False
    outbound: bool = False
    answered: bool = False  # an agent (or the dialled party) picked up
    transfer_pending: bool = False  # blind-transferred: the next dial is the new agent
    ringing: dict[str, str] = field(default_factory=dict)  # agent leg uniqueid -> channel


@dataclass(frozen=True, slots=True)
class _Originate:
    number: str
    agent_id: str


def _caller_of(msg: Message, prefix: str = "") -> tuple[str | None, str | None]:
    number = msg.get(f"{prefix}CallerIDNum").strip() or None
    name = known(msg.get(f"{prefix}CallerIDName"))
    return number, unescape_c(name) if name else None


class AmiCallMapper:
    """Turns parsed AMI events into CallEvents. One per source; keeps per-call memory.

    Call :meth:`feed` with every event, in order; after a (re)connect, :meth:`resync_channels`
    with the `CoreShowChannel` items and :meth:`resync_queues` with the `QueueEntry` items.
    """

    def __init__(self, source: str, clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self._clock = clock
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._originates: dict[str, _Originate] = {}
        self._uid_to_call: dict[str, str] = {}  # caller channel uniqueid -> call id (resync)

    # -- entry points ---------------------------------------------------------------------------

    def feed(self, msg: Message) -> list[CallEvent]:
        """Map one event; returns the CallEvents it means, in order."""
        handler = _HANDLERS.get(msg.event)
        return handler(self, msg) if handler is not None else []

    def expect_originate(self, channel_id: str, number: str, agent_id: str) -> None:
        """An `Originate` with `ChannelId: channel_id` is on its way; pop it as outbound."""
        self._originates[channel_id] = _Originate(number, agent_id)

    def forget_originate(self, channel_id: str) -> None:
        self._originates.pop(channel_id, None)

    def active_calls(self) -> list[str]:
        return list(self._calls)

    # -- helpers --------------------------------------------------------------------------------

    def _event(self, call: _Call, kind: EventKind, endpoint: str | None = None) -> CallEvent:
        return CallEvent(
            source=self.source,
            call_id=call.call_id,
            kind=kind,
            caller=call.caller,
            caller_name=call.caller_name,
            endpoint=endpoint,
            queue=call.queue,
            outbound=call.outbound,
            at=self._clock(),
        )

    def _call(self, call_id: str, msg: Message | None = None, prefix: str = "") -> _Call | None:
        """The live call, created (and told its caller) from `msg` if new; None once closed."""
        if not call_id or call_id in self._closed:
            return None
        call = self._calls.get(call_id)
        if call is None:
            call = _Call(call_id)
            self._calls[call_id] = call
            while len(self._calls) > MAX_TRACKED:
                self._calls.popitem(last=False)
        if msg is not None and call.caller is None:
            call.caller, call.caller_name = _caller_of(msg, prefix)
        return call

    def _existing(self, msg: Message) -> _Call | None:
        return self._calls.get(msg.get("Linkedid"))

    def _close(self, call: _Call) -> None:
        self._calls.pop(call.call_id, None)
        self._closed[call.call_id] = None
        while len(self._closed) > MAX_TRACKED:
            self._closed.popitem(last=False)
        if call.caller_uid:
            self._uid_to_call.pop(call.caller_uid, None)

    def _set_caller_channel(self, call: _Call, uid: str) -> None:
        if uid and call.caller_uid is None:
            call.caller_uid = uid
            self._uid_to_call[uid] = call.call_id

    # -- channels -------------------------------------------------------------------------------

    def _on_newchannel(self, msg: Message) -> list[CallEvent]:
        uid, linkedid = msg.get("Uniqueid"), msg.get("Linkedid")
        if not uid or uid != linkedid:
            return []
        call = self._call(linkedid, msg)
        if call is None:
            return []
        self._set_caller_channel(call, uid)
        originate = self._originates.pop(uid, None)
        if originate is None:
            return []
        call.outbound = True
        call.caller, call.caller_name = originate.number, None
        call.ringing[uid] = msg.get("Channel")
        return [self._event(call, EventKind.RINGING, msg.get("Channel"))]

    def _on_newstate(self, msg: Message) -> list[CallEvent]:
        call = self._existing(msg)
        uid = msg.get("Uniqueid")
        if call is None or not call.outbound or uid != call.caller_uid or call.answered:
            return []
        if msg.get("ChannelState") != STATE_UP:
            return []
        call.answered = True
        call.ringing.clear()
        return [self._event(call, EventKind.ANSWERED, msg.get("Channel"))]

    def _on_hangup(self, msg: Message) -> list[CallEvent]:
        call = self._existing(msg)
        uid = msg.get("Uniqueid")
        if call is None:
            return []
        if uid != call.caller_uid and uid != call.call_id:
            call.ringing.pop(uid, None)
            return []
        self._close(call)
        return [self._event(call, EventKind.ENDED)]

    # -- dials ----------------------------------------------------------------------------------

    def _on_dial_begin(self, msg: Message) -> list[CallEvent]:
        dest, dest_uid = msg.get("DestChannel"), msg.get("DestUniqueid")
        if not dest:
            return []
        call = self._call(msg.get("Linkedid") or msg.get("DestLinkedid"), msg)
        if call is None or dest_uid in call.ringing:
            return []
        if call.transfer_pending:
            return [self._event(call, EventKind.TRANSFERRED, dest)]
        if call.answered:
            return []  # a consultation leg inside an answered call: AttendedTransfer says more
        if call.caller_uid is None and msg.get("Uniqueid") == call.call_id:
            self._set_caller_channel(call, msg.get("Uniqueid"))
        call.ringing[dest_uid] = dest
        return [self._event(call, EventKind.RINGING, dest)]

    def _on_dial_end(self, msg: Message) -> list[CallEvent]:
        call = self._existing(msg)
        if call is None:
            return []
        status, dest = msg.get("DialStatus").upper(), msg.get("DestChannel")
        if status == "ANSWER":
            was_answered, call.answered = call.answered, True
            call.transfer_pending = False
            if was_answered or call.queued:
                return []  # queued calls are answered by AgentConnect
            call.ringing.clear()
            return [self._event(call, EventKind.ANSWERED, dest)]
        if call.answered or status not in MISSED_STATUSES:
            return []  # CANCEL: the answer elsewhere or the caller's hangup says it better
        if call.ringing.pop(msg.get("DestUniqueid"), None) is None and call.queued:
            return []
        return [self._event(call, EventKind.MISSED, dest)]

    # -- queues ---------------------------------------------------------------------------------

    def _on_queue_join(self, msg: Message) -> list[CallEvent]:
        call = self._call(msg.get("Linkedid"), msg)
        if call is None:
            return []
        self._set_caller_channel(call, msg.get("Uniqueid"))
        call.queue, call.queued = msg.get("Queue") or call.queue, True
        call.answered = call.transfer_pending = False
        return [self._event(call, EventKind.QUEUED)]

    def _on_agent_called(self, msg: Message) -> list[CallEvent]:
        call = self._call(msg.get("Linkedid"), msg)
        if call is None:
            return []
        call.queue, call.queued = msg.get("Queue") or call.queue, True
        endpoint = msg.get("DestChannel") or msg.get("Interface")
        uid = msg.get("DestUniqueid") or endpoint
        if call.transfer_pending:
            return [self._event(call, EventKind.TRANSFERRED, endpoint)]
        if uid in call.ringing:
            return []
        call.ringing[uid] = endpoint
        return [self._event(call, EventKind.RINGING, endpoint)]

    def _on_ring_no_answer(self, msg: Message) -> list[CallEvent]:
        call = self._existing(msg)
        if call is None or call.answered:
            return []
        call.ringing.pop(msg.get("DestUniqueid"), None)
        return [self._event(call, EventKind.MISSED, msg.get("DestChannel") or msg.get("Interface"))]

    def _on_agent_connect(self, msg: Message) -> list[CallEvent]:
        call = self._call(msg.get("Linkedid"), msg)
        if call is None:
            return []
        call.answered, call.transfer_pending = True, False
        call.ringing.clear()
        endpoint = msg.get("DestChannel") or msg.get("Interface")
        return [self._event(call, EventKind.ANSWERED, endpoint)]

    def _on_agent_complete(self, msg: Message) -> list[CallEvent]:
        call = self._existing(msg)
        if call is None or msg.get("Reason").lower() == "transfer":
            return []
        self._close(call)
        return [self._event(call, EventKind.ENDED)]

    def _on_abandon(self, msg: Message) -> list[CallEvent]:
        call = self._existing(msg)
        if call is None:
            return []
        self._close(call)
        return [self._event(call, EventKind.ABANDONED)]

    def _on_queue_leave(self, msg: Message) -> list[CallEvent]:
        call = self._existing(msg)
        if call is None or call.answered:
            return []
        call.queued = False
        events = [self._event(call, EventKind.MISSED, ep) for ep in call.ringing.values()]
        call.ringing.clear()
        return events

    # -- transfers ------------------------------------------------------------------------------

    def _transfer_call(self, msg: Message, keys: Iterable[str]) -> _Call | None:
        for key in keys:
            call = self._calls.get(msg.get(key))
            if call is not None:
                return call
        return None

    def _on_blind_transfer(self, msg: Message) -> list[CallEvent]:
        if msg.get("Result").lower() != "success":
            return []
        call = self._transfer_call(msg, ("TransfereeLinkedid", "TransfererLinkedid"))
        if call is None:
            return []
        call.transfer_pending = True
        call.ringing.clear()
        extension = msg.get("Extension")
        return [self._event(call, EventKind.TRANSFERRED, extension)] if extension else []

    def _on_attended_transfer(self, msg: Message) -> list[CallEvent]:
        if msg.get("Result").lower() != "success":
            return []
        keys = ("TransfereeLinkedid", "OrigTransfererLinkedid", "SecondTransfererLinkedid")
        call = self._transfer_call(msg, keys)
        target = msg.get("TransferTargetChannel") or msg.get("SecondTransfererConnectedLineNum")
        if call is None or not known(target):
            return []
        call.answered, call.transfer_pending = True, False
        call.ringing.clear()
        return [self._event(call, EventKind.TRANSFERRED, target)]

    # -- resync after a reconnect ---------------------------------------------------------------

    def resync_channels(self, items: list[Message]) -> list[CallEvent]:
        """Re-learn calls from a `CoreShowChannels` list (events missed while disconnected).

        Calls we knew that have no channel left ended while we were away: ENDED. Agent legs
        still ringing ring again (RINGING); an agent leg up in a bridge answered (ANSWERED);
        agent legs we saw ringing that are gone stopped ringing (MISSED). The tracker drops the
        duplicates, so a call still ringing the same agent pops nobody twice.
        """
        by_call: dict[str, list[Message]] = {}
        for item in items:
            if item.get("Linkedid"):
                by_call.setdefault(item.get("Linkedid"), []).append(item)
        events: list[CallEvent] = []
        for call in list(self._calls.values()):
            if call.call_id not in by_call:
                self._close(call)
                events.append(self._event(call, EventKind.ENDED))
        for call_id, channels in by_call.items():
            events.extend(self._resync_call(call_id, channels))
        return events

    def _resync_call(self, call_id: str, channels: list[Message]) -> list[CallEvent]:
        root = next((c for c in channels if c.get("Uniqueid") == call_id), None)
        legs = [c for c in channels if c is not root and not c.get("Channel").endswith(";2")]
        if root is None and not legs:
            return []
        call = self._call(call_id, root) if root is not None else self._call(call_id)
        if call is None:
            return []
        if call.caller is None and legs:
            call.caller, call.caller_name = _caller_of(legs[0], "ConnectedLine")
        if root is not None:
            self._set_caller_channel(call, call_id)
        ringing = {c.get("Uniqueid"): c for c in legs if c.get("ChannelState") == STATE_RINGING}
        up = [c for c in legs if c.get("ChannelState") == STATE_UP and known(c.get("BridgeId"))]
        if call.answered:
            return []
        if up:
            call.answered = True
            call.ringing.clear()
            return [self._event(call, EventKind.ANSWERED, up[0].get("Channel"))]
        events = [
            self._event(call, EventKind.MISSED, endpoint)
            for uid, endpoint in call.ringing.items()
            if uid not in ringing
        ]
        call.ringing = {uid: c.get("Channel") for uid, c in ringing.items()}
        events += [self._event(call, EventKind.RINGING, ep) for ep in call.ringing.values()]
        return events

    def resync_queues(self, entries: list[Message]) -> list[CallEvent]:
        """Re-learn waiting callers from `QueueStatus` (`QueueEntry` items): QUEUED each.

        A `QueueEntry` names the caller's channel by `Uniqueid`, not by `Linkedid`; the call id
        comes from the channels already known (live events or :meth:`resync_channels`).
        """
        events: list[CallEvent] = []
        for entry in entries:
            uid = entry.get("Uniqueid")
            call = self._call(self._uid_to_call.get(uid, uid), entry)
            if call is None or call.answered:
                continue
            self._set_caller_channel(call, uid)
            call.queue, call.queued = entry.get("Queue") or call.queue, True
            events.append(self._event(call, EventKind.QUEUED))
        return events


_HANDLERS: dict[str, Callable[[AmiCallMapper, Message], list[CallEvent]]] = {
    "Newchannel": AmiCallMapper._on_newchannel,
    "Newstate": AmiCallMapper._on_newstate,
    "Hangup": AmiCallMapper._on_hangup,
    "DialBegin": AmiCallMapper._on_dial_begin,
    "DialEnd": AmiCallMapper._on_dial_end,
    "QueueCallerJoin": AmiCallMapper._on_queue_join,
    "AgentCalled": AmiCallMapper._on_agent_called,
    "AgentRingNoAnswer": AmiCallMapper._on_ring_no_answer,
    "AgentConnect": AmiCallMapper._on_agent_connect,
    "AgentComplete": AmiCallMapper._on_agent_complete,
    "QueueCallerAbandon": AmiCallMapper._on_abandon,
    "QueueCallerLeave": AmiCallMapper._on_queue_leave,
    "BlindTransfer": AmiCallMapper._on_blind_transfer,
    "AttendedTransfer": AmiCallMapper._on_attended_transfer,
}
