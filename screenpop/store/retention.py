"""What the call log keeps for a limited time: the tables purged by `[store] retention_days` and
`[audit] retention_days`, each by the column that says how old a row is (epoch seconds), and the
batched DELETE that purges them.

A table of the call log is purged when it is listed in :data:`STORE_RETAINED` (one line per
table); the audit trail has its own retention (:data:`AUDIT_RETAINED`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Delete, Select, Table, func, select

from screenpop.store.call_log import Store

BATCH_ROWS = 5000  # rows per DELETE: a purge never holds a long lock on a busy table


@dataclass(frozen=True, slots=True)
class Retained:
    """A purged table (an attribute of :class:`~screenpop.store.schema.Tables`) and its time
    column: a row whose time is before the cutoff is purged."""

    table: str
    column: str


STORE_RETAINED: tuple[Retained, ...] = (
    Retained("calls", "started_at"),
    Retained("notes", "at"),
    Retained("rings", "rang_at"),
    Retained("choices", "at"),
    Retained("logouts", "expires_at"),
    Retained("pauses", "started_at"),
    Retained("callbacks", "created_at"),
)
"""The call log's tables purged after `[store] retention_days`."""

AUDIT_RETAINED = Retained("audit", "at")
"""The audit trail, purged after `[audit] retention_days`."""


def table_of(store: Store, retained: Retained) -> Table:
    table: Table = getattr(store.tables, retained.table)
    return table


def older_count(table: Table, column: str, cutoff: float) -> Select[int]:
    """How many rows of `table` are older than `cutoff`."""
    return select(func.count()).select_from(table).where(table.c[column] < cutoff)


def older_batch(table: Table, column: str, cutoff: float, batch: int) -> Delete:
    """Delete at most `batch` rows of `table` older than `cutoff` (by their primary key)."""
    key = next(iter(table.primary_key.columns))
    doomed = select(key).where(table.c[column] < cutoff).limit(batch)
    return table.delete().where(key.in_(doomed))


async def purge_older(
    store: Store, retained: Retained, cutoff: float, *, batch: int = BATCH_ROWS, dry_run: bool
) -> int:
    """Delete the rows of one retained table older than `cutoff`, `batch` rows per statement
    (each its own transaction), letting the event loop run between two; the rows deleted (with
    `dry_run`: the rows that would be, nothing deleted). StoreError when the store fails."""
    table = table_of(store, retained)
    what = f"purge {table.name}"
    if dry_run:
        found = await store.rows(older_count(table, retained.column, cutoff), what)
        return int(found[0][0])
    total = 0
    statement = older_batch(table, retained.column, cutoff, batch)
    while True:
        deleted = await store.change(statement, what)
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)
