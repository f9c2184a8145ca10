"""Calls by id in memory (:class:`CallTable`), and the reducer over one (:class:`CallTracker`).

The in-process `CallStore` keeps its calls in a table; the tracker is the reducer and its own
table for sans-I/O use (replays, the mappers' tests). Both stay sans-I/O.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from screenpop.calls import Call, CallReducer, Effect
from screenpop.events import CallEvent, CallState

RECENTLY_CLOSED = 2048  # ended calls kept whole (a note or a pick on a call in wrap-up)
ENDED_REMEMBERED = 100_000  # ids of ended calls remembered, so their late events change nothing
ENDED_REMEMBERED_S = 86_400.0  # ... for a day: longer than any webhook's replay window


@dataclass(frozen=True, slots=True)
class _Ended:
    """What is left of an ended call once it is no longer kept whole: enough to ignore it."""

    source: str
    state: CallState
    ended_at: float | None
    forget_at: float  # the table's clock


class CallTable:
    """Calls by id, in memory: the active ones, the latest ended ones whole, and the ids of the
    ended ones for longer (so that their late events are recognised and ignored). The in-process
    `CallStore` keeps its calls here; :class:`CallTracker` too.

    An ended id is forgotten `remember_s` seconds (by `clock`) after the call ended, or sooner
    when more than `remember` calls ended since; only then may a call with that id start again.
    """

    def __init__(
        self,
        keep_closed: int = RECENTLY_CLOSED,
        *,
        remember: int = ENDED_REMEMBERED,
        remember_s: float = ENDED_REMEMBERED_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.active: dict[str, Call] = {}
        self._closed: OrderedDict[str, Call] = OrderedDict()
        self._ended: OrderedDict[str, _Ended] = OrderedDict()  # oldest end first
        self._keep_closed = keep_closed
        self._remember = max(remember, keep_closed)
        self._remember_s = remember_s
        self._clock = clock

    def get(self, call_id: str) -> Call | None:
        """The call, active or ended; None if never seen (or forgotten). A call ended a while
        ago comes back as its id, source and final state only (nothing else is kept)."""
        call = self.active.get(call_id)
        if call is not None:
            return call
        ended = self._ended.get(call_id)  # every closed call is here too
        if ended is None or ended.forget_at <= self._clock():
            return None
        whole = self._closed.get(call_id)
        if whole is not None:
            return whole
        return Call(call_id, ended.source, state=ended.state, ended_at=ended.ended_at)

    def put(self, call: Call) -> None:
        """Keep the call's latest state; an ended call moves to the recently closed."""
        if call.active:
            self.active[call.call_id] = call
            return
        self.active.pop(call.call_id, None)
        self._closed[call.call_id] = call
        self._closed.move_to_end(call.call_id)
        while len(self._closed) > self._keep_closed:
            self._closed.popitem(last=False)
        now = self._clock()
        self._ended[call.call_id] = _Ended(
            call.source, call.state, call.ended_at, now + self._remember_s
        )
        self._ended.move_to_end(call.call_id)
        self._forget(now)

    def _forget(self, now: float) -> None:
        while self._ended:
            call_id, oldest = next(iter(self._ended.items()))
            if len(self._ended) <= self._remember and oldest.forget_at > now:
                return
            del self._ended[call_id]
            self._closed.pop(call_id, None)

    def active_for(self, agent_id: str) -> list[Call]:
        """Calls ringing for or held by the agent, oldest first."""
        return [c for c in self.active.values() if agent_id in c.ringing or c.agent == agent_id]


class CallTracker(CallReducer):
    """The reducer over its own in-memory :class:`CallTable`: feed events, read calls. For
    sans-I/O use (replays, mappers' tests); the daemon's pipeline pairs a reducer with a
    `CallStore` instead."""

    def __init__(
        self, match_agent: Callable[[str | None], str | None], table: CallTable | None = None
    ) -> None:
        super().__init__(match_agent)
        self.table = table if table is not None else CallTable()

    @property
    def calls(self) -> dict[str, Call]:
        """The active calls by id."""
        return self.table.active

    def get(self, call_id: str) -> Call | None:
        return self.table.get(call_id)

    def active_for(self, agent_id: str) -> list[Call]:
        """Calls ringing for or held by the agent, oldest first."""
        return self.table.active_for(agent_id)

    def feed(self, event: CallEvent) -> list[Effect]:
        """Apply one event; returns the effects in the order they must happen."""
        call, effects = self.advance(self.table.get(event.call_id), event)
        if call is not None:
            self.table.put(call)
        return effects
