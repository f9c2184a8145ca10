"""Reading the audit trail: who saw a caller's data, or what an agent saw, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, or_, select

from screenpop.store.call_log import Store
from screenpop.store.schema import AuditRecord, Tables

AUDIT_FIELDS = ("at", "actor", "action", "e164", "call_id", "detail")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which rows: those about `e164` (and those whose detail holds `digest`, the same number's:
    its erasures and the readings of its audit), or those of `actor`; between `start`
    (included) and `end` (excluded), epoch s."""

    e164: str | None = None
    digest: str | None = None
    actor: str | None = None
    start: float | None = None
    end: float | None = None
    limit: int = 10_000


def audit_query(tables: Tables, which: AuditFilter) -> Select[tuple[object, ...]]:
    a = tables.audit.c
    query = select(a.audit_id, a.at, a.actor, a.action, a.e164, a.call_id, a.detail)
    if which.e164 is not None:
        about: ColumnElement[bool] = a.e164 == which.e164
        if which.digest is not None:  # an erasure (detail: the digest), or a reading of it
            about = or_(about, a.detail.contains(which.digest, autoescape=True))
        query = query.where(about)
    if which.actor is not None:
        query = query.where(a.actor == which.actor)
    if which.start is not None:
        query = query.where(a.at >= which.start)
    if which.end is not None:
        query = query.where(a.at < which.end)
    return query.order_by(a.at.desc(), a.id.desc()).limit(which.limit)


async def audit_rows(store: Store, which: AuditFilter) -> list[AuditRecord]:
    """The audit rows `which` selects, newest first. StoreError when the store fails."""
    rows = await store.rows(audit_query(store.tables, which), "read the audit trail")
    return [AuditRecord(**row._asdict()) for row in rows]
