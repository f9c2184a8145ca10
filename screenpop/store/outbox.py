"""The outbox: writes waiting for the store, kept in a local SQLite file.

When the store is away (PostgreSQL restarting, a network cut, a locked or full SQLite file), call
rows, notes and logouts wait here, in order, and survive a restart of the daemon; the
:class:`~screenpop.store.writer.StoreWriter` moves them to the store once it is back. The file
is bounded by `max_items`: when it is full, the oldest call rows make room (counted in
`dropped`), and a note that finds no call row to push out is refused with
:class:`~screenpop.errors.OutboxFull`; notes are never dropped.

One row per call (a newer record of a call replaces the waiting one, which it contains, and
takes its place at the end of the line), per ring of a call on an agent's phone, per logout and
per ended pause of an agent; a note is kept once per note id; a new callback item once per call,
and a caller's return once per call. Callback writes are never pushed out to make room (only
call rows are); one that finds the outbox full of notes and callback writes is dropped and
counted in `dropped`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from screenpop.errors import OutboxFull, StoreError
from screenpop.store.callback_table import CallbackRecord, CallbackReturn
from screenpop.store.schema import (
    AuditRecord,
    CallRecord,
    LogoutRecord,
    NoteRecord,
    PauseRecord,
    RingRecord,
    WrapRecord,
    Write,
)

log = logging.getLogger(__name__)

KINDS: dict[str, type[Write]] = {
    "call": CallRecord,
    "note": NoteRecord,
    "logout": LogoutRecord,
    "ring": RingRecord,
    "wrap": WrapRecord,
    "audit": AuditRecord,
    "callback": CallbackRecord,
    "callback_return": CallbackReturn,
    "pause": PauseRecord,
}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (kind, key)
)
"""


@dataclass(frozen=True, slots=True)
class Pending:
    """A write waiting in the outbox; `id` gives its place in line."""

    id: int
    item: Write


def kind_of(item: Write) -> str:
    match item:
        case CallRecord():
            return "call"
        case NoteRecord():
            return "note"
        case LogoutRecord():
            return "logout"
        case RingRecord():
            return "ring"
        case WrapRecord():
            return "wrap"
        case AuditRecord():
            return "audit"
        case CallbackRecord():
            return "callback"
        case CallbackReturn():
            return "callback_return"
        case PauseRecord():
            return "pause"


def key_of(item: Write) -> str:
    match item:
        case CallRecord(source=source, call_id=call_id):
            return f"{source}\x1f{call_id}"
        case NoteRecord(note_id=note_id):
            return note_id
        case LogoutRecord(agent_id=agent_id):
            return agent_id
        case RingRecord(source=source, call_id=call_id, agent_id=agent_id, ring_no=ring_no):
            return f"{source}\x1f{call_id}\x1f{agent_id}\x1f{ring_no}"
        case WrapRecord(agent_id=agent_id, at=at):
            return f"{agent_id}\x1f{at!r}"
        case AuditRecord(audit_id=audit_id):
            return audit_id
        case CallbackRecord(source=source, call_id=call_id):
            return f"{source}\x1f{call_id}"
        case CallbackReturn(e164=e164, call_id=call_id):
            return f"{e164}\x1f{call_id}"
        case PauseRecord(agent_id=agent_id, started_at=started_at):
            return f"{agent_id}\x1f{started_at!r}"


class Outbox:
    """A bounded, durable FIFO of store writes. ``await open()`` once, ``await aclose()`` once.

    Every failure of the file itself (disk full, unreadable) is raised as StoreError.
    """

    def __init__(self, path: Path | None, max_items: int) -> None:
        self._path = path  # None: in memory (a store that keeps nothing on disk either)
        self.max_items = max_items
        self._db: aiosqlite.Connection | None = None
        self.counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.dropped = 0  # call rows pushed out because the outbox was full

    def __len__(self) -> int:
        return sum(self.counts.values())

    @property
    def where(self) -> str:
        return str(self._path) if self._path is not None else "memory"

    async def open(self) -> None:
        try:
            self._db = await open_queue_file(self._path, _SCHEMA)
            await self._db.commit()
            await self._recount()
        except (sqlite3.Error, OSError) as exc:
            await self.aclose()
            raise StoreError(f"outbox {self.where}: {exc}") from exc
        if len(self):
            log.warning("outbox %s: %s writes wait for the store", self.where, self._summary())

    async def aclose(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def put(self, items: Sequence[Write]) -> None:
        """Keep `items` until :meth:`remove`. OutboxFull when a note finds no room (the items
        before it are kept); a call row or logout that finds none pushes out the oldest call row,
        or is itself dropped if only notes are left."""
        async with self._writing() as db:
            for item in items:
                kind, key = kind_of(item), key_of(item)
                if await self._waiting(db, kind, key):
                    await self._replace(db, kind, key, item)
                elif len(self) < self.max_items or await self._drop_oldest_call(db):
                    await db.execute(
                        "INSERT INTO outbox (kind, key, body) VALUES (?, ?, ?)",
                        (kind, key, _encode(item)),
                    )
                    self.counts[kind] += 1
                elif kind == "note":
                    await db.commit()
                    raise OutboxFull(
                        f"outbox {self.where} is full ({self.max_items} writes wait for the store)"
                    )
                else:
                    self.dropped += 1

    async def head(self, limit: int) -> list[Pending]:
        """The oldest `limit` waiting writes, oldest first."""
        db = self._connection()
        try:
            async with db.execute(
                "SELECT id, kind, body FROM outbox ORDER BY id LIMIT ?", (limit,)
            ) as cursor:
                rows = await cursor.fetchall()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"outbox {self.where}: {exc}") from exc
        return [Pending(row[0], _decode(row[1], row[2])) for row in rows]

    async def forget(self, written: Sequence[Write]) -> None:
        """Forget what waits for the same calls, notes and logouts as `written`, which the
        store now holds in a newer form."""
        keys = [(kind_of(item), key_of(item)) for item in written]
        await self._delete("DELETE FROM outbox WHERE kind = ? AND key = ?", keys)

    async def remove(self, done: Sequence[Pending]) -> None:
        """Forget writes the store now holds."""
        if done:
            await self._delete("DELETE FROM outbox WHERE id = ?", [(p.id,) for p in done])

    async def erase(self, e164: str, *, dry_run: bool = False) -> int:
        """Forget every waiting write about the caller `e164` (their erasure): how many
        (with `dry_run`, how many would be, nothing forgotten)."""
        where = f"outbox {self.where}"
        erased = await erase_number(self._connection(), "outbox", e164, dry_run, where)
        await self._recount()
        return erased

    # -- plumbing ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction, committed when the block ends; a failure of the file is undone and
        raised as StoreError (other errors, OutboxFull among them, pass as they are)."""
        db = self._connection()
        try:
            yield db
            await db.commit()
        except (sqlite3.Error, OSError) as exc:
            await self._give_up(db)
            raise StoreError(f"outbox {self.where}: {exc}") from exc

    async def _delete(self, statement: str, rows: Sequence[tuple[object, ...]]) -> None:
        async with self._writing() as db:
            await db.executemany(statement, rows)
        await self._recount()

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("outbox: not open")
        return self._db

    async def _waiting(self, db: aiosqlite.Connection, kind: str, key: str) -> bool:
        async with db.execute(
            "SELECT 1 FROM outbox WHERE kind = ? AND key = ?", (kind, key)
        ) as cursor:
            return await cursor.fetchone() is not None

    async def _replace(self, db: aiosqlite.Connection, kind: str, key: str, item: Write) -> None:
        if kind == "note":
            return  # the same note again: keep the one already waiting
        # A new row, not an update in place: the drain may be writing the old one right now and
        # removes it by its id afterwards, which must not take the newer record with it.
        await db.execute("DELETE FROM outbox WHERE kind = ? AND key = ?", (kind, key))
        await db.execute(
            "INSERT INTO outbox (kind, key, body) VALUES (?, ?, ?)", (kind, key, _encode(item))
        )

    async def _drop_oldest_call(self, db: aiosqlite.Connection) -> bool:
        async with db.execute(
            "SELECT id FROM outbox WHERE kind = 'call' ORDER BY id LIMIT 1"
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return False
        await db.execute("DELETE FROM outbox WHERE id = ?", (row[0],))
        self.counts["call"] -= 1
        self.dropped += 1
        return True

    async def _recount(self) -> None:
        db = self._connection()
        counts = dict.fromkeys(KINDS, 0)
        async with db.execute("SELECT kind, count(*) FROM outbox GROUP BY kind") as cursor:
            for kind, count in await cursor.fetchall():
                counts[str(kind)] = int(count)
        self.counts = counts

    async def _give_up(self, db: aiosqlite.Connection) -> None:
        """After a failed write: undo the transaction and count again what is really kept."""
        try:
            await db.rollback()
            await self._recount()
        except (sqlite3.Error, OSError):
            log.exception("outbox %s: could not recover after a failed write", self.where)

    def _summary(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in self.counts.items() if n)


async def open_queue_file(path: Path | None, schema: str) -> aiosqlite.Connection:
    """A durable local SQLite queue file (in memory for None) with `schema` created: WAL, and
    every commit synced, so a queued item survives a crash. sqlite3.Error or OSError when the
    file cannot be used; the outbox and the write-back queue both keep their items in one."""
    if path is not None:
        # Try the file first: an aiosqlite connection that fails to open leaves its thread to
        # finish after the caller has moved on (even past a closed loop).
        await asyncio.to_thread(_can_open, path)
    db = await aiosqlite.connect(str(path) if path is not None else ":memory:")
    try:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=FULL")
        await db.execute(schema)
    except BaseException:
        await db.close()
        raise
    return db


async def erase_number(
    db: aiosqlite.Connection, table: str, e164: str, dry_run: bool, where: str
) -> int:
    """Delete the rows of a queue file's `table` (`id`, JSON `body`) whose body names the
    caller `e164` (as `caller_e164` or `e164`), or one of the calls those rows are about (a
    note written before the number was known); how many (with `dry_run`, only counted).
    StoreError (saying `where`) when the file fails."""
    try:
        async with db.execute(f"SELECT id, body FROM {table}") as cursor:
            bodies = [(row[0], json.loads(row[1])) for row in await cursor.fetchall()]
        theirs = {body.get("call_id") for _, body in bodies if _names(body, e164)} - {None}
        doomed = [(i,) for i, body in bodies if _names(body, e164) or body.get("call_id") in theirs]
        if doomed and not dry_run:
            await db.executemany(f"DELETE FROM {table} WHERE id = ?", doomed)
            await db.commit()
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"{where}: {exc}") from exc
    return len(doomed)


def _names(body: dict[str, Any], e164: str) -> bool:
    return e164 in (body.get("caller_e164"), body.get("e164"))


def _can_open(path: Path) -> None:
    sqlite3.connect(path).close()


def _encode(item: Write) -> str:
    return json.dumps(dataclasses.asdict(item), separators=(",", ":"))


def _decode(kind: str, body: str) -> Write:
    fields: dict[str, Any] = json.loads(body)
    return KINDS[kind](**fields)
