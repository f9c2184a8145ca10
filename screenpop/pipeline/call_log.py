"""The call log: one record per call change worth keeping, and one per ring of a call on an
agent's phone, queued on the store writer (which writes them in order, in batches, through the
outbox when the store is away), so the pop path never awaits the database."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from screenpop.callback_rules import callback_writes
from screenpop.callback_settings import CallbackSettings
from screenpop.calls import Call
from screenpop.card import find_candidates, summarize
from screenpop.events import AgentCallState
from screenpop.pipeline.records import call_end_item
from screenpop.pipeline.runtime import CallRuntimes
from screenpop.store import CallRecord
from screenpop.store.schema import RING_ANSWERED, RING_RINGING, RingRecord
from screenpop.store.writer import StoreWriter
from screenpop.writeback import Writeback

# How a ring ends, by what the agent is told; an agent who had the call took its ring.
RING_OUTCOME = {
    AgentCallState.ANSWERED: RING_ANSWERED,
    AgentCallState.ENDED: RING_ANSWERED,
    AgentCallState.TRANSFERRED: RING_ANSWERED,
    AgentCallState.MISSED: "missed",
    AgentCallState.ANSWERED_ELSEWHERE: "answered_elsewhere",
    AgentCallState.ABANDONED: "abandoned",
}

LEFT_THEM = frozenset({AgentCallState.ENDED, AgentCallState.TRANSFERRED})  # the agent's talk ends
RingKey = tuple[str, str, str, int]


class CallLogWriter:
    """Turns calls into call-log rows and rings into ring rows; queues them on the writer."""

    def __init__(
        self,
        writer: StoreWriter,
        runtimes: CallRuntimes,
        writeback: Writeback | None = None,
        callbacks: Callable[[], CallbackSettings] = CallbackSettings,
    ) -> None:
        self._writer = writer
        self._callbacks = callbacks  # the live `[callbacks]`
        self._writeback = writeback  # a call's end goes to the recording connectors
        self._runtimes = runtimes
        self._rang_at: dict[RingKey, float] = {}  # rings in progress: when each started

    def write(self, call: Call) -> None:
        """Log the call as it is now (a newer record of a call replaces an older one)."""
        self._writer.queue(self.record(call))
        for item in callback_writes(
            call, self._caller_e164(call), self._summary(call), self._callbacks()
        ):
            self._writer.queue(item)
        if not call.active and self._writeback is not None:
            self._writeback.put_later(call_end_item(call, self._caller_e164(call), self._runtimes))
        if not call.active:
            for key in [k for k in self._rang_at if k[:2] == (call.source, call.call_id)]:
                del self._rang_at[key]

    def rang(self, call: Call, agent_id: str, at: float) -> None:
        """The call's card popped for `agent_id` at `at`: their phone rings (or they took a
        call that never rang them, or it was transferred to them)."""
        key = self._key(call, agent_id)
        self._rang_at[key] = at
        self._writer.queue(self._ring(call, key, RING_RINGING, None))

    def ring_over(self, call: Call, agent_id: str, state: AgentCallState, at: float) -> None:
        """The agent was told the call changed: how their latest ring of it ended."""
        outcome = RING_OUTCOME.get(state)
        if outcome is None:
            return
        if outcome == "abandoned" and call.outbound:
            outcome = "unanswered"
        key = self._key(call, agent_id)
        ring = self._ring(call, key, outcome, at)
        if state in LEFT_THEM:  # talk: from the answer, or the transfer to them, to now
            got_it = max(ring.rang_at, call.answered_at or at)
            ring = dataclasses.replace(ring, talk_s=round(max(0.0, at - got_it), 3))
        self._writer.queue(ring)

    def _key(self, call: Call, agent_id: str) -> RingKey:
        # the tracker appends the agent to `popped` on each ring: the latest ring's number
        return (call.source, call.call_id, agent_id, max(1, call.popped.count(agent_id)))

    def _ring(self, call: Call, key: RingKey, outcome: str, ended: float | None) -> RingRecord:
        rang_at = self._rang_at.get(key, ended if ended is not None else call.started_at)
        caller = self._caller_e164(call)
        return RingRecord(
            *key,
            rang_at=rang_at,
            outcome=outcome,
            ended_at=ended,
            outbound=call.outbound,
            queue=call.queue,
            caller_e164=caller,
            caller_name=call.caller_name,
        )

    def _summary(self, call: Call) -> dict[str, Any]:
        """The caller's card summary (every section's), for a callback item."""
        runtime = self._runtimes.get(call.call_id)
        if runtime is None or runtime.build is None or call.active:
            return {}
        card = runtime.build.card
        candidates = find_candidates(card.sections, card.priorities)
        return summarize(card.sections, card.priorities, card.chosen, candidates)

    def _caller_e164(self, call: Call) -> str | None:
        runtime = self._runtimes.get(call.call_id)
        caller = runtime.caller if runtime is not None else None
        return caller.e164 if caller and caller.lookupable else None

    def record(self, call: Call) -> CallRecord:
        """The call's row: what the tracker knows, with the caller as the card build read it."""
        return CallRecord(
            source=call.source,
            call_id=call.call_id,
            caller_raw=call.caller or "",
            caller_e164=self._caller_e164(call),
            caller_name=call.caller_name,
            queue=call.queue,
            agent_id=call.agent,
            state=str(call.state),
            direction="outbound" if call.outbound else "inbound",
            started_at=call.started_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
            transfers=call.transfers,
        )
