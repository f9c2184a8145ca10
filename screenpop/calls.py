"""The call tracker: one state machine per conversation, fed CallEvents, returning effects.

It is sans-I/O: :meth:`CallReducer.advance` takes one call's aggregate and an event and returns
what must happen (start building the card, pop it on an agent's screen, tell an agent the call
changed, log the call); :class:`screenpop.call_table.CallTracker` is the reducer over its own
in-memory table.

Duplicate and out-of-order events are tolerated: a repeated ring pops once, an answer for an
agent who never rang pops first, events after the end of a call are ignored.

Applying an event again changes nothing, however late it comes (a webhook resent after its
replay window, a PBX re-sending old events, a status callback after the call ended): an ended
call's id is remembered for :data:`ENDED_REMEMBERED_S` (at most :data:`ENDED_REMEMBERED` ids) and
every event for it is ignored, so it never rings, pops, reaches the board or the call log again;
and a call never goes back, once answered, to an agent it rang before: their ring or answer
again is ignored (a ring for an agent new to the call is still a transfer to them). A transfer
back to an agent who had the call before must come as a `transferred` event. Before the answer a
ring for an agent who missed the call is a new ring (queues ring agents again) and pops again.

The caller is the one the agent's phone is shown when it rings. A dialplan may rewrite it after
the call came in: a later event with another caller replaces it until the first pop, and the card
is built again for the new number (a new :class:`Prefetch`); after a pop the card on the agents'
screens stays the one they saw. A caller the PBX marks withheld (`CallEvent.withheld`) is withheld
for good, even after a pop: the number is dropped (``anonymous``), and a later event carrying a
number never brings it back.

Call variables (IVR data, `CallEvent.variables`) are kept, the latest value of each. New values
before the pop rebuild the card (a new :class:`Prefetch`) so that the pop uses them; after the
pop too, with `shown`: the agents get the card the new lookup keys give at once. An `updated`
event (variables only) for a call the tracker has not seen yet is ignored: the source passes its
variables on with the call's first event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from screenpop.events import (
    WITHHELD_CALLER,
    AgentCallState,
    CallEvent,
    CallState,
    EventKind,
    merge_variables,
)

log = logging.getLogger(__name__)

_HELD = frozenset({CallState.ANSWERED, CallState.TRANSFERRED})
_FINAL_KINDS = frozenset({EventKind.ENDED, EventKind.ABANDONED})


@dataclass(slots=True)
class Call:
    """The tracker's view of one conversation. Mutated only by the tracker."""

    call_id: str
    source: str
    caller: str | None = None
    caller_name: str | None = None
    queue: str | None = None
    outbound: bool = False
    withheld: bool = False  # the PBX marked the caller presentation-restricted: never shown
    state: CallState = CallState.QUEUED
    started_at: float = 0.0
    answered_at: float | None = None
    ended_at: float | None = None
    agent: str | None = None  # who holds the call (answered or transferred to)
    transfers: int = 0  # how many times it moved from the agent holding it to another
    ringing: set[str] = field(default_factory=set)  # agents whose phone rings now
    popped: list[str] = field(default_factory=list)  # agents who got a pop, in order
    variables: dict[str, str] = field(default_factory=dict)  # call variables (IVR data), latest
    gave_up: bool = False  # ended unanswered by the source's `abandoned` (not a plain `ended`)

    @property
    def active(self) -> bool:
        return self.state not in (CallState.ENDED, CallState.ABANDONED)


@dataclass(frozen=True, slots=True)
class Prefetch:
    """First sight of the call, or its caller changed: (re)build its card now.

    `shown` says agents already have the call's previous card on screen (a caller withheld after
    the pop): they must get the new card at once.
    """

    call: Call
    shown: bool = False


@dataclass(frozen=True, slots=True)
class Pop:
    """Show the call's card on this agent's screen."""

    agent_id: str
    call: Call


@dataclass(frozen=True, slots=True)
class Notify:
    """Tell one agent that the call changed, as they see it."""

    agent_id: str
    call: Call
    state: AgentCallState


@dataclass(frozen=True, slots=True)
class Changed:
    """The call's state changed (board, call log)."""

    call: Call


Effect = Prefetch | Pop | Notify | Changed


class CallReducer:
    """The call state machine: one event applied to one call's aggregate, effects out. It does
    no I/O and keeps no call state of its own (only counters), so the aggregate may come from
    any `CallStore`."""

    def __init__(self, match_agent: Callable[[str | None], str | None]) -> None:
        self._match = match_agent
        self.ignored = 0  # late, duplicate or unmatched events
        self.unknown_endpoints = 0

    def set_matcher(self, match_agent: Callable[[str | None], str | None]) -> None:
        """Swap the agent matcher (config reload); calls in progress are kept."""
        self._match = match_agent

    def advance(self, call: Call | None, event: CallEvent) -> tuple[Call | None, list[Effect]]:
        """Apply `event` to its call as stored (None: never seen). Returns the call to store
        (None when the event changed nothing: it came after the call ended) and the effects in
        the order they must happen. Only `call` is changed, in place."""
        if (call is not None and not call.active) or (
            call is None and event.kind is EventKind.UPDATED
        ):
            self.ignored += 1
            return None, []
        effects: list[Effect] = []
        if call is None:
            call = self._open(event)
            effects.append(Prefetch(call))
        else:
            rebuild = self._learn(call, event)
            if rebuild is not None:
                effects.append(rebuild)
        handler = _HANDLERS[event.kind]
        effects.extend(handler(self, call, event))
        return call, effects

    def _open(self, event: CallEvent) -> Call:
        call = Call(event.call_id, event.source, started_at=event.at, outbound=event.outbound)
        self._learn(call, event)
        return call

    @staticmethod
    def _learn(call: Call, event: CallEvent) -> Prefetch | None:
        """Take what the event says about the call; a Prefetch when its card must be rebuilt."""
        rebuild = CallReducer._learn_caller(call, event)
        if not event.variables or not merge_variables(call.variables, event.variables):
            return rebuild
        if rebuild is not None or call.withheld or event.kind in _FINAL_KINDS:
            return rebuild
        return Prefetch(call, shown=bool(call.popped))

    @staticmethod
    def _learn_caller(call: Call, event: CallEvent) -> Prefetch | None:
        call.queue = call.queue or event.queue
        if call.withheld:
            return None
        if event.withheld:
            call.withheld = True
            changed = call.caller != WITHHELD_CALLER or call.caller_name is not None
            call.caller, call.caller_name = WITHHELD_CALLER, None
            return Prefetch(call, shown=bool(call.popped)) if changed else None
        if call.caller is not None and (call.popped or event.kind in _FINAL_KINDS):
            call.caller_name = call.caller_name or event.caller_name
            return None
        if event.caller and event.caller != call.caller:
            changed = call.caller is not None
            call.caller, call.caller_name = event.caller, event.caller_name
            return Prefetch(call) if changed else None
        call.caller_name = call.caller_name or event.caller_name
        return None

    def _agent(self, event: CallEvent) -> str | None:
        agent = self._match(event.endpoint)
        if agent is None and event.endpoint:
            self.unknown_endpoints += 1
            log.debug("call %s: endpoint %s is no agent's", event.call_id, event.endpoint)
        return agent

    def _on_updated(self, call: Call, event: CallEvent) -> list[Effect]:
        return []  # `_learn` took the variables

    def _on_queued(self, call: Call, event: CallEvent) -> list[Effect]:
        if call.state is not CallState.QUEUED or call.ringing:
            self.ignored += 1
            return []
        return [Changed(call)]

    def _on_ringing(self, call: Call, event: CallEvent) -> list[Effect]:
        agent = self._agent(event)
        if agent is None or agent in call.ringing or agent == call.agent:
            self.ignored += 1
            return []
        if call.state in _HELD:
            if _been_there(call, agent):
                self.ignored += 1
                return []
            return self._transfer_to(call, agent)
        call.ringing.add(agent)
        call.state = CallState.RINGING
        return [*self._pop(call, agent), Changed(call)]

    def _pop(self, call: Call, agent: str) -> list[Effect]:
        call.popped.append(agent)
        return [Pop(agent, call)]

    def _on_missed(self, call: Call, event: CallEvent) -> list[Effect]:
        agent = self._agent(event)
        if agent is None or agent not in call.ringing:
            self.ignored += 1
            return []
        call.ringing.discard(agent)
        if not call.ringing and call.state is CallState.RINGING:
            call.state = CallState.QUEUED
        return [Notify(agent, call, AgentCallState.MISSED), Changed(call)]

    def _on_answered(self, call: Call, event: CallEvent) -> list[Effect]:
        agent = self._agent(event)
        if agent is not None and (agent == call.agent or _been_there(call, agent)):
            self.ignored += 1
            return []
        effects: list[Effect] = []
        if agent is not None and agent not in call.ringing:
            effects.extend(self._pop(call, agent))
        call.state = CallState.ANSWERED
        call.answered_at = call.answered_at or event.at
        call.agent = agent
        if agent is not None:
            effects.append(Notify(agent, call, AgentCallState.ANSWERED))
        for other in sorted(call.ringing - {agent}):
            effects.append(Notify(other, call, AgentCallState.ANSWERED_ELSEWHERE))
        call.ringing.clear()
        effects.append(Changed(call))
        return effects

    def _on_transferred(self, call: Call, event: CallEvent) -> list[Effect]:
        agent = self._agent(event)
        if agent is None or agent == call.agent:
            self.ignored += 1
            return []
        return self._transfer_to(call, agent)

    def _transfer_to(self, call: Call, agent: str) -> list[Effect]:
        effects: list[Effect] = []
        if call.agent is not None:
            effects.append(Notify(call.agent, call, AgentCallState.TRANSFERRED))
            call.transfers += 1
        call.state = CallState.TRANSFERRED
        call.agent = agent
        call.ringing.clear()
        effects.extend(self._pop(call, agent))
        effects.append(Changed(call))
        return effects

    def _on_ended(self, call: Call, event: CallEvent) -> list[Effect]:
        if call.answered_at is None:
            return self._on_abandoned(call, event)
        call.state = CallState.ENDED
        call.ended_at = event.at
        effects: list[Effect] = []
        if call.agent is not None:
            effects.append(Notify(call.agent, call, AgentCallState.ENDED))
        for other in sorted(call.ringing - {call.agent}):
            effects.append(Notify(other, call, AgentCallState.ANSWERED_ELSEWHERE))
        call.ringing.clear()
        effects.append(Changed(call))
        return effects

    def _on_abandoned(self, call: Call, event: CallEvent) -> list[Effect]:
        if call.answered_at is not None:
            return self._on_ended(call, event)
        call.state = CallState.ABANDONED
        call.ended_at = event.at
        call.gave_up = event.kind is EventKind.ABANDONED
        effects: list[Effect] = [
            Notify(agent, call, AgentCallState.ABANDONED) for agent in sorted(call.ringing)
        ]
        call.ringing.clear()
        effects.append(Changed(call))
        return effects


def _been_there(call: Call, agent: str) -> bool:
    """The answered call rang or was with `agent` before: their ring or answer now is an old
    event again (a call never goes back to them but by a `transferred` event)."""
    return call.state in _HELD and agent in call.popped


_HANDLERS: dict[EventKind, Callable[[CallReducer, Call, CallEvent], list[Effect]]] = {
    EventKind.QUEUED: CallReducer._on_queued,
    EventKind.RINGING: CallReducer._on_ringing,
    EventKind.MISSED: CallReducer._on_missed,
    EventKind.ANSWERED: CallReducer._on_answered,
    EventKind.TRANSFERRED: CallReducer._on_transferred,
    EventKind.ENDED: CallReducer._on_ended,
    EventKind.ABANDONED: CallReducer._on_abandoned,
    EventKind.UPDATED: CallReducer._on_updated,
}
