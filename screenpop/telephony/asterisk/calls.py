"""The calls the AMI mapper knows, keyed by Linkedid: live ones, ended ones, consultations, and
which channel is each call's caller. No I/O.

The mapper, the resync (:mod:`.resync`) and the transfer rules (:mod:`.transfers`) all read and
change calls through one :class:`CallTable`, so none of them needs the others.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Collection

from screenpop.events import WITHHELD_CALLER, CallEvent, EventKind, merge_variables
from screenpop.telephony.asterisk.callstate import CallState, caller_of, known, restricted
from screenpop.telephony.asterisk.protocol import Message
from screenpop.telephony.variables import ami_variables, clean, name_of

MAX_TRACKED = 4096  # calls remembered at once; the oldest are forgotten first


class CallTable:
    """Per-source call memory, bounded to :data:`MAX_TRACKED` calls of each kind.

    :meth:`get_call` creates a call the first time its Linkedid is seen and refuses it once
    :meth:`close` ended it; :meth:`event` writes a CallEvent of a call as known now.
    `wanted` are the call variables kept (`[lookup] keys`), read from the caller's channel.
    """

    def __init__(
        self,
        source: str,
        clock: Callable[[], float] = time.time,
        wanted: Collection[str] = frozenset(),
    ) -> None:
        self.source = source
        self.wanted = frozenset(wanted)
        self._clock = clock
        self.calls: OrderedDict[str, CallState] = OrderedDict()
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._uid_to_call: dict[str, str] = {}  # caller channel uniqueid -> call id (resync)
        self._consults: OrderedDict[str, None] = OrderedDict()  # consultation call ids

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
            variables=dict(call.variables) if call.variables else None,
        )

    def reported(self, events: list[CallEvent]) -> list[CallEvent]:
        """`events` without those of consultation calls (never reported)."""
        return [e for e in events if e.call_id not in self._consults]

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
                self.observe(call, msg)
        if msg is not None and call.caller is None:
            call.caller, call.caller_name = caller_of(msg, prefix)
        return call

    def observe(self, call: CallState, msg: Message) -> bool:
        """What any event of the caller's own channel says about the caller; True when it
        changed a call variable (its `ChanVariable` headers)."""
        uid = msg.get("Uniqueid")
        if uid != call.call_id and uid != call.caller_uid:
            return False
        if restricted(msg):
            call.withheld = True
        changed = False
        if self.wanted:
            changed = merge_variables(call.variables, ami_variables(msg.fields, self.wanted))
        number = known(msg.get("CallerIDNum"))
        if number is not None:
            call.root_num = number
        if msg.event == "NewCallerid" and number is not None and not call.outbound:
            call.caller, call.caller_name = caller_of(msg)
        return changed

    def var_set(self, call: CallState, msg: Message) -> bool:
        """A `VarSet` of a wanted variable on the caller's channel; True if its value changed."""
        name = name_of(msg.get("Variable").strip())
        uid = msg.get("Uniqueid")
        if name not in self.wanted or (uid != call.call_id and uid != call.caller_uid):
            return False
        return merge_variables(call.variables, {name: clean(msg.get("Value"))})

    def existing(self, msg: Message, key: str = "Linkedid") -> CallState | None:
        """The live call `msg` names in `key`, never created."""
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
        """`uid` is the caller's channel of `call`, unless it already has one."""
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

    def call_of_channel(self, uid: str) -> str:
        """The call id whose caller channel is `uid` (`uid` itself when unknown)."""
        return self._uid_to_call.get(uid, uid)
