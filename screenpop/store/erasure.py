"""One caller's rows in the call log, for the right to erasure (`screenpop forget`).

Every table holding a caller's data is listed once in :data:`ERASED`, with the column holding
their number; rows of the caller's calls that carry no number themselves (a note or a ring
written before the number was known) are found by the call's id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Delete, Select, Table, func, or_, select

from screenpop.store.call_log import Store
from screenpop.store.schema import Tables


@dataclass(frozen=True, slots=True)
class Erased:
    """A table (an attribute of :class:`~screenpop.store.schema.Tables`) and its number column;
    with `by_call`, also the rows whose `call_id` is one of the caller's calls."""

    table: str
    column: str
    by_call: bool = False


ERASED: tuple[Erased, ...] = (
    Erased("notes", "caller_e164", by_call=True),
    Erased("rings", "caller_e164", by_call=True),
    Erased("choices", "caller_e164"),
    Erased("audit", "e164", by_call=True),
    Erased("callbacks", "e164", by_call=True),
    Erased("calls", "caller_e164"),  # last: the others find the caller's calls through it
)
"""Every table of the call log that holds a caller's data, in the order they are erased."""


def _caller_rows(tables: Tables, erased: Erased, e164: str) -> tuple[Table, ColumnElement[bool]]:
    table: Table = getattr(tables, erased.table)
    match: ColumnElement[bool] = table.c[erased.column] == e164
    if erased.by_call:
        calls = tables.calls
        theirs = select(calls.c.call_id).where(calls.c.caller_e164 == e164)
        match = or_(match, table.c.call_id.in_(theirs))
    return table, match


def count_statement(tables: Tables, erased: Erased, e164: str) -> Select[int]:
    table, match = _caller_rows(tables, erased, e164)
    return select(func.count()).select_from(table).where(match)


def delete_statement(tables: Tables, erased: Erased, e164: str) -> Delete:
    table, match = _caller_rows(tables, erased, e164)
    return table.delete().where(match)


async def erase_caller(store: Store, e164: str, *, dry_run: bool) -> dict[str, int]:
    """Delete every row of the caller `e164` (table name -> rows; with `dry_run`, the rows
    that would be deleted, nothing deleted). StoreError when the store fails."""
    removed: dict[str, int] = {}
    for erased in ERASED:
        table: Table = getattr(store.tables, erased.table)
        what = f"erase from {table.name}"
        if dry_run:
            found = await store.rows(count_statement(store.tables, erased, e164), what)
            removed[table.name] = int(found[0][0])
        else:
            removed[table.name] = await store.change(
                delete_statement(store.tables, erased, e164), what
            )
    return removed
