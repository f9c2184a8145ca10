"""The per-call memory of the FreeSWITCH mapper (:mod:`screenpop.telephony.freeswitch.mapper`).

No I/O; the mapper and the resync (:mod:`.resync`) share one :class:`CallTable`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from screenpop.events import WITHHELD_CALLER, CallEvent, EventKind
from screenpop.telephony.freeswitch.headers import Headers, caller_of, withheld

MAX_TRACKED = 4096  # calls and caller legs remembered at once; the oldest are forgotten first


@dataclass(slots=True)
class EslCall:
    """What the mapper remembers about one call, keyed by the caller's channel uuid."""

    call_id: str
    caller: str | None = None
    caller_name: str | None = None
    withheld: bool = False  # sticky: once the PBX says so, never shown again
    queue: str | None = None
    outbound: bool = False
    callcenter: bool = False  # mod_callcenter queued it at some point
    in_queue: bool = False  # between member-queue-start and member-queue-end
    answered: bool = False
    holder: str | None = None  # uuid of the leg that holds the answered call, if known
    legs: dict[str, str] = field(default_factory=dict)  # leg uuid -> endpoint it rang
    answered_legs: set[str] = field(default_factory=set)
    consults: dict[str, str] = field(default_factory=dict)  # consultation leg -> its endpoint
    carriers: set[str] = field(default_factory=set)  # legs out to the far end of a placed call
    variables: dict[str, str] = field(default_factory=dict)  # the caller channel's, wanted ones

    def learn(self, number: str | None, name: str | None, h: Headers) -> None:
        """Take the caller from an event that carries the caller's own channel data."""
        if withheld(h):
            self.withheld = True
        if self.withheld:
            self.caller, self.caller_name = WITHHELD_CALLER, None
            return
        number, name = caller_of(number, name, h)
        if number:
            self.caller, self.caller_name = number, name
        elif name:
            self.caller_name = name

    def placed(self) -> bool:
        """True for a call an agent placed: its root is a leg FreeSWITCH originated."""
        return self.outbound or self.call_id in self.legs


class Lru(OrderedDict[str, EslCall]):
    """Calls by id, the least recently remembered forgotten beyond :data:`MAX_TRACKED`."""

    def remember(self, call: EslCall) -> EslCall:
        """Store (or refresh) `call`; returns it."""
        self[call.call_id] = call
        self.move_to_end(call.call_id)
        while len(self) > MAX_TRACKED:
            self.popitem(last=False)
        return call


class CallTable:
    """Every call the mapper knows, for one source: open calls by the caller's channel uuid,
    inbound legs seen but not yet a call, and ids of calls ended for good (bounded)."""

    def __init__(self, source: str, clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self._clock = clock
        self.calls = Lru()  # open calls by the caller's channel uuid
        self.callers = Lru()  # inbound legs seen (CHANNEL_CREATE), not yet a call
        self.closed: OrderedDict[str, None] = OrderedDict()

    def close(self, call_id: str) -> None:
        """Forget a call for good: later events of its legs map to nothing."""
        self.calls.pop(call_id, None)
        self.closed[call_id] = None
        while len(self.closed) > MAX_TRACKED:
            self.closed.popitem(last=False)

    def event(self, call: EslCall, kind: EventKind, endpoint: str | None = None) -> CallEvent:
        """A CallEvent of `call` as the mapper knows it now."""
        return CallEvent(
            source=self.source,
            call_id=call.call_id,
            kind=kind,
            caller=WITHHELD_CALLER if call.withheld else call.caller,
            caller_name=None if call.withheld else call.caller_name,
            endpoint=endpoint or None,
            queue=call.queue,
            outbound=call.outbound,
            withheld=call.withheld,
            at=self._clock(),
            variables=dict(call.variables) if call.variables else None,
        )

    def holding(self, leg: str) -> EslCall | None:
        """The open call whose answering leg is `leg` (not a call id itself), if any."""
        if not leg or leg in self.calls:
            return None
        for call in self.calls.values():
            if call.holder == leg:
                return call
        return None

    def known_endpoint(self, leg: str) -> str | None:
        """The endpoint `leg` rang, in whichever open call rang it."""
        for call in self.calls.values():
            if leg in call.legs:
                return call.legs[leg]
        return None
