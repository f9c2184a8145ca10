"""Callback items in the store (:mod:`screenpop.store.callback_table`): reading them, and the
changes agents make, each one statement that says in SQL whether it may happen.

Taking an item is ``UPDATE ... WHERE id = :id AND state = 'open' RETURNING ...``: of two agents
taking one item at once (on one node or two), the database lets exactly one update it; the other
gets no row back and is told who has it. This works on SQLite (3.35 and later) and PostgreSQL.
Every statement is built once, when the store is made, and run with parameters.

New items and a caller's return are written by the store writer (through the outbox), not here.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Double, Integer, String, Table, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from screenpop.errors import StoreError
from screenpop.store.call_log import Store
from screenpop.store.callback_table import BY_AGENT, CLOSED, OPEN, RETURNED, TAKEN
from screenpop.store.schema import iso

OPEN_LIMIT = 500  # open and taken items shown at most (oldest first)


@dataclass(frozen=True, slots=True)
class CallbackItem:
    """One item as the store holds it; times are epoch seconds."""

    id: int
    source: str
    call_id: str
    queue: str
    e164: str
    name: str | None
    customer_id: str | None
    reason: str
    waited_s: float
    created_at: float
    state: str
    taken_by: str | None
    taken_at: float | None
    closed_at: float | None
    disposition: str | None
    closed_by: str | None
    call_back_call_id: str | None
    called_back_at: float | None

    def to_json(self) -> dict[str, Any]:
        """The item as the pages get it (README, "Callbacks")."""

        def at(ts: float | None) -> str | None:
            return None if ts is None else iso(ts)

        return {
            "id": self.id,
            "queue": self.queue,
            "e164": self.e164,
            "summary": {"name": self.name, "customer_id": self.customer_id},
            "reason": self.reason,
            "waited_s": round(self.waited_s, 1),
            "created_at": iso(self.created_at),
            "state": self.state,
            "taken_by": self.taken_by,
            "taken_at": at(self.taken_at),
            "closed_at": at(self.closed_at),
            "disposition": self.disposition,
            "closed_by": self.closed_by,
            "call_back_call_id": self.call_back_call_id,
        }


class Refused(ValueError):
    """A change the item's state does not allow; the message is safe to show the agent and
    `reason` names why in a word: unknown, taken (by another agent), closed, not_yours."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """One queue's callbacks over a period: made, called back by an agent, returned by the
    caller, still open (or taken), and the time from the item to the agent's call back."""

    queue: str
    created: int
    called_back: int
    returned: int
    open: int
    median_s: float | None
    p90_s: float | None

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class CallbackStore:
    """Callback items in `store`'s database; failures are StoreError."""

    def __init__(self, store: Store) -> None:
        self._store = store
        t = store.tables.callbacks
        c = t.c
        self._columns = [c[f.name] for f in fields(CallbackItem)]
        item_id, agent = bindparam("item_id", type_=Integer), bindparam("agent", type_=String)
        at = bindparam("at", type_=Double)
        self._open = (
            select(*self._columns)
            .where(c.state.in_((OPEN, TAKEN)))
            .order_by(c.created_at, c.id)
            .limit(OPEN_LIMIT)
        )
        self._one = select(*self._columns).where(c.id == item_id)
        mine = and_(c.id == item_id, c.state == TAKEN, c.taken_by == agent)
        self._take = (
            t.update()
            .where(c.id == item_id, c.state == OPEN)
            .values(state=TAKEN, taken_by=agent, taken_at=at)
            .returning(*self._columns)
        )
        self._release = (
            t.update()
            .where(mine)
            .values(state=OPEN, taken_by=None, taken_at=None)
            .returning(*self._columns)
        )
        self._close = (
            t.update()
            .where(or_(mine, and_(c.id == item_id, c.state == OPEN)))
            .values(
                state=CLOSED,
                closed_by=BY_AGENT,
                closed_at=at,
                disposition=bindparam("disp", type_=String),
                taken_by=agent,
            )
            .returning(*self._columns)
        )
        self._called_back = (
            t.update()
            .where(mine)
            .values(call_back_call_id=bindparam("back_call_id", type_=String), called_back_at=at)
            .returning(*self._columns)
        )
        self._period = period_query(t)
        self._purge = t.delete().where(c.created_at < bindparam("before", type_=Double))
        self._forget = t.delete().where(c.e164 == bindparam("e164", type_=String))

    # -- reading ----------------------------------------------------------------------------

    async def open_items(self) -> list[CallbackItem]:
        """Every open or taken item (at most OPEN_LIMIT), oldest first."""
        async with self._store.connection("read callbacks") as conn:
            rows = (await conn.execute(self._open)).all()
        return [CallbackItem(*row) for row in rows]

    async def get(self, item_id: int) -> CallbackItem | None:
        async with self._store.connection("read a callback") as conn:
            row = (await conn.execute(self._one, {"item_id": item_id})).first()
        return None if row is None else CallbackItem(*row)

    # -- what agents do ---------------------------------------------------------------------

    async def take(self, item_id: int, agent_id: str, at: float) -> CallbackItem:
        """`agent_id` has the item now. Refused when it is not open (taken by another, closed)
        or unknown: of two agents taking it at once, one gets it and the other is refused."""
        params = {"item_id": item_id, "agent": agent_id, "at": at}
        return await self._change("take a callback", self._take, params, agent_id)

    async def release(self, item_id: int, agent_id: str) -> CallbackItem:
        """The item is open again. Refused unless `agent_id` has it."""
        params = {"item_id": item_id, "agent": agent_id}
        return await self._change("release a callback", self._release, params, agent_id)

    async def close(self, item_id: int, agent_id: str, disposition: str, at: float) -> CallbackItem:
        """The agent is done with the item (open, or theirs) with `disposition`."""
        params = {"item_id": item_id, "agent": agent_id, "disp": disposition, "at": at}
        return await self._change("close a callback", self._close, params, agent_id)

    async def called_back(
        self, item_id: int, agent_id: str, call_id: str, at: float
    ) -> CallbackItem:
        """The agent who has the item dialled the caller: the call `call_id` is linked to it."""
        params = {"item_id": item_id, "agent": agent_id, "back_call_id": call_id, "at": at}
        return await self._change("link a call back", self._called_back, params, agent_id)

    async def check_mine(self, item_id: int, agent_id: str) -> CallbackItem:
        """The item, if `agent_id` has it; Refused otherwise."""
        item = await self.get(item_id)
        if item is None or item.state != TAKEN or item.taken_by != agent_id:
            raise _refusal(item, agent_id)
        return item

    async def _change(
        self, what: str, statement: Any, params: dict[str, Any], agent_id: str
    ) -> CallbackItem:
        async with self._store.connection(what, write=True) as conn:
            row = (await conn.execute(statement, params)).first()
        if row is not None:
            return CallbackItem(*row)
        raise _refusal(await self.get(int(params["item_id"])), agent_id)

    # -- retention --------------------------------------------------------------------------

    async def purge_before(self, before: float) -> int:
        """Delete the items made before `before` (epoch seconds), whatever their state; how
        many went."""
        async with self._store.connection("purge callbacks", write=True) as conn:
            return _count(await conn.execute(self._purge, {"before": before}))

    async def forget(self, e164: str) -> int:
        """Delete every item of the caller `e164`; how many went."""
        async with self._store.connection("forget callbacks", write=True) as conn:
            return _count(await conn.execute(self._forget, {"e164": e164}))

    # -- reports ----------------------------------------------------------------------------

    async def figures(
        self, start: float, end: float, queue: str | None = None
    ) -> list[QueueFigures]:
        """Per queue (one queue with `queue`), the items made in [start, end): see
        :class:`QueueFigures`. Queues in name order."""
        async with self._store.connection("read callback figures") as conn:
            return await read_figures(conn, self._period, start, end, queue)


def period_query(table: Table) -> Any:
    """The items made in [start, end) (parameters `start`, `end`), as figures count them."""
    c = table.c
    start, end = bindparam("start", type_=Double), bindparam("end", type_=Double)
    return select(
        c.queue, c.created_at, c.state, c.closed_by, c.call_back_call_id, c.called_back_at
    ).where(c.created_at >= start, c.created_at < end)


async def read_figures(
    conn: AsyncConnection, period: Any, start: float, end: float, queue: str | None
) -> list[QueueFigures]:
    """:meth:`CallbackStore.figures` on a connection of the caller's (reports), `period`
    being :func:`period_query` of the callbacks table."""
    rows = (await conn.execute(period, {"start": start, "end": end})).all()
    by_queue: dict[str, list[Any]] = {}
    for row in rows:
        if queue is None or row.queue == queue:
            by_queue.setdefault(row.queue, []).append(row)
    return [figures_of(name, by_queue[name]) for name in sorted(by_queue)]


def figures_of(queue: str, rows: Sequence[Any]) -> QueueFigures:
    called = [
        r for r in rows if r.closed_by == BY_AGENT and r.call_back_call_id and r.called_back_at
    ]
    waits = sorted(r.called_back_at - r.created_at for r in called)
    return QueueFigures(
        queue=queue,
        created=len(rows),
        called_back=len(called),
        returned=sum(1 for r in rows if r.closed_by == RETURNED),
        open=sum(1 for r in rows if r.state in (OPEN, TAKEN)),
        median_s=round(statistics.median(waits), 1) if waits else None,
        p90_s=round(_nearest_rank(waits, 0.9), 1) if waits else None,
    )


def _nearest_rank(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of sorted values (the p90 of 10 values is the 9th)."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _refusal(item: CallbackItem | None, agent_id: str) -> Refused:
    """Why `agent_id` may not change `item` (as it is now)."""
    if item is None:
        return Refused("unknown callback", "unknown")
    if item.state == CLOSED:
        return Refused("this callback is closed already", "closed")
    if item.state == TAKEN and item.taken_by != agent_id:
        return Refused(f"already taken by {item.taken_by}", "taken")
    if item.state == TAKEN:
        return Refused("you have this callback already", "not_yours")
    return Refused("take this callback first", "not_yours")


def _count(result: Any) -> int:
    count = result.rowcount
    if count is None or count < 0:
        raise StoreError("the database did not say how many callbacks were deleted")
    return int(count)
