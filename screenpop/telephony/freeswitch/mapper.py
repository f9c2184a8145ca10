"""FreeSWITCH events to PBX-neutral :class:`CallEvent` values, free of I/O.

The call id is always the caller's own channel uuid, so both ways FreeSWITCH reports a call agree:

* **Queued by mod_callcenter** (`CUSTOM callcenter::info`), keyed by `CC-Member-Session-UUID`
  (the member's channel; `CC-Member-UUID`, the queue row id, is the fallback).
  `member-queue-start`/`-resume` -> QUEUED, `agent-offering` -> RINGING(`CC-Agent`),
  `bridge-agent-start` -> ANSWERED(`CC-Agent`), `bridge-agent-fail` -> MISSED(`CC-Agent`) unless
  its cause is `ORIGINATOR_CANCEL` / `LOSE_RACE` (callers who hung up and ring-all losers: the
  abandon or the answer elsewhere says it better). `agent-offering` and `bridge-agent-fail`
  carry no channel data; `bridge-agent-*` carry the agent leg's, so nothing about the caller is
  learned from them. `member-queue-end` with `CC-Cause: Cancel` (any `CC-Cancel-Reason`) ->
  ABANDONED; with `CC-Cause: Terminated` -> ENDED once the member's channel is gone (it may come
  before or after the caller's CHANNEL_HANGUP_COMPLETE: its own channel data, `Answer-State:
  hangup`, tells). If it is still up, the agent transferred it: the call stays open, a new leg
  rung from it is a transfer, and the member channel's CHANNEL_HANGUP_COMPLETE ends it.
* **Bridged straight to a user** (`bridge user/1001`), seen through plain channel events. A leg's
  call is its `variable_call_uuid`, else its `Other-Leg-Unique-ID`, else its own `Unique-ID` (a
  call we originated). Outbound legs ring agents: CHANNEL_CREATE / CHANNEL_PROGRESS -> RINGING,
  CHANNEL_ANSWER or a CHANNEL_BRIDGE naming the leg -> ANSWERED, an unanswered leg's
  CHANNEL_HANGUP_COMPLETE -> MISSED (not for `ORIGINATOR_CANCEL` / `LOSE_RACE`). A bridge of an
  answered call to a leg other than the one holding it (attended transfer) -> TRANSFERRED.
  The endpoint is `user/<variable_dialed_user>`, else the leg's `Channel-Name`.
* **Carrier legs** ring nobody: legs named `sofia/gateway/...`, and on a call an agent placed
  (click-to-dial: the call is the agent's own originated leg) any leg sent through a gateway
  (`variable_sip_gateway_name`; FreeSWITCH names those `sofia/<profile>/<number>`). The agent's
  leg keeps the call, so its hangup ends the call on the agent's page. On a caller's call a
  gateway leg may be an agent's phone behind a SIP proxy, so there it rings like any leg.
* **Consultation legs** (attended transfer, `att_xfer`): a leg rung on an answered call from a
  leg other than the caller's channel (its originator is the agent's leg, whose `call_uuid` it
  inherits, and it carries the agent's caller id). It pops nobody while the agent consults; the
  caller's channel being bridged to it (the hand-over) -> TRANSFERRED to its endpoint. A
  consultation that ends without a hand-over leaves the call with the first agent.

The caller's channel hanging up ends any call: ENDED if answered, else ABANDONED. Legs that
mod_callcenter originates to agents (`variable_cc_side: agent`) are left to the callcenter events,
so a queued call never pops twice. A withheld caller (`Caller-Privacy-Hide-Number: true`, or
`variable_privacy` of `yes`/`number`/`full`, seen on the caller's channel, on a leg rung from it,
or on the `member-queue-*` events that carry the member's channel data) makes the call withheld
for good: every later event has `withheld=True`, caller `anonymous` and no name.

Call variables (`[lookup] keys`, IVR data) are the caller channel's `variable_<name>` headers, read
from every event of that channel (its CHANNEL_CREATE, the `member-queue-*` events, a bridge): every
later CallEvent carries them, and a change that no other CallEvent reports is an `updated` one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping

from screenpop.events import CallEvent, EventKind, merge_variables
from screenpop.telephony.freeswitch.headers import (
    Headers,
    channel_gone,
    endpoint_of,
    named_trunk,
    origin_of,
    root_of,
    via_gateway,
    withheld,
)
from screenpop.telephony.freeswitch.resync import bridged_legs, channel_rows, queue_members
from screenpop.telephony.freeswitch.state import MAX_TRACKED, CallTable
from screenpop.telephony.freeswitch.state import EslCall as _Call
from screenpop.telephony.variables import esl_variables

__all__ = ["MAX_TRACKED", "EslCallMapper"]

CALLCENTER_SUBCLASS = "callcenter::info"
QUIET_CAUSES = frozenset({"ORIGINATOR_CANCEL", "LOSE_RACE", "PICKED_OFF"})


class EslCallMapper:
    """Turns decoded ESL events into CallEvents. One per source; keeps per-call memory.

    Call :meth:`feed` with every event's headers, in order, and :meth:`resync` with the bodies of
    the resync commands after every (re)connect.
    """

    def __init__(
        self,
        source: str,
        clock: Callable[[], float] = time.time,
        variables: Collection[str] = frozenset(),
    ) -> None:
        self.source = source
        self.table = CallTable(source, clock)
        self.wanted = frozenset(variables)  # call variables kept (`[lookup] keys`)

    @property
    def open_calls(self) -> list[str]:
        """Ids of the calls the mapper believes are in progress."""
        return list(self.table.calls)

    # -- entry points ---------------------------------------------------------------------------

    def feed(self, h: Headers) -> list[CallEvent]:
        """Map one event (its URL-decoded headers); returns the CallEvents it means, in order."""
        call = self._variables(h)
        events = self._dispatch(h)
        if call is not None and not events and call.call_id in self.table.calls:
            return [self.table.event(call, EventKind.UPDATED)]
        return events

    def _variables(self, h: Headers) -> _Call | None:
        """Take the wanted variables of an event of a caller's channel; the call if they changed."""
        if not self.wanted:
            return None
        uuid = h.get("Unique-ID", "")
        call = self.table.calls.get(uuid) or self.table.callers.get(uuid)
        if call is None or not merge_variables(call.variables, esl_variables(h, self.wanted)):
            return None
        return call

    def _dispatch(self, h: Headers) -> list[CallEvent]:
        name = h.get("Event-Name", "")
        if name == "CUSTOM":
            if h.get("Event-Subclass") == CALLCENTER_SUBCLASS:
                return self._on_callcenter(h)
            return []
        handler = _CHANNEL_HANDLERS.get(name)
        if handler is None:
            return []
        if name == "CHANNEL_HANGUP_COMPLETE" and h.get("Unique-ID", "") in self.table.calls:
            return self._caller_gone(self.table.calls[h["Unique-ID"]])
        if h.get("variable_cc_side") == "agent":
            return []  # mod_callcenter's own agent legs: the callcenter events tell it
        return handler(self, h)

    def resync(
        self,
        channels_json: str | None,
        members: Mapping[str, str],
        known_before: Collection[str] | None = None,
    ) -> list[CallEvent]:
        """Re-learn the calls in progress after a (re)connect.

        `channels_json` is the body of `api show channels as json` (None if it failed);
        `members` maps each queue to the body of `api callcenter_config queue list members`;
        `known_before` are the :attr:`open_calls` taken when the new subscription was confirmed
        (default: all), so calls learned from events since then are not second-guessed.
        Those calls whose caller channel is gone end (ENDED or ABANDONED); legs
        ringing or answered on direct calls give RINGING / ANSWERED; queue members give QUEUED,
        plus RINGING or ANSWERED for their serving agent. Duplicates of what the tracker already
        knows are harmless.
        """
        out: list[CallEvent] = []
        rows = channel_rows(channels_json) if channels_json is not None else None
        if rows is not None:
            alive = set(rows)
            suspects = self.open_calls if known_before is None else known_before
            for call_id in [c for c in suspects if c in self.table.calls and c not in alive]:
                out += self._caller_gone(self.table.calls[call_id])
            out += self._resync_channels(rows)
        for queue, body in members.items():
            out += queue_members(self.table, queue, body, None if rows is None else set(rows))
        return out

    # -- mod_callcenter -------------------------------------------------------------------------

    def _on_callcenter(self, h: Headers) -> list[CallEvent]:
        action = h.get("CC-Action", "")
        handler = _CC_HANDLERS.get(action)
        call_id = h.get("CC-Member-Session-UUID") or h.get("CC-Member-UUID") or ""
        if handler is None or not call_id or call_id in self.table.closed:
            return []
        call = self.table.calls.get(call_id)
        if call is None:
            call = self.table.callers.pop(call_id, None) or _Call(call_id)
            if call.caller is None and not call.withheld:
                # no channel data to judge privacy by here (agent-offering, bridge-agent-*)
                call.learn(h.get("CC-Member-CID-Number"), h.get("CC-Member-CID-Name"), {})
            self.table.calls.remember(call)
        call.callcenter = True
        call.queue = call.queue or h.get("CC-Queue") or None
        return handler(self, call, h)

    def _cc_queue_start(self, call: _Call, h: Headers) -> list[CallEvent]:
        # This event carries the member channel's data, so its privacy flags are the caller's.
        number = h.get("CC-Member-CID-Number") or h.get("Caller-Caller-ID-Number")
        name = h.get("CC-Member-CID-Name") or h.get("Caller-Caller-ID-Name")
        call.learn(number, name, h)
        merge_variables(call.variables, esl_variables(h, self.wanted))
        call.queue = h.get("CC-Queue") or call.queue
        call.in_queue = True
        return [self.table.event(call, EventKind.QUEUED)]

    def _cc_offering(self, call: _Call, h: Headers) -> list[CallEvent]:
        return self._agent_event(call, EventKind.RINGING, h)

    def _cc_bridge_start(self, call: _Call, h: Headers) -> list[CallEvent]:
        # The agent leg's channel data: its privacy flags say nothing about the caller.
        call.answered = True
        call.holder = h.get("CC-Agent-UUID") or call.holder
        return self._agent_event(call, EventKind.ANSWERED, h)

    def _cc_bridge_fail(self, call: _Call, h: Headers) -> list[CallEvent]:
        if h.get("CC-Hangup-Cause", "") in QUIET_CAUSES:
            return []
        return self._agent_event(call, EventKind.MISSED, h)

    def _cc_queue_end(self, call: _Call, h: Headers) -> list[CallEvent]:
        call.in_queue = False
        if withheld(h):  # member channel data again: trust its privacy flags
            call.learn(None, None, h)
        terminated = h.get("CC-Cause") == "Terminated"
        if terminated and not channel_gone(h):
            call.answered = True
            return []  # bridged, then transferred away: the caller is still on the line
        kind = EventKind.ENDED if call.answered or terminated else EventKind.ABANDONED
        self.table.close(call.call_id)
        return [self.table.event(call, kind, h.get("CC-Agent") or None)]

    def _agent_event(self, call: _Call, kind: EventKind, h: Headers) -> list[CallEvent]:
        agent = h.get("CC-Agent", "")
        return [self.table.event(call, kind, agent)] if agent else []

    # -- plain channel events -------------------------------------------------------------------

    def _on_create(self, h: Headers) -> list[CallEvent]:
        if h.get("Call-Direction") == "outbound":
            return self._on_ringing_leg(h)
        uuid = h.get("Unique-ID", "")
        if uuid and uuid not in self.table.closed and uuid not in self.table.calls:
            call = _Call(uuid)
            call.learn(h.get("Caller-Caller-ID-Number"), h.get("Caller-Caller-ID-Name"), h)
            merge_variables(call.variables, esl_variables(h, self.wanted))
            self.table.callers.remember(call)
        return []

    def _on_ringing_leg(self, h: Headers) -> list[CallEvent]:
        if h.get("Call-Direction") != "outbound":
            return []
        leg, call = self._leg(h)
        if call is None or leg in call.legs or leg in call.consults or leg in call.carriers:
            return []
        if not self._admit(call, leg, h):
            return []
        return [self.table.event(call, EventKind.RINGING, call.legs[leg])]

    def _on_answer(self, h: Headers) -> list[CallEvent]:
        if h.get("Call-Direction") != "outbound":
            return []
        leg, call = self._leg(h)
        if call is None or leg in call.consults or leg in call.carriers:
            return []
        if leg not in call.legs and not self._admit(call, leg, h):
            return []
        return self._answer_leg(call, leg, call.legs[leg])

    def _admit(self, call: _Call, leg: str, h: Headers) -> bool:
        """Note a leg new to `call`; True when it rings an agent, False for a carrier leg or a
        consultation (kept aside until a hand-over)."""
        if named_trunk(h) or (via_gateway(h) and call.placed()):
            call.carriers.add(leg)  # the far end of the call, not an agent
            return False
        if self._consulting(call, h):
            call.consults[leg] = endpoint_of(h)
            return False
        call.legs[leg] = endpoint_of(h)
        return True

    def _consulting(self, call: _Call, h: Headers) -> bool:
        """A new leg on an answered call, rung from a leg other than the caller's channel (the
        agent's leg, in an attended transfer), or failing that data, with another caller id."""
        if not call.answered:
            return False
        origin = origin_of(h)
        if origin:
            return origin != call.call_id
        number = h.get("Caller-Caller-ID-Number", "")
        return bool(number) and not call.withheld and call.caller not in (None, number)

    def _on_bridge(self, h: Headers) -> list[CallEvent]:
        a = h.get("Bridge-A-Unique-ID") or h.get("Unique-ID", "")
        b = h.get("Bridge-B-Unique-ID") or h.get("Other-Leg-Unique-ID", "")
        for root, other in ((a, b), (b, a)):
            call = self.table.calls.get(root)
            if call is not None and other and (call.answered or not call.in_queue):
                return self._bridged(call, other, h)
        return self._on_answer(h)

    def _bridged(self, call: _Call, other: str, h: Headers) -> list[CallEvent]:
        """The caller's channel was bridged to `other`: an answer, or a transfer to it."""
        if other in call.carriers:
            return []
        if other in call.consults:  # the hand-over of an attended transfer
            endpoint = call.consults.pop(other)
            return self._transfer(call, other, endpoint)
        known = call.legs.get(other) or self.table.known_endpoint(other)
        endpoint = known or h.get("Other-Leg-Channel-Name") or ""
        if not call.answered or (other in call.legs and other not in call.answered_legs):
            return self._answer_leg(call, other, endpoint) if endpoint else []
        if other == call.holder or other in call.answered_legs or not endpoint:
            return []
        return self._transfer(call, other, endpoint)

    def _transfer(self, call: _Call, leg: str, endpoint: str) -> list[CallEvent]:
        call.legs[leg] = endpoint
        call.answered_legs.add(leg)
        call.holder = leg
        return [self.table.event(call, EventKind.TRANSFERRED, endpoint)]

    def _answer_leg(self, call: _Call, leg: str, endpoint: str) -> list[CallEvent]:
        if leg in call.answered_legs:
            return []
        endpoint = call.legs.setdefault(leg, endpoint)
        call.answered_legs.add(leg)
        call.answered = True
        call.holder = leg
        return [self.table.event(call, EventKind.ANSWERED, endpoint)]

    def _on_hangup(self, h: Headers) -> list[CallEvent]:
        uuid = h.get("Unique-ID", "")
        self.table.callers.pop(uuid, None)
        if h.get("Call-Direction") != "outbound":
            return []
        call = self.table.calls.get(root_of(h)) or self.table.holding(root_of(h))
        if call is None:
            return []
        call.carriers.discard(uuid)
        if call.consults.pop(uuid, None) is not None:
            return []  # a consultation that ended without a hand-over: nobody saw it
        if uuid not in call.legs or uuid in call.answered_legs:
            return []
        endpoint = call.legs.pop(uuid)
        if h.get("Hangup-Cause", "") in QUIET_CAUSES:
            return []
        return [self.table.event(call, EventKind.MISSED, endpoint)]

    def _caller_gone(self, call: _Call) -> list[CallEvent]:
        """The caller's channel hung up (or vanished while we were away): the call is over."""
        self.table.close(call.call_id)
        kind = EventKind.ENDED if call.answered else EventKind.ABANDONED
        return [self.table.event(call, kind, call.legs.get(call.holder or ""))]

    def _leg(self, h: Headers) -> tuple[str, _Call | None]:
        """The leg's uuid and its call (created on first sight); None for calls not ours.

        A leg whose `call_uuid` is an agent's leg holding a call (an agent mod_callcenter rang
        consulting a colleague) belongs to that call.
        """
        leg, root = h.get("Unique-ID", ""), root_of(h)
        if not leg or root in self.table.closed:
            return leg, None
        call = self.table.calls.get(root) or self.table.holding(root)
        if call is None:
            call = self.table.callers.pop(root, None) or _Call(root)
            if call.caller is None or withheld(h):
                call.learn(h.get("Caller-Caller-ID-Number"), h.get("Caller-Caller-ID-Name"), h)
            call.outbound = h.get("variable_screenpop_outbound", "") == "true"
            self.table.calls.remember(call)
        elif call.in_queue and not call.answered:
            return leg, None  # still queued: mod_callcenter decides who rings
        elif withheld(h) and not self._consulting(call, h):
            call.learn(None, None, h)  # a leg rung from the caller's channel carries its flags
        return leg, call

    # -- resync ---------------------------------------------------------------------------------

    def _resync_channels(self, rows: Mapping[str, Mapping[str, str]]) -> list[CallEvent]:
        out: list[CallEvent] = []
        for headers, answered in bridged_legs(rows):
            out += self._on_ringing_leg(headers)
            if answered:
                out += self._on_answer(headers)
        return out


_CC_HANDLERS: dict[str, Callable[[EslCallMapper, _Call, Headers], list[CallEvent]]] = {
    "member-queue-start": EslCallMapper._cc_queue_start,
    "member-queue-resume": EslCallMapper._cc_queue_start,
    "agent-offering": EslCallMapper._cc_offering,
    "bridge-agent-start": EslCallMapper._cc_bridge_start,
    "bridge-agent-fail": EslCallMapper._cc_bridge_fail,
    "member-queue-end": EslCallMapper._cc_queue_end,
}

_CHANNEL_HANDLERS: dict[str, Callable[[EslCallMapper, Headers], list[CallEvent]]] = {
    "CHANNEL_CREATE": EslCallMapper._on_create,
    "CHANNEL_PROGRESS": EslCallMapper._on_ringing_leg,
    "CHANNEL_PROGRESS_MEDIA": EslCallMapper._on_ringing_leg,
    "CHANNEL_ANSWER": EslCallMapper._on_answer,
    "CHANNEL_BRIDGE": EslCallMapper._on_bridge,
    "CHANNEL_HANGUP_COMPLETE": EslCallMapper._on_hangup,
}
