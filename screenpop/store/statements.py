"""The store's SQL, built with SQLAlchemy Core: one statement per kind of write, each safe to
run twice (the outbox may deliver a write again after a failure whose answer was lost), and the
caller-history query."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import (
    Double,
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from screenpop.store.callback_table import CLOSED, RETURNED, CallbackRecord, CallbackReturn
from screenpop.store.schema import (
    RING_ANSWERED,
    RING_RINGING,
    AuditRecord,
    CallRecord,
    LogoutRecord,
    NoteRecord,
    PauseRecord,
    RingRecord,
    Tables,
    WrapRecord,
    Write,
)

# The order in which a batch's kinds are written: calls before the rings that join them, both
# before the wraps that update them. A kind not listed goes after these, by first appearance.
KIND_ORDER: tuple[type[Write], ...] = (
    CallRecord,
    RingRecord,
    WrapRecord,  # reads the calls' ends and the rings
    NoteRecord,
    LogoutRecord,
    PauseRecord,
    CallbackRecord,
    CallbackReturn,  # closes the items made before it (by their created_at, not batch order)
    AuditRecord,  # depends on nothing: last, one executemany however many pops
)


class WriteStatements:
    """The statement for each kind of write, built once per dialect and run with each write's
    values as parameters. Building one per write would cost more than running it, and each
    `excluded` alias it makes is a lump of objects in reference cycles for the collector."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._built: dict[tuple[str, type[Write]], Any] = {}

    def apply(self, conn: AsyncConnection, items: Sequence[Write]) -> list[tuple[Any, Any]]:
        """(statement, parameters) to execute for `items`: one executemany per kind, in
        KIND_ORDER, each kind's writes in their order. Every statement is an upsert that keeps
        the newest of what it is given, so only the order within a kind matters, and that of
        calls and rings before the wraps that read them."""
        groups: dict[type[Write], list[dict[str, Any]]] = {kind: [] for kind in KIND_ORDER}
        for item in items:
            groups.setdefault(type(item), []).append(_values(item))
        dialect = conn.dialect.name
        return [
            (statement, rows)
            for kind, rows in groups.items()
            if rows
            for statement in self._statements(dialect, kind)
        ]

    def _statements(self, dialect: str, kind: type[Write]) -> tuple[Any, ...]:
        key = (dialect, kind)
        if key not in self._built:
            built = self._build(dialect, kind)
            self._built[key] = built if isinstance(built, tuple) else (built,)
        return self._built[key]  # type: ignore[no-any-return]

    def _build(self, dialect: str, kind: type[Write]) -> Any:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        t = self._tables
        if kind is CallRecord:
            return _upsert_call(insert(t.calls), t)
        if kind is RingRecord:
            return _upsert_ring(insert(t.rings), t)
        if kind is WrapRecord:
            return _set_wrap(t), _sum_wrap(t)
        if kind is NoteRecord:
            return insert(t.notes).on_conflict_do_nothing(index_elements=[t.notes.c.note_id])
        if kind is AuditRecord:  # append only: the same row again is the one already there
            return insert(t.audit).on_conflict_do_nothing(index_elements=[t.audit.c.audit_id])
        if kind is CallbackRecord:
            keys = [t.callbacks.c.source, t.callbacks.c.call_id]
            return insert(t.callbacks).on_conflict_do_nothing(index_elements=keys)  # state: open
        if kind is CallbackReturn:
            return _close_returned(t)
        if kind is PauseRecord:
            keys = [t.pauses.c.agent_id, t.pauses.c.started_at]
            return insert(t.pauses).on_conflict_do_nothing(index_elements=keys)
        ins = insert(t.logouts)
        larger = func.greatest if dialect == "postgresql" else func.max
        latest = larger(t.logouts.c.not_before_ms, ins.excluded.not_before_ms)
        changes = {"not_before_ms": latest, "expires_at": ins.excluded.expires_at}
        return ins.on_conflict_do_update(index_elements=["agent_id"], set_=changes)


_NAMES: dict[type, tuple[str, ...]] = {}  # each record kind's field names


def _values(item: Write) -> dict[str, Any]:
    # the record's fields as they are (all flat values): asdict would copy each one deeply
    kind = type(item)
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(f.name for f in fields(item))
    values = {name: getattr(item, name) for name in names}
    if isinstance(item, WrapRecord | CallbackReturn):  # an UPDATE's parameters may not be named
        values = {f"w_{name}": value for name, value in values.items()}  # like its columns
    if isinstance(item, CallRecord):
        values["started_at"] = _first_time(item)
    return values


def _upsert_call(ins: Any, tables: Tables) -> Any:
    """Insert or update the call's row; an older write never undoes a newer one."""
    c = tables.calls.c
    new = ins.excluded
    outdated = and_(c.ended_at.is_not(None), new.ended_at.is_(None))  # arrived out of order

    def newest(col: str) -> Any:
        return case((outdated, c[col]), else_=func.coalesce(new[col], c[col]))

    changes = {
        "caller_raw": func.coalesce(func.nullif(new.caller_raw, ""), c.caller_raw),
        "caller_e164": func.coalesce(new.caller_e164, c.caller_e164),
        "caller_name": func.coalesce(new.caller_name, c.caller_name),
        "queue": newest("queue"),
        "agent_id": newest("agent_id"),
        "state": newest("state"),
        "direction": new.direction,
        "started_at": func.coalesce(c.started_at, new.started_at),
        "answered_at": func.coalesce(c.answered_at, new.answered_at),
        "ended_at": func.coalesce(new.ended_at, c.ended_at),
        "transfers": case((new.transfers > c.transfers, new.transfers), else_=c.transfers),
    }
    return ins.on_conflict_do_update(index_elements=[c.source, c.call_id], set_=changes)


def _upsert_ring(ins: Any, tables: Tables) -> Any:
    """Insert or update one ring; its first time stays, a final outcome is never replaced."""
    c = tables.rings.c
    new = ins.excluded
    settled = c.outcome != RING_RINGING
    changes = {
        "outcome": case((settled, c.outcome), else_=new.outcome),
        "ended_at": case((settled, c.ended_at), else_=func.coalesce(new.ended_at, c.ended_at)),
        "outbound": c.outbound | new.outbound,
        "queue": func.coalesce(c.queue, new.queue),
        "caller_e164": func.coalesce(c.caller_e164, new.caller_e164),
        "caller_name": func.coalesce(c.caller_name, new.caller_name),
        "talk_s": func.coalesce(c.talk_s, new.talk_s),
    }
    keys = [c.source, c.call_id, c.agent_id, c.ring_no]
    return ins.on_conflict_do_update(index_elements=keys, set_=changes)


def _last_answered(tables: Tables, column: str) -> Any:
    """`column` ("ring" or "call": the row id) of the agent's answered ring of the call they held
    that ended last before the ready (parameters `w_agent_id`, `w_at`)."""
    rings, calls = tables.rings, tables.calls
    inner = rings.alias("answered")
    held = calls.alias("held")
    at = bindparam("w_at", type_=Double)
    picked = inner.c.id if column == "ring" else held.c.id
    return (
        select(picked)
        .select_from(
            inner.join(
                held, and_(held.c.source == inner.c.source, held.c.call_id == inner.c.call_id)
            )
        )
        .where(inner.c.agent_id == bindparam("w_agent_id"), inner.c.outcome == RING_ANSWERED)
        .where(held.c.ended_at.is_not(None), held.c.ended_at <= at)
        .order_by(held.c.ended_at.desc(), inner.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _set_wrap(tables: Tables) -> Any:
    """Set the wrap-up of the agent's answered ring of the call they held that ended last
    before the ready, once: writing it again, or a later ready, changes nothing."""
    rings, calls = tables.rings, tables.calls
    at, most = bindparam("w_at", type_=Double), bindparam("w_max_s", type_=Double)
    ended = (
        select(calls.c.ended_at)
        .where(calls.c.source == rings.c.source, calls.c.call_id == rings.c.call_id)
        .scalar_subquery()
    )
    wrap = case((at - ended > most, most), else_=at - ended)
    return (
        rings.update()
        .where(rings.c.id == _last_answered(tables, "ring"), rings.c.wrap_s.is_(None))
        .values(wrap_s=case((wrap < 0, 0.0), else_=wrap))
    )


def _close_returned(tables: Tables) -> Any:
    """Close the caller's items made before their answered call as returned, once. No IN
    (...) here: its expanding parameter cannot run in an executemany."""
    c = tables.callbacks.c
    at = bindparam("w_at", type_=Double)
    return (
        tables.callbacks.update()
        .where(c.e164 == bindparam("w_e164"), c.state != CLOSED, c.created_at <= at)
        .values(
            state=CLOSED,
            closed_by=RETURNED,
            closed_at=at,
            call_back_call_id=bindparam("w_call_id"),
        )
    )


def _sum_wrap(tables: Tables) -> Any:
    """After :func:`_set_wrap`: that call's wrap-up, the sum of its agents', on its row (for
    reports); computed again, so writing it twice changes nothing."""
    rings, calls = tables.rings, tables.calls
    total = (
        select(func.sum(rings.c.wrap_s))
        .where(rings.c.source == calls.c.source, rings.c.call_id == calls.c.call_id)
        .scalar_subquery()
    )
    return calls.update().where(calls.c.id == _last_answered(tables, "call")).values(wrap_s=total)


def _first_time(rec: CallRecord) -> float:
    for ts in (rec.started_at, rec.answered_at, rec.ended_at):
        if ts is not None:
            return ts
    return time.time()


def history_query(tables: Tables) -> Any:
    """The caller's logged calls with their notes, and their notes on calls not in the log,
    for the parameters `e164` and `history_limit`. One statement, so both halves see the same
    snapshot: with two, a call logged in between would hide its notes from both (SQLite runs
    each SELECT on its own)."""
    e164 = bindparam("e164", type_=String)
    limit = bindparam("history_limit", type_=Integer)
    calls, notes = tables.calls, tables.notes
    noted = (notes.c.disposition, notes.c.text, notes.c.at.label("note_at"))
    logged = (
        select(calls.c.call_id, calls.c.started_at, calls.c.state, calls.c.queue)
        .add_columns(func.coalesce(notes.c.agent_id, calls.c.agent_id).label("agent"), *noted)
        .select_from(calls.outerjoin(notes, notes.c.call_id == calls.c.call_id))
        .where(calls.c.caller_e164 == e164)
        .order_by(calls.c.started_at.desc(), calls.c.id.desc())
        .order_by(notes.c.at.desc(), notes.c.id.desc())
    )
    orphans = (  # state and queue are NULL: same row shape as `logged`
        select(notes.c.call_id, notes.c.at.label("started_at"), calls.c.state, calls.c.queue)
        .add_columns(notes.c.agent_id.label("agent"), *noted)
        .select_from(notes.outerjoin(calls, calls.c.call_id == notes.c.call_id))
        .where(notes.c.caller_e164 == e164, calls.c.id.is_(None))
        .order_by(notes.c.at.desc(), notes.c.id.desc())
    )
    return union_all(
        select(logged.limit(limit).subquery(), literal(False).label("orphan")),
        select(orphans.limit(limit).subquery(), literal(True).label("orphan")),
    )
