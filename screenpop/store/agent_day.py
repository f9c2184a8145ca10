"""One agent's calls of one day, read back from the call log and the rings: the "My calls" list.

A call is the agent's when it rang them (a row in ``call_rings``) or they held it (``calls``
with their id: calls logged before rings were kept, or whose ring rows were lost). Each comes
once, with what it was for this agent: ``answered`` (they took it, even if they transferred it
on), ``missed`` (it rang them and they did not answer: with `reason` ``rang_out``,
``answered_elsewhere`` or ``abandoned``), ``no_answer`` (their own outbound call nobody picked
up) or ``ringing`` (it still rings them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, select

from screenpop.store.schema import RING_ANSWERED, RING_RINGING, Tables

MISSED_REASONS = {"missed": "rang_out", "answered_elsewhere": "answered_elsewhere"}


@dataclass(frozen=True, slots=True)
class AgentCall:
    """One call of the agent's day as the list shows it; times are epoch seconds."""

    source: str
    call_id: str
    direction: str  # "inbound" or "outbound"
    outcome: str  # "answered", "missed", "no_answer" or "ringing"
    reason: str | None  # why it was missed: "rang_out", "answered_elsewhere", "abandoned"
    queue: str | None
    caller_raw: str | None
    caller_e164: str | None
    caller_name: str | None
    rang_at: float
    answered_at: float | None
    ended_at: float | None
    wrap_s: float | None = None  # wrap-up after the call, once the agent closed its card
    customer_id: str | None = None  # the customer an agent picked for the number, if any

    @property
    def talk_s(self) -> float | None:
        """How long this agent talked: answer to end, once the call ended."""
        if self.outcome != RING_ANSWERED or self.answered_at is None or self.ended_at is None:
            return None
        return round(max(0.0, self.ended_at - self.answered_at), 1)


def rings_query(tables: Tables) -> Any:
    """The agent's rings in [start, end) with their call's row, if logged; parameters
    `agent`, `start`, `end`."""
    r, c, picked = tables.rings.c, tables.calls.c, tables.choices.c
    joined = tables.rings.outerjoin(
        tables.calls, and_(c.source == r.source, c.call_id == r.call_id)
    ).outerjoin(tables.choices, picked.caller_e164 == func.coalesce(c.caller_e164, r.caller_e164))
    return (
        select(
            r.source,
            r.call_id,
            r.ring_no,
            r.rang_at,
            r.outcome,
            r.ended_at.label("ring_ended_at"),
            r.outbound,
            r.queue.label("ring_queue"),
            r.caller_e164.label("ring_e164"),
            r.caller_name.label("ring_name"),
            r.wrap_s,
            picked.customer_id,
            c.caller_raw,
            c.caller_e164,
            c.caller_name,
            c.queue,
            c.agent_id,
            c.direction,
            c.answered_at,
            c.ended_at,
        )
        .select_from(joined)
        .where(r.agent_id == _param("agent"), r.rang_at >= _param("start"))
        .where(r.rang_at < _param("end"))
        .order_by(r.rang_at, r.id)
    )


def held_query(tables: Tables) -> Any:
    """The calls the agent held that started in [start, end) (for calls without ring rows)."""
    c, picked = tables.calls.c, tables.choices.c
    return (
        select(
            picked.customer_id,
            c.source,
            c.call_id,
            c.caller_raw,
            c.caller_e164,
            c.caller_name,
            c.queue,
            c.direction,
            c.started_at,
            c.answered_at,
            c.ended_at,
        )
        .select_from(tables.calls.outerjoin(tables.choices, picked.caller_e164 == c.caller_e164))
        .where(c.agent_id == _param("agent"), c.started_at >= _param("start"))
        .where(c.started_at < _param("end"))
    )


def _param(name: str) -> Any:
    return bindparam(name)


def agent_calls(agent: str, rings: Sequence[Any], held: Iterable[Any]) -> list[AgentCall]:
    """The agent's calls, newest first, from the rows of :func:`rings_query` and
    :func:`held_query`."""
    by_call: dict[tuple[str, str], list[Any]] = {}
    for row in rings:
        by_call.setdefault((row.source, row.call_id), []).append(row)
    calls = [_from_rings(agent, group) for group in by_call.values()]
    calls += [_from_held(row) for row in held if (row.source, row.call_id) not in by_call]
    calls.sort(key=lambda call: call.rang_at, reverse=True)
    return calls


def _from_rings(agent: str, group: list[Any]) -> AgentCall:
    first, last = group[0], group[-1]
    outbound = any(row.outbound for row in group) or first.direction == "outbound"
    took = any(row.outcome == RING_ANSWERED for row in group) or (
        first.agent_id == agent and first.answered_at is not None
    )
    outcome, reason = _outcome(last, took, outbound)
    ended_at = first.ended_at
    if outcome != RING_ANSWERED and ended_at is None:
        ended_at = last.ring_ended_at
    return AgentCall(
        source=first.source,
        call_id=first.call_id,
        direction="outbound" if outbound else "inbound",
        outcome=outcome,
        reason=reason,
        queue=first.queue or first.ring_queue,
        caller_raw=first.caller_raw,
        caller_e164=first.caller_e164 or first.ring_e164,
        caller_name=first.caller_name or first.ring_name,
        rang_at=float(first.rang_at),
        answered_at=first.answered_at,
        ended_at=ended_at,
        wrap_s=next((row.wrap_s for row in group if row.wrap_s is not None), None),
        customer_id=first.customer_id,
    )


def _outcome(last: Any, took: bool, outbound: bool) -> tuple[str, str | None]:
    if took:
        return RING_ANSWERED, None
    ring = last.outcome
    if ring == RING_RINGING:
        if last.ended_at is None:  # no end logged: it still rings (or ended unlogged)
            return RING_RINGING, None
        ring = "answered_elsewhere" if last.answered_at is not None else "abandoned"
    if outbound:
        return "no_answer", None
    return "missed", MISSED_REASONS.get(ring, "abandoned")


def _from_held(row: Any) -> AgentCall:
    answered = row.answered_at is not None
    outbound = row.direction == "outbound"
    outcome = RING_ANSWERED if answered else ("no_answer" if outbound else "missed")
    return AgentCall(
        source=row.source,
        call_id=row.call_id,
        direction="outbound" if outbound else "inbound",
        outcome=outcome,
        reason=None if answered or outbound else "abandoned",
        queue=row.queue,
        caller_raw=row.caller_raw,
        caller_e164=row.caller_e164,
        caller_name=row.caller_name,
        rang_at=float(row.started_at),
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        customer_id=row.customer_id,
    )
