"""The per-call memory of the FreeSWITCH mapper (:mod:`screenpop.telephony.freeswitch.mapper`)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from screenpop.telephony.freeswitch.headers import WITHHELD, Headers, caller_of, withheld

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

    def learn(self, number: str | None, name: str | None, h: Headers) -> None:
        """Take the caller from an event that carries the caller's own channel data."""
        if withheld(h):
            self.withheld = True
        if self.withheld:
            self.caller, self.caller_name = WITHHELD, None
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
