"""Asterisk manager events to PBX-neutral :class:`CallEvent` values, free of I/O.

A call is keyed by `Linkedid`: the `Uniqueid` of the oldest channel of the conversation (the
caller's), which every channel Asterisk creates for it (agent legs, FreePBX `Local/...;1|2`
halves) carries too. Ids are compared as strings, never parsed as numbers: with `unique_id`
set in asterisk.conf they carry a system name prefix (`pbx1-1795351021.53`).

A device is reported RINGING only on evidence that it rings, never on the dial alone (a phone on
DND, busy or forwarding gets a `DialBegin` and then `BUSY`/`CANCEL` while still `Down`): a
`Newstate` with `ChannelState: 5` (Ringing) for the dialled channel, a `DialState` with
`DialStatus: RINGING` or `PROGRESS`, or a dial whose `DestChannelState` is already 5. An answer
without any of these is reported as ANSWERED (the tracker pops the agent then).

Queued calls (app_queue):
  `QueueCallerJoin` -> QUEUED (the lookup starts before any agent rings); `AgentCalled` + ring
  evidence -> RINGING(`DestChannel`); `AgentRingNoAnswer` -> MISSED; `AgentConnect` -> ANSWERED
  (the tracker tells every other rung agent `answered_elsewhere`); `AgentComplete` -> ENDED
  unless its reason is `transfer`; `QueueCallerAbandon` -> ABANDONED; `QueueCallerLeave` before
  any answer (a queue timeout or exit key) -> MISSED for the agents still ringing. Ring-all losers
  only get `DialEnd` `DialStatus: CANCEL` and a `Hangup` "Answered elsewhere": CANCEL never means
  MISSED.
Direct calls (a `Dial()` to a device, no queue):
  `DialBegin` + ring evidence -> RINGING(`DestChannel`); `DialEnd` ANSWER -> ANSWERED;
  NOANSWER, BUSY, CONGESTION, CHANUNAVAIL of a device that rang -> MISSED.
Every call:
  `Hangup` of the caller's channel -> ENDED (the tracker makes it ABANDONED if nobody answered).
  The caller is the number the ringing phone is shown (:mod:`ami_callstate` says which field);
  a caller channel whose `CID-CallingPres`/`CallingPres` is restricted makes the whole call
  withheld: `caller="anonymous"`, no name, `withheld=True` on every event, for good.
Transfers and consultation calls: see :mod:`screenpop.telephony.asterisk.transfers`.
Calls we originate (click-to-dial) are announced with :meth:`AmiCallMapper.expect_originate`:
their first channel rings the agent (RINGING, outbound) and answers (ANSWERED).

Caller numbers are passed through raw (`<unknown>`, `anonymous` included: callerid normalizes
them); caller names lose their C escapes and `<unknown>`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from screenpop.events import CallEvent, EventKind
from screenpop.telephony.asterisk import resync, transfers
from screenpop.telephony.asterisk.callstate import CallState, caller_of, restricted, shown_caller
from screenpop.telephony.asterisk.protocol import Message, known

MAX_TRACKED = 4096  # calls remembered at once; the oldest are forgotten first
MISSED_STATUSES = frozenset({"NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL"})
RINGING_DIAL_STATES = frozenset({"RINGING", "PROGRESS"})
STATE_RINGING = "5"
STATE_UP = "6"
WITHHELD_CALLER = "anonymous"


class AmiCallMapper:
    """Turns parsed AMI events into CallEvents. One per source; keeps per-call memory.

    Call :meth:`feed` with every event, in order; after a (re)connect, :meth:`resync_channels`
    with the `CoreShowChannel` items and :meth:`resync_queues` with the `QueueEntry` items.
    """

    def __init__(self, source: str, clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self._clock = clock
        self.calls: OrderedDict[str, CallState] = OrderedDict()
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._originates: dict[str, str] = {}  # channel id -> number dialled
        self._uid_to_call: dict[str, str] = {}  # caller channel uniqueid -> call id (resync)
        self._consults: OrderedDict[str, None] = OrderedDict()  # consultation call ids

    # -- entry points ---------------------------------------------------------------------------

    def feed(self, msg: Message) -> list[CallEvent]:
        """Map one event; returns the CallEvents it means, in order."""
        handler = _HANDLERS.get(msg.event)
        if handler is None:
            return []
        call = self.calls.get(msg.get("Linkedid"))
        if call is not None:
            self._observe(call, msg)
        events = handler(self, msg)
        return [e for e in events if not self._is_consult(e.call_id)]

    def expect_originate(self, channel_id: str, number: str, agent_id: str) -> None:
        """An `Originate` with `ChannelId: channel_id` is on its way; pop it as outbound."""
        self._originates[channel_id] = number

    def forget_originate(self, channel_id: str) -> None:
        self._originates.pop(channel_id, None)

    def active_calls(self) -> list[str]:
        return [c for c, call in self.calls.items() if call.consult_of is None]

    # -- helpers --------------------------------------------------------------------------------

    def event(self, call: CallState, kind: EventKind, endpoint: str | None = None) -> CallEvent:
        """A CallEvent of `call` as the mapper knows it now."""
        withheld = call.withheld
        return CallEvent(
            source=self.source,
            call_id=call.call_id,
            kind=kind,
            caller=WITHHELD_CALLER if withheld else call.caller,
            caller_name=None if withheld else call.caller_name,
            endpoint=endpoint,
            queue=call.queue,
            outbound=call.outbound,
            withheld=withheld,
            at=self._clock(),
        )

    def _is_consult(self, call_id: str) -> bool:
        return call_id in self._consults

    def mark_consult(self, call: CallState, of: CallState) -> None:
        """`call` is a consultation call placed from `of`: none of its events are reported."""
        call.consult_of = of.call_id
        self._consults[call.call_id] = None
        while len(self._consults) > MAX_TRACKED:
            self._consults.popitem(last=False)

    def get_call(
        self, call_id: str, msg: Message | None = None, prefix: str = ""
    ) -> CallState | None:
        """The live call, created (and told its caller) from `msg` if new; None once closed."""
        if not call_id or call_id in self._closed:
            return None
        call = self.calls.get(call_id)
        if call is None:
            call = CallState(call_id)
            self.calls[call_id] = call
            while len(self.calls) > MAX_TRACKED:
                self.calls.popitem(last=False)
            if msg is not None:
                self._observe(call, msg)
        if msg is not None and call.caller is None:
            call.caller, call.caller_name = caller_of(msg, prefix)
        return call

    def _observe(self, call: CallState, msg: Message) -> None:
        """What any event of the caller's own channel says about the caller."""
        uid = msg.get("Uniqueid")
        if uid != call.call_id and uid != call.caller_uid:
            return
        if restricted(msg):
            call.withheld = True
        number = known(msg.get("CallerIDNum"))
        if number is not None:
            call.root_num = number
        if msg.event == "NewCallerid" and number is not None and not call.outbound:
            call.caller, call.caller_name = caller_of(msg)

    def _shown(self, call: CallState, msg: Message) -> None:
        """A dial tells what the dialled phone is shown; that is the caller, until an answer."""
        if call.answered or call.outbound:
            return
        number, name = shown_caller(msg)
        if number is not None and number != call.caller:
            call.caller, call.caller_name = number, name

    def existing(self, msg: Message, key: str = "Linkedid") -> CallState | None:
        return self.calls.get(msg.get(key))

    def close(self, call: CallState) -> None:
        """Forget a call for good: later events of its linkedid map to nothing."""
        self.calls.pop(call.call_id, None)
        self._closed[call.call_id] = None
        while len(self._closed) > MAX_TRACKED:
            self._closed.popitem(last=False)
        if call.caller_uid:
            self._uid_to_call.pop(call.caller_uid, None)

    def set_caller_channel(self, call: CallState, uid: str, channel: str = "") -> None:
        if uid and call.caller_uid is None:
            call.caller_uid = uid
            call.caller_chan = channel
            self._uid_to_call[uid] = call.call_id

    def move_caller_channel(self, call: CallState, uid: str, channel: str) -> None:
        """The caller's side of the call is now `uid` (its first channel left in a transfer)."""
        if call.caller_uid:
            self._uid_to_call.pop(call.caller_uid, None)
        call.caller_uid, call.caller_chan = uid, channel
        self._uid_to_call[uid] = call.call_id

    def _rings(self, call: CallState, uid: str) -> list[CallEvent]:
        """Evidence that the dialled channel `uid` rings: report it (once)."""
        channel = call.dialled.pop(uid, None)
        if channel is None:
            return []
        call.ringing[uid] = channel
        if call.transfer_pending:
            return [self.event(call, EventKind.TRANSFERRED, channel)]
        if call.answered:
            return []  # a consultation leg inside an answered call: AttendedTransfer says more
        return [self.event(call, EventKind.RINGING, channel)]

    def _dialled(self, call: CallState, msg: Message, uid: str, channel: str) -> list[CallEvent]:
        """A dial to `channel` (`uid`) began; it rings now only if its state says so."""
        self._shown(call, msg)
        if uid in call.ringing or uid in call.dialled or uid in call.answered_legs:
            return []
        call.dialled[uid] = channel
        if msg.get("DestChannelState") == STATE_RINGING:
            return self._rings(call, uid)
        return []

    # -- channels -------------------------------------------------------------------------------

    def _on_newchannel(self, msg: Message) -> list[CallEvent]:
        uid, linkedid = msg.get("Uniqueid"), msg.get("Linkedid")
        if not uid or uid != linkedid:
            return []
        call = self.get_call(linkedid, msg)
        if call is None:
            return []
        self.set_caller_channel(call, uid, msg.get("Channel"))
        number = self._originates.pop(uid, None)
        if number is None:
            return []
        call.outbound = call.checked = True
        call.caller, call.caller_name = number, None
        call.ringing[uid] = msg.get("Channel")
        return [self.event(call, EventKind.RINGING, msg.get("Channel"))]

    def _on_newcallerid(self, msg: Message) -> list[CallEvent]:
        return []  # `_observe` already took what it says

    def _on_newstate(self, msg: Message) -> list[CallEvent]:
        call = self.existing(msg)
        uid, state = msg.get("Uniqueid"), msg.get("ChannelState")
        if call is None:
            return []
        if state == STATE_RINGING and uid in call.dialled:
            return self._rings(call, uid)
        if not call.outbound or uid != call.caller_uid or call.answered or state != STATE_UP:
            return []
        call.answered = True
        call.ringing.clear()
        call.answered_legs[uid] = msg.get("Channel")
        return [self.event(call, EventKind.ANSWERED, msg.get("Channel"))]

    def _on_hangup(self, msg: Message) -> list[CallEvent]:
        call = self.existing(msg)
        uid = msg.get("Uniqueid")
        if call is None:
            return []
        if uid != call.caller_uid and (call.caller_uid or uid != call.call_id):
            call.ringing.pop(uid, None)
            call.dialled.pop(uid, None)
            call.answered_legs.pop(uid, None)
            return []
        self.close(call)
        return [self.event(call, EventKind.ENDED)]

    # -- dials ----------------------------------------------------------------------------------

    def _on_dial_begin(self, msg: Message) -> list[CallEvent]:
        dest, dest_uid = msg.get("DestChannel"), msg.get("DestUniqueid")
        if not dest:
            return []
        call = self.get_call(msg.get("Linkedid") or msg.get("DestLinkedid"), msg)
        if call is None:
            return []
        if call.caller_uid is None and msg.get("Uniqueid") == call.call_id:
            self.set_caller_channel(call, msg.get("Uniqueid"), msg.get("Channel"))
        if not call.checked and msg.get("Uniqueid") == call.caller_uid:
            transfers.classify(self, call, msg)
        return self._dialled(call, msg, dest_uid or dest, dest)

    def _on_dial_state(self, msg: Message) -> list[CallEvent]:
        call = self.existing(msg)
        if call is None or msg.get("DialStatus").upper() not in RINGING_DIAL_STATES:
            return []
        self._shown(call, msg)
        return self._rings(call, msg.get("DestUniqueid") or msg.get("DestChannel"))

    def _on_dial_end(self, msg: Message) -> list[CallEvent]:
        call = self.existing(msg)
        if call is None:
            return []
        status, dest = msg.get("DialStatus").upper(), msg.get("DestChannel")
        uid = msg.get("DestUniqueid") or dest
        call.dialled.pop(uid, None)
        if status == "ANSWER":
            call.answered_legs[uid] = dest
            was_answered, call.answered = call.answered, True
            call.transfer_pending = False
            if was_answered or call.queued:
                return []  # queued calls are answered by AgentConnect
            call.ringing.clear()
            return [self.event(call, EventKind.ANSWERED, dest)]
        rang = call.ringing.pop(uid, None) is not None
        if call.answered or status not in MISSED_STATUSES or not rang:
            return []  # CANCEL: the answer elsewhere or the caller's hangup says it better
        return [self.event(call, EventKind.MISSED, dest)]

    # -- queues ---------------------------------------------------------------------------------

    def _on_queue_join(self, msg: Message) -> list[CallEvent]:
        call = self.get_call(msg.get("Linkedid"), msg)
        if call is None:
            return []
        self.set_caller_channel(call, msg.get("Uniqueid"), msg.get("Channel"))
        self._observe(call, msg)
        call.queue, call.queued = msg.get("Queue") or call.queue, True
        call.answered = call.transfer_pending = False
        return [self.event(call, EventKind.QUEUED)]

    def _on_agent_called(self, msg: Message) -> list[CallEvent]:
        call = self.get_call(msg.get("Linkedid"), msg)
        if call is None:
            return []
        call.queue, call.queued = msg.get("Queue") or call.queue, True
        endpoint = msg.get("DestChannel") or msg.get("Interface")
        return self._dialled(call, msg, msg.get("DestUniqueid") or endpoint, endpoint)

    def _on_ring_no_answer(self, msg: Message) -> list[CallEvent]:
        call = self.existing(msg)
        if call is None or call.answered:
            return []
        endpoint = msg.get("DestChannel") or msg.get("Interface")
        uid = msg.get("DestUniqueid") or endpoint
        call.dialled.pop(uid, None)
        if call.ringing.pop(uid, None) is None:
            return []  # it never rang: nobody was shown anything
        return [self.event(call, EventKind.MISSED, endpoint)]

    def _on_agent_connect(self, msg: Message) -> list[CallEvent]:
        call = self.get_call(msg.get("Linkedid"), msg)
        if call is None:
            return []
        call.answered, call.transfer_pending = True, False
        call.ringing.clear()
        call.dialled.clear()
        endpoint = msg.get("DestChannel") or msg.get("Interface")
        call.answered_legs[msg.get("DestUniqueid") or endpoint] = endpoint
        return [self.event(call, EventKind.ANSWERED, endpoint)]

    def _on_agent_complete(self, msg: Message) -> list[CallEvent]:
        call = self.existing(msg)
        if call is None or msg.get("Reason").lower() == "transfer":
            return []
        self.close(call)
        return [self.event(call, EventKind.ENDED)]

    def _on_abandon(self, msg: Message) -> list[CallEvent]:
        call = self.existing(msg)
        if call is None:
            return []
        self.close(call)
        return [self.event(call, EventKind.ABANDONED)]

    def _on_queue_leave(self, msg: Message) -> list[CallEvent]:
        call = self.existing(msg)
        if call is None or call.answered:
            return []
        call.queued = False
        events = [self.event(call, EventKind.MISSED, ep) for ep in call.ringing.values()]
        call.ringing.clear()
        call.dialled.clear()
        return events

    # -- transfers ------------------------------------------------------------------------------

    def _on_blind_transfer(self, msg: Message) -> list[CallEvent]:
        return transfers.blind(self, msg)

    def _on_attended_transfer(self, msg: Message) -> list[CallEvent]:
        return transfers.attended(self, msg)

    # -- resync after a reconnect ---------------------------------------------------------------

    def resync_channels(self, items: list[Message]) -> list[CallEvent]:
        """Re-learn calls from a `CoreShowChannels` list (see :mod:`.resync`)."""
        events = resync.channels(self, items)
        return [e for e in events if not self._is_consult(e.call_id)]

    def resync_queues(self, entries: list[Message]) -> list[CallEvent]:
        """Re-learn waiting callers from `QueueStatus` (see :mod:`.resync`)."""
        return resync.queues(self, entries)

    def call_of_channel(self, uid: str) -> str:
        """The call id whose caller channel is `uid` (`uid` itself when unknown)."""
        return self._uid_to_call.get(uid, uid)


_HANDLERS: dict[str, Callable[[AmiCallMapper, Message], list[CallEvent]]] = {
    "Newchannel": AmiCallMapper._on_newchannel,
    "NewCallerid": AmiCallMapper._on_newcallerid,
    "Newstate": AmiCallMapper._on_newstate,
    "Hangup": AmiCallMapper._on_hangup,
    "DialBegin": AmiCallMapper._on_dial_begin,
    "DialState": AmiCallMapper._on_dial_state,
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
