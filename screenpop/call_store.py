"""The `CallStore` seam: the tracker's call state, one aggregate (:class:`Call`) per call id.

The pipeline loads a call's aggregate, lets the pure reducer advance it, and saves it back, one
event at a time per call. In-process today (:class:`MemoryCallStore`); a store shared by several
nodes (Redis) implements the same protocol so that a node taking over a PBX link finds its calls.
What only one process can hold (the card build's task, the call's courier) stays beside it, in
the pipeline's per-call runtime.
"""

from __future__ import annotations

from typing import Protocol

from screenpop.call_table import CallTable
from screenpop.calls import Call


class CallStore(Protocol):
    """Where calls live between events. Callers serialise the events of one call (load, advance,
    save, then the next event of that call)."""

    async def load(self, call_id: str) -> Call | None:
        """The call as last saved; None if never seen. An ended call is found (at least by its
        id, source and final state) for as long as the reducer must ignore its late events:
        `ENDED_REMEMBERED_S` after its end, for the latest `ENDED_REMEMBERED` ended calls."""
        ...

    async def save(self, call: Call) -> None:
        """Keep the call's new state (an ended one for a while: see :meth:`load`)."""
        ...

    async def active_for(self, agent_id: str) -> list[Call]:
        """Calls ringing for or held by the agent, oldest first."""
        ...


class MemoryCallStore:
    """The in-process store: a :class:`CallTable`. `table` is its synchronous read view (tests,
    the process that owns it)."""

    def __init__(self, table: CallTable | None = None) -> None:
        self.table = table if table is not None else CallTable()

    async def load(self, call_id: str) -> Call | None:
        return self.table.get(call_id)

    async def save(self, call: Call) -> None:
        self.table.put(call)

    async def active_for(self, agent_id: str) -> list[Call]:
        return self.table.active_for(agent_id)
