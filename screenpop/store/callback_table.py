"""The `callbacks` table: callers to call back (README, "Callbacks"), and the two writes that
reach it through the store writer (so through the outbox while the store is away):
:class:`CallbackRecord` makes an item, :class:`CallbackReturn` closes a caller's open items when
they called again and were answered. Taking, releasing and closing an item are answered at once
by :mod:`screenpop.store.callbacks`.

An item is ``open`` (nobody has it), ``taken`` (one agent calls back: `taken_by`) or ``closed``
(`closed_by` ``agent`` with a disposition, or ``returned``: the caller's own call was answered).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Double, Index, Integer, MetaData, String, Table, UniqueConstraint

OPEN, TAKEN, CLOSED = "open", "taken", "closed"
STATES = (OPEN, TAKEN, CLOSED)
BY_AGENT, RETURNED = "agent", "returned"  # closed_by
ABANDONED, MISSED = "abandoned", "missed"  # why the item exists


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """A new item for the caller of an ended call; writing it twice makes one item (unique by
    the call's source and id). Times are epoch seconds."""

    source: str
    call_id: str
    queue: str
    e164: str
    reason: str  # ABANDONED or MISSED
    waited_s: float
    created_at: float
    name: str | None = None  # the caller's card summary when the call ended
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class CallbackReturn:
    """The caller `e164` called again (`call_id`) and was answered at `at`: their items made
    before then that are still open or taken close as ``returned``. Twice changes nothing."""

    e164: str
    call_id: str
    at: float


def build_callback_table(metadata: MetaData, prefix: str = "") -> Table:
    """The callbacks table, named with `prefix` like the store's other tables."""
    return Table(
        f"{prefix}callbacks",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("source", String(64), nullable=False),
        Column("call_id", String(128), nullable=False),  # the abandoned (or missed) call
        Column("queue", String(128), nullable=False),
        Column("e164", String(32), nullable=False),
        Column("name", String(256)),
        Column("customer_id", String(128)),
        Column("reason", String(16), nullable=False),
        Column("waited_s", Double, nullable=False),
        Column("created_at", Double, nullable=False),
        Column("state", String(16), nullable=False, default=OPEN),
        Column("taken_by", String(128)),
        Column("taken_at", Double),
        Column("closed_at", Double),
        Column("disposition", String(64)),
        Column("closed_by", String(16)),  # BY_AGENT or RETURNED
        Column("call_back_call_id", String(128)),  # the call that reached the caller again
        Column("called_back_at", Double),  # when the agent dialled it
        UniqueConstraint("source", "call_id", name=f"{prefix}callbacks_call"),
        Index(f"{prefix}callbacks_state_queue", "state", "queue"),
        Index(f"{prefix}callbacks_e164_state", "e164", "state"),
        Index(f"{prefix}callbacks_created", "created_at"),
    )
