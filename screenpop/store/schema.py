"""The call log's tables and the row it keeps per call.

Three tables, created if missing (names take an optional prefix, indexes too, so several
prefixes can share one database):

* ``calls``: one row per (source, call_id), upserted as the call moves on;
* ``call_notes``: an agent's disposition and text about a call (and the caller's number);
* ``caller_choices``: which customer an agent picked for a number that matched several.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

DISPOSITION_MAX_CHARS = 64
HISTORY_FIELDS = ("call_id", "agent", "state", "queue", "disposition", "text")  # and "at"


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call as the log keeps it; times are epoch seconds."""

    source: str
    call_id: str
    caller_raw: str
    caller_e164: str | None  # None when withheld or not a number
    caller_name: str | None
    queue: str | None
    agent_id: str | None
    state: str
    direction: str  # "inbound" or "outbound"
    started_at: float | None
    answered_at: float | None = None
    ended_at: float | None = None


@dataclass(frozen=True, slots=True)
class Tables:
    calls: Table
    notes: Table
    choices: Table


def build_tables(metadata: MetaData, prefix: str = "") -> Tables:
    """The store's tables, named with `prefix` (indexes too, so several prefixes can coexist)."""
    calls = Table(
        f"{prefix}calls",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("source", String(64), nullable=False),
        Column("call_id", String(128), nullable=False),
        Column("caller_raw", String(256), nullable=False, default=""),
        Column("caller_e164", String(32)),
        Column("caller_name", String(256)),
        Column("queue", String(128)),
        Column("agent_id", String(128)),
        Column("state", String(32), nullable=False),
        Column("direction", String(16), nullable=False),
        Column("started_at", Double, nullable=False),
        Column("answered_at", Double),
        Column("ended_at", Double),
        UniqueConstraint("source", "call_id", name=f"{prefix}calls_source_call_id"),
        Index(f"{prefix}calls_caller_started", "caller_e164", "started_at"),
        Index(f"{prefix}calls_started", "started_at"),
    )
    notes = Table(
        f"{prefix}call_notes",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("call_id", String(128), nullable=False),
        Column("caller_e164", String(32)),
        Column("agent_id", String(128), nullable=False),
        Column("disposition", String(DISPOSITION_MAX_CHARS), nullable=False),
        Column("text", Text, nullable=False),
        Column("at", Double, nullable=False),
        Index(f"{prefix}call_notes_call", "call_id"),
        Index(f"{prefix}call_notes_caller_at", "caller_e164", "at"),
    )
    choices = Table(
        f"{prefix}caller_choices",
        metadata,
        Column("caller_e164", String(32), primary_key=True),
        Column("customer_id", String(128), nullable=False),
        Column("agent_id", String(128)),
        Column("at", Double, nullable=False),
    )
    return Tables(calls, notes, choices)


def iso(ts: float) -> str:
    """Epoch seconds as ISO-8601 UTC to the second: ``2026-11-20T10:02:00Z``."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
