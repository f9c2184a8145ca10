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
  The caller is the number the ringing phone is shown (:mod:`.callstate` says which field);
  a caller channel whose `CID-CallingPres`/`CallingPres` is restricted makes the whole call
  withheld: `caller="anonymous"`, no name, `withheld=True` on every event, for good.
Transfers and consultation calls: see :mod:`screenpop.telephony.asterisk.transfers`.
Call variables (`[lookup] keys`, IVR data) come from the caller's channel: its `VarSet` events
(an `updated` CallEvent when a value changes) and, with `channelvars` in manager.conf, the
`ChanVariable` headers of its events; every later CallEvent carries them.
Calls we originate (click-to-dial) are announced with :meth:`AmiCallMapper.expect_originate`:
their first channel rings the agent (RINGING, outbound) and answers (ANSWERED).

Caller numbers are passed through raw (`<unknown>`, `anonymous` included: callerid normalizes
them); caller names lose their C escapes and `<unknown>`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from screenpop.events import CallEvent, EventKind
from screenpop.telephony.asterisk import resync, transfers
from screenpop.telephony.asterisk.calls import CallTable
from screenpop.telephony.asterisk.callstate import CallState, shown_caller
from screenpop.telephony.asterisk.protocol import Message

MISSED_STATUSES = frozenset({"NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL"})
RINGING_DIAL_STATES = frozenset({"RINGING", "PROGRESS"})
STATE_RINGING = "5"
STATE_UP = "6"


class AmiCallMapper:
    """Turns parsed AMI events into CallEvents. One per source; keeps per-call memory.

    Call :meth:`feed` with every event, in order; after a (re)connect, :meth:`resync_channels`
    with the `CoreShowChannel` items and :meth:`resync_queues` with the `QueueEntry` items.
    """

    def __init__(
        self,
        source: str,
        clock: Callable[[], float] = time.time,
        variables: Collection[str] = frozenset(),
    ) -> None:
        self.source = source
        self.table = CallTable(source, clock, variables)
        self._originates: dict[str, str] = {}  # channel id -> number dialled

    # -- entry points ---------------------------------------------------------------------------

    def feed(self, msg: Message) -> list[CallEvent]:
        """Map one event; returns the CallEvents it means, in order."""
        handler = _HANDLERS.get(msg.event)
        if handler is None:
            return []
        call = self.table.calls.get(msg.get("Linkedid"))
        if call is not None:
            self.table.observe(call, msg)
        return self.table.reported(handler(self, msg))

    def expect_originate(self, channel_id: str, number: str, agent_id: str) -> None:
        """An `Originate` with `ChannelId: channel_id` is on its way; pop it as outbound."""
        self._originates[channel_id] = number

    def forget_originate(self, channel_id: str) -> None:
        self._originates.pop(channel_id, None)

    def active_calls(self) -> list[str]:
        return [c for c, call in self.table.calls.items() if call.consult_of is None]

    # -- helpers --------------------------------------------------------------------------------

    def _shown(self, call: CallState, msg: Message) -> None:
        """A dial tells what the dialled phone is shown; that is the caller, until an answer."""
        if call.answered or call.outbound:
            return
        number, name = shown_caller(msg)
        if number is not None and number != call.caller:
            call.caller, call.caller_name = number, name

    def _rings(self, call: CallState, uid: str) -> list[CallEvent]:
        """Evidence that the dialled channel `uid` rings: report it (once)."""
        channel = call.dialled.pop(uid, None)
        if channel is None:
            return []
        call.ringing[uid] = channel
        if call.transfer_pending:
            return [self.table.event(call, EventKind.TRANSFERRED, channel)]
        if call.answered:
            return []  # a consultation leg inside an answered call: AttendedTransfer says more
        return [self.table.event(call, EventKind.RINGING, channel)]

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
        call = self.table.get_call(linkedid, msg)
        if call is None:
            return []
        self.table.set_caller_channel(call, uid, msg.get("Channel"))
        number = self._originates.pop(uid, None)
        if number is None:
            return []
        call.outbound = call.checked = True
        call.caller, call.caller_name = number, None
        call.ringing[uid] = msg.get("Channel")
        return [self.table.event(call, EventKind.RINGING, msg.get("Channel"))]

    def _on_var_set(self, msg: Message) -> list[CallEvent]:
        call = self.table.existing(msg)
        if call is None or not self.table.var_set(call, msg):
            return []
        return [self.table.event(call, EventKind.UPDATED)]

    def _on_newcallerid(self, msg: Message) -> list[CallEvent]:
        return []  # `_observe` already took what it says

    def _on_newstate(self, msg: Message) -> list[CallEvent]:
        call = self.table.existing(msg)
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
        return [self.table.event(call, EventKind.ANSWERED, msg.get("Channel"))]

    def _on_hangup(self, msg: Message) -> list[CallEvent]:
        call = self.table.existing(msg)
        uid = msg.get("Uniqueid")
        if call is None:
            return []
        if uid != call.caller_uid and (call.caller_uid or uid != call.call_id):
            call.ringing.pop(uid, None)
            call.dialled.pop(uid, None)
            call.answered_legs.pop(uid, None)
            return []
        self.table.close(call)
        return [self.table.event(call, EventKind.ENDED)]

    # -- dials ----------------------------------------------------------------------------------

    def _on_dial_begin(self, msg: Message) -> list[CallEvent]:
        dest, dest_uid = msg.get("DestChannel"), msg.get("DestUniqueid")
        if not dest:
            return []
        call = self.table.get_call(msg.get("Linkedid") or msg.get("DestLinkedid"), msg)
        if call is None:
            return []
        if call.caller_uid is None and msg.get("Uniqueid") == call.call_id:
            self.table.set_caller_channel(call, msg.get("Uniqueid"), msg.get("Channel"))
        if not call.checked and msg.get("Uniqueid") == call.caller_uid:
            transfers.classify(self.table, call, msg)
        return self._dialled(call, msg, dest_uid or dest, dest)

    def _on_dial_state(self, msg: Message) -> list[CallEvent]:
        call = self.table.existing(msg)
        if call is None or msg.get("DialStatus").upper() not in RINGING_DIAL_STATES:
            return []
        self._shown(call, msg)
        return self._rings(call, msg.get("DestUniqueid") or msg.get("DestChannel"))

    def _on_dial_end(self, msg: Message) -> list[CallEvent]:
        call = self.table.existing(msg)
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
            return [self.table.event(call, EventKind.ANSWERED, dest)]
        rang = call.ringing.pop(uid, None) is not None
        if call.answered or status not in MISSED_STATUSES or not rang:
            return []  # CANCEL: the answer elsewhere or the caller's hangup says it better
        return [self.table.event(call, EventKind.MISSED, dest)]

    # -- queues ---------------------------------------------------------------------------------

    def _on_queue_join(self, msg: Message) -> list[CallEvent]:
        call = self.table.get_call(msg.get("Linkedid"), msg)
        if call is None:
            return []
        self.table.set_caller_channel(call, msg.get("Uniqueid"), msg.get("Channel"))
        self.table.observe(call, msg)
        call.queue, call.queued = msg.get("Queue") or call.queue, True
        call.answered = call.transfer_pending = False
        return [self.table.event(call, EventKind.QUEUED)]

    def _on_agent_called(self, msg: Message) -> list[CallEvent]:
        call = self.table.get_call(msg.get("Linkedid"), msg)
        if call is None:
            return []
        call.queue, call.queued = msg.get("Queue") or call.queue, True
        endpoint = msg.get("DestChannel") or msg.get("Interface")
        return self._dialled(call, msg, msg.get("DestUniqueid") or endpoint, endpoint)

    def _on_ring_no_answer(self, msg: Message) -> list[CallEvent]:
        call = self.table.existing(msg)
        if call is None or call.answered:
            return []
        endpoint = msg.get("DestChannel") or msg.get("Interface")
        uid = msg.get("DestUniqueid") or endpoint
        call.dialled.pop(uid, None)
        if call.ringing.pop(uid, None) is None:
            return []  # it never rang: nobody was shown anything
        return [self.table.event(call, EventKind.MISSED, endpoint)]

    def _on_agent_connect(self, msg: Message) -> list[CallEvent]:
        call = self.table.get_call(msg.get("Linkedid"), msg)
        if call is None:
            return []
        call.answered, call.transfer_pending = True, False
        call.ringing.clear()
        call.dialled.clear()
        endpoint = msg.get("DestChannel") or msg.get("Interface")
        call.answered_legs[msg.get("DestUniqueid") or endpoint] = endpoint
        return [self.table.event(call, EventKind.ANSWERED, endpoint)]

    def _on_agent_complete(self, msg: Message) -> list[CallEvent]:
        call = self.table.existing(msg)
        if call is None or msg.get("Reason").lower() == "transfer":
            return []
        self.table.close(call)
        return [self.table.event(call, EventKind.ENDED)]

    def _on_abandon(self, msg: Message) -> list[CallEvent]:
        call = self.table.existing(msg)
        if call is None:
            return []
        self.table.close(call)
        return [self.table.event(call, EventKind.ABANDONED)]

    def _on_queue_leave(self, msg: Message) -> list[CallEvent]:
        call = self.table.existing(msg)
        if call is None or call.answered:
            return []
        call.queued = False
        events = [self.table.event(call, EventKind.MISSED, ep) for ep in call.ringing.values()]
        call.ringing.clear()
        call.dialled.clear()
        return events

    # -- transfers ------------------------------------------------------------------------------

    def _on_blind_transfer(self, msg: Message) -> list[CallEvent]:
        return transfers.blind(self.table, msg)

    def _on_attended_transfer(self, msg: Message) -> list[CallEvent]:
        return transfers.attended(self.table, msg)

    # -- resync after a reconnect ---------------------------------------------------------------

    def resync_channels(self, items: list[Message]) -> list[CallEvent]:
        """Re-learn calls from a `CoreShowChannels` list (see :mod:`.resync`)."""
        return self.table.reported(resync.channels(self.table, items))

    def resync_queues(self, entries: list[Message]) -> list[CallEvent]:
        """Re-learn waiting callers from `QueueStatus` (see :mod:`.resync`)."""
        return resync.queues(self.table, entries)


_HANDLERS: dict[str, Callable[[AmiCallMapper, Message], list[CallEvent]]] = {
    "Newchannel": AmiCallMapper._on_newchannel,
    "NewCallerid": AmiCallMapper._on_newcallerid,
    "VarSet": AmiCallMapper._on_var_set,
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
