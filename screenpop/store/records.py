"""The write-back queue: notes and call ends waiting for the back offices that record them, kept
in a local SQLite file of the outbox's shape (beside it), so they survive a restart.

One row per (connector, record_id): the same item queued twice is kept once. Rows keep their
place in line (`id`), so each connector gets its items in the order they were made, and so
every call's in order. An item the back office refused for good stays as `failed` (with why)
until the next start, for the card and `/metrics`, and is never tried again.

Bounded by `max_items`: when full, the oldest waiting call end makes room (counted in
`dropped`); a note that finds no call end to push out is refused (logged and counted in
`refused`: never dropped silently).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from screenpop.connectors.contract import RecordItem
from screenpop.errors import StoreError
from screenpop.store.outbox import erase_number, open_queue_file

log = logging.getLogger(__name__)

PENDING = "pending"
FAILED = "failed"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connector TEXT NOT NULL,
    record_id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    error TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    UNIQUE (connector, record_id)
)
"""


@dataclass(frozen=True, slots=True)
class Waiting:
    """A write-back in the queue; `id` gives its place in line."""

    id: int
    connector: str
    item: RecordItem


def records_path(outbox_file: Path | None) -> Path | None:
    """Where write-backs wait: beside the outbox (``x-outbox.db`` -> ``x-outbox-records.db``),
    or in memory when the outbox is."""
    if outbox_file is None:
        return None
    return outbox_file.with_name(f"{outbox_file.stem}-records{outbox_file.suffix or '.db'}")


class RecordQueue:
    """A bounded, durable FIFO of write-backs. ``await open()`` once, ``await aclose()`` once.
    Every failure of the file itself is raised as StoreError."""

    def __init__(self, path: Path | None, max_items: int) -> None:
        self._path = path
        self.max_items = max_items
        self._db: aiosqlite.Connection | None = None
        self.pending: dict[str, int] = {}  # per connector
        self.failed: dict[str, int] = {}
        self.dropped = 0  # call ends pushed out of a full queue
        self.refused = 0  # notes a full queue could not take

    def __len__(self) -> int:
        return sum(self.pending.values())

    @property
    def where(self) -> str:
        return str(self._path) if self._path is not None else "memory"

    async def open(self) -> None:
        try:
            self._db = await open_queue_file(self._path, _SCHEMA)
            await self._db.execute("DELETE FROM records WHERE state = 'failed'")
            await self._db.commit()
            await self._recount()
        except (sqlite3.Error, OSError) as exc:
            await self.aclose()
            raise StoreError(f"write-back queue {self.where}: {exc}") from exc
        if len(self):
            log.warning("write-back queue %s: %s items wait", self.where, len(self))

    async def aclose(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def put(self, connector: str, item: RecordItem) -> bool:
        """Keep `item` for `connector` until :meth:`done` or :meth:`fail`; False when it was
        not kept (a full queue: a call end is then dropped, a note refused, both counted)."""
        db = self._connection()
        try:
            if await self._has(db, connector, item.record_id):
                return True
            if len(self) >= self.max_items and not await self._drop_oldest_end(db):
                self._count_overflow(connector, item)
                return False
            await db.execute(
                "INSERT INTO records (connector, record_id, body) VALUES (?, ?, ?)",
                (connector, item.record_id, _encode(item)),
            )
            await db.commit()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"write-back queue {self.where}: {exc}") from exc
        self.pending[connector] = self.pending.get(connector, 0) + 1
        return True

    async def head(self, connector: str, limit: int) -> list[Waiting]:
        """The oldest `limit` pending items for `connector`, oldest first."""
        rows = await self._select(
            "SELECT id, connector, body FROM records WHERE connector = ? AND state = 'pending'"
            " ORDER BY id LIMIT ?",
            (connector, limit),
        )
        return [Waiting(int(r[0]), str(r[1]), _decode(str(r[2]))) for r in rows]

    async def connectors(self) -> list[str]:
        """The connectors with pending items."""
        rows = await self._select(
            "SELECT DISTINCT connector FROM records WHERE state = 'pending'", ()
        )
        return [str(r[0]) for r in rows]

    async def done(self, waiting: Waiting) -> None:
        """The back office holds it: forget it."""
        await self._change("DELETE FROM records WHERE id = ?", (waiting.id,))

    async def fail(self, waiting: Waiting, error: str) -> None:
        """The back office refused it for good: keep it as failed (not tried again)."""
        await self._change(
            "UPDATE records SET state = 'failed', error = ? WHERE id = ?", (error, waiting.id)
        )

    async def erase(self, e164: str, *, dry_run: bool = False) -> int:
        """Forget every write-back about the caller `e164`, waiting or failed (their erasure):
        how many (with `dry_run`, how many would be, nothing forgotten)."""
        where = f"write-back queue {self.where}"
        erased = await erase_number(self._connection(), "records", e164, dry_run, where)
        await self._recount()
        return erased

    # -- plumbing ---------------------------------------------------------------------------

    def _count_overflow(self, connector: str, item: RecordItem) -> None:
        if item.kind == "note":
            self.refused += 1
            log.error(
                "write-back queue %s is full: note %s not sent to %s",
                self.where,
                item.record_id,
                connector,
            )
        else:
            self.dropped += 1

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("write-back queue: not open")
        return self._db

    async def _has(self, db: aiosqlite.Connection, connector: str, record_id: str) -> bool:
        async with db.execute(
            "SELECT 1 FROM records WHERE connector = ? AND record_id = ?", (connector, record_id)
        ) as cursor:
            return await cursor.fetchone() is not None

    async def _drop_oldest_end(self, db: aiosqlite.Connection) -> bool:
        async with db.execute(
            "SELECT id, connector FROM records WHERE state = 'pending' AND body LIKE ?"
            " ORDER BY id LIMIT 1",
            ('%"kind":"call_end"%',),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return False
        await db.execute("DELETE FROM records WHERE id = ?", (row[0],))
        self.pending[str(row[1])] -= 1
        self.dropped += 1
        return True

    async def _select(self, statement: str, params: Sequence[Any]) -> list[Any]:
        db = self._connection()
        try:
            async with db.execute(statement, params) as cursor:
                return list(await cursor.fetchall())
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"write-back queue {self.where}: {exc}") from exc

    async def _change(self, statement: str, params: Sequence[Any]) -> None:
        db = self._connection()
        try:
            await db.execute(statement, params)
            await db.commit()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"write-back queue {self.where}: {exc}") from exc
        await self._recount()

    async def _recount(self) -> None:
        pending: dict[str, int] = {}
        failed: dict[str, int] = {}
        rows = await self._select(
            "SELECT connector, state, count(*) FROM records GROUP BY connector, state", ()
        )
        for connector, state, count in rows:
            (pending if state == PENDING else failed)[str(connector)] = int(count)
        self.pending, self.failed = pending, failed


def _encode(item: RecordItem) -> str:
    return json.dumps(dataclasses.asdict(item), separators=(",", ":"))


def _decode(body: str) -> RecordItem:
    fields: dict[str, Any] = json.loads(body)
    return RecordItem(**fields)
