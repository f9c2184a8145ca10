"""Bringing a call log made by an older version up to the current tables, at start.

``create_all`` creates the tables that are missing, not the columns or indexes that were added
to a table since it was made: :func:`upgrade` adds those, idempotently (a database already up
to date is only inspected).
"""

from __future__ import annotations

import logging

from sqlalchemy import MetaData, Table, inspect, text
from sqlalchemy.engine import Connection

from screenpop.store.schema import REPLACED_INDEXES, Tables

log = logging.getLogger(__name__)

# (table attribute, column, its SQL type and default as ALTER TABLE adds it, and what fills it
# in on the rows already there: {calls} and {rings} are the tables' names)
ADDED_COLUMNS = (
    ("notes", "note_id", "VARCHAR(64)", ""),  # NULL on the rows from before notes had ids
    ("calls", "transfers", "INTEGER NOT NULL DEFAULT 0", ""),
    (
        "rings",
        "talk_s",
        "DOUBLE PRECISION",
        "UPDATE {rings} SET talk_s = (SELECT c.ended_at - CASE WHEN {rings}.rang_at > "
        "c.answered_at THEN {rings}.rang_at ELSE c.answered_at END FROM {calls} c WHERE "
        "c.source = {rings}.source AND c.call_id = {rings}.call_id AND c.ended_at IS NOT NULL "
        "AND c.answered_at IS NOT NULL) WHERE outcome = 'answered'",
    ),
    (
        "calls",
        "wrap_s",
        "DOUBLE PRECISION",
        "UPDATE {calls} SET wrap_s = (SELECT sum(r.wrap_s) FROM {rings} r WHERE "
        "r.source = {calls}.source AND r.call_id = {calls}.call_id)",
    ),
)


def create_or_upgrade(conn: Connection, metadata: MetaData, tables: Tables) -> None:
    """Create the missing tables of `metadata`, then add the columns in :data:`ADDED_COLUMNS`
    and the indexes of `tables` that are missing, and drop those they replace (one
    transaction: use ``begin()``)."""
    metadata.create_all(conn)
    inspector = inspect(conn)
    names = {"calls": tables.calls.name, "rings": tables.rings.name}
    for attr, column, sql_type, fill in ADDED_COLUMNS:
        table: Table = getattr(tables, attr)
        present = {c["name"] for c in inspector.get_columns(table.name)}
        if column not in present:
            log.info("store: adding %s to %s", column, table.name)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column} {sql_type}"))
            if fill:
                conn.execute(text(fill.format(**names)))
    prefix = tables.calls.name.removesuffix("calls")
    for table in (tables.calls, tables.notes, tables.rings, tables.pauses):
        indexes = inspect(conn).get_indexes(table.name)
        present = {index["name"] for index in indexes if index["name"]}
        for index in table.indexes:
            if index.name not in present:
                log.info("store: adding index %s", index.name)
                index.create(conn)
        for name in (f"{prefix}{old}" for old in REPLACED_INDEXES):
            if name in present:
                log.info("store: dropping index %s (replaced)", name)
                conn.execute(text(f"DROP INDEX {name}"))
