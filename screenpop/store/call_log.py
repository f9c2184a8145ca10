"""The call log and agent notes, through SQLAlchemy 2 (Core, async).

SQLite via aiosqlite is the default (``sqlite+aiosqlite:///screenpop.db``); PostgreSQL via asyncpg
(``postgresql+asyncpg://...``) for production. The tables (:mod:`screenpop.store.schema`) are
created if missing by :meth:`Store.start`.

Every database failure (including an unreachable server and a slow one, bounded by ``timeout_s``)
is raised as :class:`~screenpop.errors.StoreError`, whose message never contains the URL's password
nor the statement's parameters (phone numbers, note text).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import fields
from typing import Any

from sqlalchemy import (
    Integer,
    MetaData,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from screenpop.errors import StoreError
from screenpop.store.database import create_engine, password_of, upsert_insert
from screenpop.store.schema import (
    DISPOSITION_MAX_CHARS,
    HISTORY_FIELDS,
    CallRecord,
    build_tables,
    iso,
)

log = logging.getLogger(__name__)

NOTE_MAX_CHARS = 4000  # a longer note is refused with StoreError, never silently cut
STORE_TIMEOUT_S = 5.0


class Store:
    """The call log. ``await start()`` once, ``await aclose()`` once; failures are StoreError."""

    def __init__(
        self, url: str, *, table_prefix: str = "", timeout_s: float = STORE_TIMEOUT_S
    ) -> None:
        self._url = url
        self._password = password_of(url)
        self._timeout = timeout_s
        self._metadata = MetaData()
        self.tables = build_tables(self._metadata, table_prefix)
        self._engine: AsyncEngine | None = None
        # Built once: a card's history is read on every call, and building the statement costs
        # more than running it (this runs on the event loop beside the pops).
        self._history_statement = self._history_query()
        c = self.tables.choices.c
        self._choice_statement = select(c.customer_id).where(c.caller_e164 == bindparam("e164"))

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the engine and create the tables that are missing."""
        async with self._guard("start"):
            engine = self._engine = create_engine(self._url)
            async with engine.begin() as conn:
                await conn.run_sync(self._metadata.create_all)

    async def aclose(self) -> None:
        """Close every pooled connection."""
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()

    async def ping(self) -> None:
        """One round trip to the database (for /readyz)."""
        async with self._connect("ping") as conn:
            await conn.execute(select(1))

    async def drop_tables(self) -> None:
        """Drop this store's tables (tests, uninstall)."""
        async with self._connect("drop tables", write=True) as conn:
            await conn.run_sync(self._metadata.drop_all)

    # -- calls ------------------------------------------------------------------------------

    async def record_call(self, rec: CallRecord) -> None:
        """Insert or update the call's row; an older write never undoes a newer one."""
        values = {f.name: getattr(rec, f.name) for f in fields(CallRecord)}
        values["started_at"] = _first_time(rec)
        async with self._connect("record call", write=True) as conn:
            await conn.execute(self._upsert_call(conn, values))

    def _upsert_call(self, conn: AsyncConnection, values: Mapping[str, Any]) -> Any:
        c = self.tables.calls.c
        ins = upsert_insert(conn, self.tables.calls).values(**values)
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
        }
        return ins.on_conflict_do_update(index_elements=[c.source, c.call_id], set_=changes)

    async def calls_since(self, epoch: float) -> list[CallRecord]:
        """Calls that started at or after `epoch`, oldest first (to rebuild today's board)."""
        c = self.tables.calls.c
        query = select(*(c[f.name] for f in fields(CallRecord))).where(c.started_at >= epoch)
        async with self._connect("read calls") as conn:
            rows = (await conn.execute(query.order_by(c.started_at, c.id))).all()
        return [CallRecord(*row) for row in rows]

    # -- history and notes ------------------------------------------------------------------

    async def history(self, e164: str, limit: int) -> list[dict[str, Any]]:
        """The caller's last `limit` entries, newest call first.

        A call appears once per note (latest note first), or once with ``disposition`` and
        ``text`` None when it has none; ``at`` is when the call started. A note on a call that
        is not in the log appears on its own, ``at`` being the note's time. ``agent`` is the
        note's author, or the call's agent for a call without notes.
        """
        if limit <= 0:
            return []
        params = {"e164": e164, "history_limit": limit}
        async with self._connect("read history") as conn:
            rows = (await conn.execute(self._history_statement, params)).all()
        entries = [
            (row.note_at if row.orphan else row.started_at, row.note_at or 0.0, _history_entry(row))
            for row in rows
        ]
        entries.sort(key=lambda e: (e[0], e[1]), reverse=True)  # stable: keeps id order on ties
        return [entry for _, _, entry in entries[:limit]]

    def _history_query(self) -> Any:
        """The caller's logged calls with their notes, and their notes on calls not in the log,
        for the parameters `e164` and `history_limit`. One statement, so both halves see the same
        snapshot: with two, a call logged in between would hide its notes from both (SQLite runs
        each SELECT on its own)."""
        e164 = bindparam("e164", type_=String)
        limit = bindparam("history_limit", type_=Integer)
        calls, notes = self.tables.calls, self.tables.notes
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

    async def add_note(
        self, call_id: str, e164: str | None, agent_id: str, disposition: str, text: str
    ) -> dict[str, Any]:
        """Save an agent's note; returns it as ``{"call_id","at","agent","disposition","text"}``.

        A text over NOTE_MAX_CHARS or a disposition over DISPOSITION_MAX_CHARS is refused with
        StoreError (nothing is truncated).
        """
        if len(text) > NOTE_MAX_CHARS:
            raise StoreError(f"note too long: {len(text)} characters, at most {NOTE_MAX_CHARS}")
        if len(disposition) > DISPOSITION_MAX_CHARS:
            raise StoreError(f"disposition longer than {DISPOSITION_MAX_CHARS} characters")
        at = time.time()
        row = {"call_id": call_id, "caller_e164": e164, "agent_id": agent_id}
        async with self._connect("save note", write=True) as conn:
            insert = self.tables.notes.insert()
            await conn.execute(insert.values(**row, disposition=disposition, text=text, at=at))
        return _note(call_id, at, agent_id, disposition, text)

    async def notes_for(self, call_id: str) -> list[dict[str, Any]]:
        """The notes on one call, newest first."""
        n = self.tables.notes.c
        query = (
            select(n.call_id, n.at, n.agent_id, n.disposition, n.text)
            .where(n.call_id == call_id)
            .order_by(n.at.desc(), n.id.desc())
        )
        async with self._connect("read notes") as conn:
            rows = (await conn.execute(query)).all()
        return [_note(*row) for row in rows]

    # -- chosen customers -------------------------------------------------------------------

    async def remember_choice(self, e164: str, customer_id: str, agent_id: str | None) -> None:
        """Remember that `customer_id` is the one calling from `e164` (the latest pick wins)."""
        values = {"caller_e164": e164, "customer_id": customer_id, "agent_id": agent_id}
        table = self.tables.choices
        async with self._connect("save choice", write=True) as conn:
            ins = upsert_insert(conn, table).values(**values, at=time.time())
            changes = {"customer_id": ins.excluded.customer_id}
            changes |= {"agent_id": ins.excluded.agent_id, "at": ins.excluded.at}
            await conn.execute(
                ins.on_conflict_do_update(index_elements=["caller_e164"], set_=changes)
            )

    async def chosen_customer(self, e164: str) -> str | None:
        """The customer an agent picked for `e164`, or None."""
        async with self._connect("read choice") as conn:
            found = await conn.scalar(self._choice_statement, {"e164": e164})
        return None if found is None else str(found)

    # -- plumbing ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _connect(self, what: str, write: bool = False) -> AsyncIterator[AsyncConnection]:
        async with self._guard(what):
            if self._engine is None:
                raise StoreError(f"store {what}: the store is not started")
            opener = self._engine.begin() if write else self._engine.connect()
            async with opener as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def _guard(self, what: str) -> AsyncIterator[None]:
        """Bound the operation by the timeout; turn every database failure into StoreError."""
        try:
            async with asyncio.timeout(self._timeout):
                yield
        except StoreError:
            raise
        except (SQLAlchemyError, OSError) as exc:  # TimeoutError is an OSError
            raise StoreError(f"store {what} failed: {self._describe(exc)}") from exc

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return f"no answer within {self._timeout:g} s"
        lines = [line for line in str(exc).splitlines() if line.strip()]
        message = lines[0] if lines else type(exc).__name__
        if self._password:
            message = message.replace(self._password, "***")
        return message


def _first_time(rec: CallRecord) -> float:
    for ts in (rec.started_at, rec.answered_at, rec.ended_at):
        if ts is not None:
            return ts
    return time.time()


def _history_entry(row: Any) -> dict[str, Any]:
    return {"at": iso(row.started_at), **{name: getattr(row, name) for name in HISTORY_FIELDS}}


def _note(call_id: str, at: float, agent: str, disposition: str, text: str) -> dict[str, Any]:
    return dict(call_id=call_id, at=iso(at), agent=agent, disposition=disposition, text=text)
