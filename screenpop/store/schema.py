"""The call log's tables and the row it keeps per call.

Seven tables, created if missing (names take an optional prefix, indexes too, so several
prefixes can share one database):

* ``calls``: one row per (source, call_id), upserted as the call moves on;
* ``call_notes``: an agent's disposition and text about a call (and the caller's number), unique
  by its ``note_id`` so a note sent twice (a retry, or the outbox after a write whose answer was
  lost) is stored once;
* ``call_rings``: one row per ring of a call on an agent's phone, unique by (source, call_id,
  agent_id, ring_no), with how it ended for that agent (answered, or one of
  :data:`MISSED_OUTCOMES`): the agent's missed calls and, for reports, missed rings per agent;
* ``caller_choices``: which customer an agent picked for a number that matched several;
* ``session_logouts``: when each agent last logged out, kept until the sessions it voided would
  have expired anyway, so a restart does not bring them back;
* ``callbacks``: callers to call back (:mod:`screenpop.store.callback_table`);
* ``agent_pauses``: one row per pause of an agent, written when it ends, unique by (agent_id,
  started_at): paused time by reason, for reports;
* ``audit``: who saw which caller's data, and when (:class:`AuditRecord`); rows are only ever
  added, and removed by the `[audit] retention_days` purge or the caller's erasure.

Tables of a database made before a column or an index existed gain it at start
(:mod:`screenpop.store.migrate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
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

from screenpop.store.callback_table import (
    CallbackRecord,
    CallbackReturn,
    build_callback_table,
)

DISPOSITION_MAX_CHARS = 64
NOTE_ID_MAX_CHARS = 64
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
    transfers: int = 0  # how many times the call moved from one agent to another


@dataclass(frozen=True, slots=True)
class NoteRecord:
    """An agent's note as the store keeps it; `note_id` makes saving it twice harmless."""

    note_id: str
    call_id: str
    caller_e164: str | None
    agent_id: str
    disposition: str
    text: str
    at: float


RING_RINGING = "ringing"
RING_ANSWERED = "answered"
MISSED_OUTCOMES = ("missed", "answered_elsewhere", "abandoned")
"""How a ring the agent did not answer ended: it rang out (`missed`), another agent answered
(`answered_elsewhere`) or the caller hung up while it rang (`abandoned`). A ring of an outbound
call (the agent's own phone, click-to-dial) that was never answered is `unanswered`, never
missed."""
RING_OUTCOMES = (RING_RINGING, RING_ANSWERED, *MISSED_OUTCOMES, "unanswered")


@dataclass(frozen=True, slots=True)
class RingRecord:
    """One ring of a call on one agent's phone; times are epoch seconds.

    `ring_no` counts the rings of this call for this agent (1, then 2 if the queue rings them
    again after a ring-out), so each ring is its own row and writing one twice changes nothing.
    `outcome` is ``ringing`` until the ring ends; a final outcome is never replaced (an older
    write arriving late cannot undo it)."""

    source: str
    call_id: str
    agent_id: str
    ring_no: int
    rang_at: float
    outcome: str  # one of RING_OUTCOMES
    ended_at: float | None = None  # when the ring stopped (answered, rang out...)
    outbound: bool = False
    queue: str | None = None
    caller_e164: str | None = None
    caller_name: str | None = None
    talk_s: float | None = None  # answered: how long the agent had the call, once it left them


@dataclass(frozen=True, slots=True)
class WrapRecord:
    """The agent ended their wrap-up at `at` (closed the card of their last call): the call
    they answered that ended last before `at` gets its wrap-up, ``at`` minus its end, at most
    `max_s` (`[board] wrap_up_s`), once, on their answered ring of it; the call's row then holds
    the sum of its rings' wrap-up (for reports). Written after the call's row (the same queue),
    so the call that just ended is the one found."""

    agent_id: str
    at: float
    max_s: float


@dataclass(frozen=True, slots=True)
class LogoutRecord:
    """An agent logged out: their sessions issued until `not_before_ms` are void."""

    agent_id: str
    not_before_ms: int
    expires_at: float  # when those sessions would have expired anyway (epoch seconds)


AUDIT_ACTIONS = ("pop", "card_read", "search", "report", "forget")
AUDIT_ID_MAX_CHARS = 32
AUDIT_DETAIL_MAX_CHARS = 512


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Someone saw a caller's data (or erased it): `actor` is an agent id, or ``cli`` (a command);
    `action` one of :data:`AUDIT_ACTIONS`; `e164` the caller (None when the event names no
    number: a search for a name, an erasure, which keeps only a digest in `detail`). `audit_id`
    makes writing it twice harmless."""

    audit_id: str
    at: float
    actor: str
    action: str
    e164: str | None = None
    call_id: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PauseRecord:
    """An agent's pause that ended: `reason` is "" when none was given; epoch seconds."""

    agent_id: str
    reason: str
    started_at: float
    ended_at: float


Write = (
    CallRecord
    | NoteRecord
    | LogoutRecord
    | RingRecord
    | WrapRecord
    | PauseRecord
    | CallbackRecord
    | CallbackReturn
    | AuditRecord
)
"""One write to the store; each is safe to apply twice (the outbox may retry it)."""


REPORTED_CALL_COLUMNS = ("queue", "direction", "answered_at", "ended_at", "transfers", "wrap_s")
REPORTED_RING_COLUMNS = ("agent_id", "outcome", "queue", "talk_s", "wrap_s")
REPLACED_INDEXES = ("calls_started", "call_rings_rang")  # by the two above, which start alike


@dataclass(frozen=True, slots=True)
class Tables:
    calls: Table
    notes: Table
    choices: Table
    logouts: Table
    rings: Table
    callbacks: Table
    pauses: Table
    audit: Table


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
        Column("transfers", Integer, nullable=False, default=0, server_default="0"),
        Column("wrap_s", Double),  # its agents' wrap-up after it, summed (WrapRecord)
        UniqueConstraint("source", "call_id", name=f"{prefix}calls_source_call_id"),
        Index(f"{prefix}calls_caller_started", "caller_e164", "started_at"),
        # by time, with what the queue report reads: a month of calls is read from the index
        # alone (SQLite would otherwise look each row up: three times the work)
        Index(f"{prefix}calls_started_report", "started_at", *REPORTED_CALL_COLUMNS),
        Index(f"{prefix}calls_queue_started", "queue", "started_at"),
    )
    notes = Table(
        f"{prefix}call_notes",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("note_id", String(NOTE_ID_MAX_CHARS)),  # NULL only on rows from before it existed
        Column("call_id", String(128), nullable=False),
        Column("caller_e164", String(32)),
        Column("agent_id", String(128), nullable=False),
        Column("disposition", String(DISPOSITION_MAX_CHARS), nullable=False),
        Column("text", Text, nullable=False),
        Column("at", Double, nullable=False),
        Index(f"{prefix}call_notes_call", "call_id"),
        Index(f"{prefix}call_notes_caller_at", "caller_e164", "at"),
        Index(f"{prefix}call_notes_note_id", "note_id", unique=True),
    )
    choices = Table(
        f"{prefix}caller_choices",
        metadata,
        Column("caller_e164", String(32), primary_key=True),
        Column("customer_id", String(128), nullable=False),
        Column("agent_id", String(128)),
        Column("at", Double, nullable=False),
    )
    logouts = Table(
        f"{prefix}session_logouts",
        metadata,
        Column("agent_id", String(128), primary_key=True),
        Column("not_before_ms", BigInteger, nullable=False),  # sessions issued until then are void
        Column("expires_at", Double, nullable=False),  # after this, those sessions expired anyway
    )
    rings = Table(
        f"{prefix}call_rings",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("source", String(64), nullable=False),
        Column("call_id", String(128), nullable=False),
        Column("agent_id", String(128), nullable=False),
        Column("ring_no", Integer, nullable=False),
        Column("rang_at", Double, nullable=False),
        Column("outcome", String(32), nullable=False),
        Column("ended_at", Double),
        Column("outbound", Boolean, nullable=False, default=False),
        Column("queue", String(128)),
        Column("caller_e164", String(32)),
        Column("caller_name", String(256)),
        Column("wrap_s", Double),  # on the answered ring: wrap-up after the call (WrapRecord)
        Column("talk_s", Double),  # on the answered ring: from the answer (or transfer) on
        UniqueConstraint(
            "source", "call_id", "agent_id", "ring_no", name=f"{prefix}call_rings_ring"
        ),
        Index(f"{prefix}call_rings_agent_rang", "agent_id", "rang_at"),
        Index(f"{prefix}call_rings_rang_report", "rang_at", *REPORTED_RING_COLUMNS),
    )
    audit = Table(
        f"{prefix}audit",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("audit_id", String(AUDIT_ID_MAX_CHARS), nullable=False),
        Column("at", Double, nullable=False),
        Column("actor", String(128), nullable=False),
        Column("action", String(16), nullable=False),
        Column("e164", String(32)),
        Column("call_id", String(128)),
        Column("detail", String(AUDIT_DETAIL_MAX_CHARS), nullable=False, default=""),
        Index(f"{prefix}audit_audit_id", "audit_id", unique=True),
        Index(f"{prefix}audit_e164_at", "e164", "at"),
        Index(f"{prefix}audit_actor_at", "actor", "at"),
        Index(f"{prefix}audit_at", "at"),
    )
    pauses = Table(
        f"{prefix}agent_pauses",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("agent_id", String(128), nullable=False),
        Column("reason", String(128), nullable=False, default=""),
        Column("started_at", Double, nullable=False),
        Column("ended_at", Double, nullable=False),
        UniqueConstraint("agent_id", "started_at", name=f"{prefix}agent_pauses_pause"),
        Index(f"{prefix}agent_pauses_started", "started_at"),
    )
    callbacks = build_callback_table(metadata, prefix)
    return Tables(calls, notes, choices, logouts, rings, callbacks, pauses, audit)


def iso(ts: float) -> str:
    """Epoch seconds as ISO-8601 UTC to the second: ``2026-11-20T10:02:00Z``."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
