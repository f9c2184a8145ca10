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
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import Executable, MetaData, Row, bindparam, select
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from screenpop.errors import StoreError, StoreRejected
from screenpop.store.agent_day import AgentCall, agent_calls, held_query, rings_query
from screenpop.store.database import (
    create_engine,
    describe_failure,
    password_of,
    upsert_insert,
)
from screenpop.store.migrate import create_or_upgrade
from screenpop.store.schema import (
    DISPOSITION_MAX_CHARS,
    HISTORY_FIELDS,
    NOTE_ID_MAX_CHARS,
    CallRecord,
    LogoutRecord,
    NoteRecord,
    Write,
    build_tables,
    iso,
)
from screenpop.store.statements import WriteStatements, history_query

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
        self._prepared = False  # the tables exist
        self._prepare_lock = asyncio.Lock()
        # Built once: a card's history is read on every call, and building the statement costs
        # more than running it (this runs on the event loop beside the pops).
        self._history_statement = history_query(self.tables)
        self._writes = WriteStatements(self.tables)
        self._rings_statement = rings_query(self.tables)
        self._held_statement = held_query(self.tables)
        c = self.tables.choices.c
        self._choice_statement = select(c.customer_id).where(c.caller_e164 == bindparam("e164"))

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the engine and create the tables that are missing. StoreError when the URL is
        unusable (:attr:`opened` stays False) or the database does not answer (:attr:`opened` is
        True: the tables are then created by the first operation that reaches it)."""
        async with self._guard("start"):
            self._engine = create_engine(self._url)
        await self._prepare()

    @property
    def opened(self) -> bool:
        """The engine exists (the URL is usable), whether or not the database answered yet."""
        return self._engine is not None

    async def _prepare(self) -> None:
        async with self._prepare_lock:
            if self._prepared or self._engine is None:
                return
            async with self._guard("start"), self._engine.begin() as conn:
                await conn.run_sync(create_or_upgrade, self._metadata, self.tables)
            self._prepared = True

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

    async def write(self, items: Sequence[Write]) -> None:
        """Apply `items` in one transaction: all of them or none. Each is safe to apply twice.
        StoreRejected when the database refused one of them (retrying will not help)."""
        async with self._connect("write", write=True) as conn:
            for statement, parameters in self._writes.apply(conn, items):
                await conn.execute(statement, parameters)

    async def record_call(self, rec: CallRecord) -> None:
        """Insert or update the call's row; an older write never undoes a newer one."""
        await self.write([rec])

    async def calls_since(self, epoch: float) -> list[CallRecord]:
        """Calls that started at or after `epoch`, oldest first (to rebuild today's board)."""
        c = self.tables.calls.c
        query = select(*(c[f.name] for f in fields(CallRecord))).where(c.started_at >= epoch)
        async with self._connect("read calls") as conn:
            rows = (await conn.execute(query.order_by(c.started_at, c.id))).all()
        return [CallRecord(*row) for row in rows]

    async def agent_day(self, agent_id: str, start: float, end: float) -> list[AgentCall]:
        """The calls that rang `agent_id` or that they held, between `start` (included) and
        `end` (excluded), newest first (see :mod:`screenpop.store.agent_day`)."""
        params = {"agent": agent_id, "start": start, "end": end}
        async with self._connect("read the agent's calls") as conn:
            rings = (await conn.execute(self._rings_statement, params)).all()
            held = (await conn.execute(self._held_statement, params)).all()
        return agent_calls(agent_id, rings, held)

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
        async with self._connect("read history") as conn:
            return await self._history(conn, e164, limit)

    async def recall(self, e164: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """What a card shows from the log: the caller's :meth:`history` and
        :meth:`chosen_customer`, read on one connection (one checkout per call, not two)."""
        async with self._connect("read history") as conn:
            history = await self._history(conn, e164, limit) if limit > 0 else []
            found = await conn.scalar(self._choice_statement, {"e164": e164})
        return history, None if found is None else str(found)

    async def _history(self, conn: AsyncConnection, e164: str, limit: int) -> list[dict[str, Any]]:
        params = {"e164": e164, "history_limit": limit}
        rows = (await conn.execute(self._history_statement, params)).all()
        entries = [
            (row.note_at if row.orphan else row.started_at, row.note_at or 0.0, _history_entry(row))
            for row in rows
        ]
        entries.sort(key=lambda e: (e[0], e[1]), reverse=True)  # stable: keeps id order on ties
        return [entry for _, _, entry in entries[:limit]]

    async def add_note(
        self,
        call_id: str,
        e164: str | None,
        agent_id: str,
        disposition: str,
        text: str,
        *,
        note_id: str | None = None,
    ) -> dict[str, Any]:
        """Save an agent's note; returns it as :func:`note_json` does. Saving the same `note_id`
        again stores nothing more. Refused with StoreError when :func:`make_note` refuses it."""
        note = make_note(call_id, e164, agent_id, disposition, text, note_id=note_id)
        await self.write([note])
        return note_json(note)

    async def notes_for(self, call_id: str) -> list[dict[str, Any]]:
        """The notes on one call, newest first."""
        n = self.tables.notes.c
        query = (
            select(n.note_id, n.call_id, n.caller_e164, n.agent_id, n.disposition, n.text, n.at)
            .where(n.call_id == call_id)
            .order_by(n.at.desc(), n.id.desc())
        )
        async with self._connect("read notes") as conn:
            rows = (await conn.execute(query)).all()
        return [note_json(NoteRecord(*row)) for row in rows]

    # -- logouts ----------------------------------------------------------------------------

    async def logouts(self, now: float) -> dict[str, int]:
        """Agent id -> the time (epoch ms) until which their sessions are void, for the logouts
        whose sessions have not expired yet; the others are deleted."""
        t = self.tables.logouts
        async with self._connect("read logouts", write=True) as conn:
            await conn.execute(t.delete().where(t.c.expires_at <= now))
            rows = (await conn.execute(select(t.c.agent_id, t.c.not_before_ms))).all()
        return {row.agent_id: int(row.not_before_ms) for row in rows}

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

    # -- statements built elsewhere (retention, erasure, the audit trail) ----------------------

    async def change(self, statement: Executable, what: str) -> int:
        """Run one INSERT, UPDATE or DELETE in a transaction of its own; the rows it changed."""
        async with self._connect(what, write=True) as conn:
            result = await conn.execute(statement)
        return max(0, int(result.rowcount))

    async def rows(self, statement: Executable, what: str) -> list[Row[Any]]:
        """The rows a SELECT gives."""
        async with self._connect(what) as conn:
            return list((await conn.execute(statement)).all())

    # -- plumbing ---------------------------------------------------------------------------

    def connection(
        self, what: str, write: bool = False
    ) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A connection to the store's database for its other modules (callbacks): a
        transaction when `write`; bounded by the timeout, every failure raised as StoreError."""
        return self._connect(what, write)

    @contextlib.asynccontextmanager
    async def _connect(self, what: str, write: bool = False) -> AsyncIterator[AsyncConnection]:
        async with self._guard(what):
            if self._engine is None:
                raise StoreError(f"store {what}: the store is not started")
            if not self._prepared:
                await self._prepare()
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
        except (IntegrityError, DataError) as exc:
            raise StoreRejected(f"store {what} refused: {self._describe(exc)}") from exc
        except (SQLAlchemyError, OSError) as exc:  # TimeoutError is an OSError
            raise StoreError(f"store {what} failed: {self._describe(exc)}") from exc

    def _describe(self, exc: BaseException) -> str:
        return describe_failure(exc, self._password, self._timeout)


def _history_entry(row: Any) -> dict[str, Any]:
    return {"at": iso(row.started_at), **{name: getattr(row, name) for name in HISTORY_FIELDS}}


def make_note(
    call_id: str,
    e164: str | None,
    agent_id: str,
    disposition: str,
    text: str,
    *,
    note_id: str | None = None,
    at: float | None = None,
) -> NoteRecord:
    """A note ready to store, with a new id unless the client gave one. A text over
    NOTE_MAX_CHARS, a disposition over DISPOSITION_MAX_CHARS or an id over NOTE_ID_MAX_CHARS is
    refused with StoreRejected (nothing is truncated)."""
    if len(text) > NOTE_MAX_CHARS:
        raise StoreRejected(f"note too long: {len(text)} characters, at most {NOTE_MAX_CHARS}")
    if len(disposition) > DISPOSITION_MAX_CHARS:
        raise StoreRejected(f"disposition longer than {DISPOSITION_MAX_CHARS} characters")
    if note_id is not None and not 0 < len(note_id) <= NOTE_ID_MAX_CHARS:
        raise StoreRejected(f"a note id has 1 to {NOTE_ID_MAX_CHARS} characters")
    note_id = note_id or uuid.uuid4().hex
    at = time.time() if at is None else at
    return NoteRecord(note_id, call_id, e164, agent_id, disposition, text, at)


def note_json(note: NoteRecord) -> dict[str, Any]:
    """A note as cards and the API show it: id, call_id, at, agent, disposition, text."""
    return {
        "id": note.note_id,
        "call_id": note.call_id,
        "at": iso(note.at),
        "agent": note.agent_id,
        "disposition": note.disposition,
        "text": note.text,
    }


def logout_record(agent_id: str, not_before_ms: int, ttl_s: float) -> LogoutRecord:
    """The logout of `agent_id` at `not_before_ms`, kept while a session could still be alive."""
    return LogoutRecord(agent_id, not_before_ms, not_before_ms / 1000 + ttl_s)
