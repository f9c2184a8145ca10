"""The audit report: who saw one caller's data (`number`, with the erasures of that number,
found by their digest) or what one agent saw (`agent`), over the local days of the range,
newest first (README, "Privacy: retention, erasure and audit"). It shows callers' data, so its
own reading is audited (:func:`reading`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from screenpop.audit import erasure_digest
from screenpop.callerid import normalize
from screenpop.errors import ReportError
from screenpop.localday import zone
from screenpop.reports.model import ReportOptions, ReportQuery
from screenpop.store import iso
from screenpop.store.audit_query import AUDIT_FIELDS, AuditFilter, audit_query
from screenpop.store.schema import Tables

COLUMNS = AUDIT_FIELDS  # at (ISO 8601 UTC), actor, action, e164, call_id, detail


def columns(options: ReportOptions) -> tuple[str, ...]:
    return COLUMNS


def subject(query: ReportQuery, options: ReportOptions) -> str | None:
    """The caller the report is about (E.164), None for an agent's. ReportError unless exactly
    one of `number` and `agent` is given, or for a number that is not one."""
    if (query.number is None) == (query.agent is None):
        raise ReportError("the audit report needs one of number or agent")
    if query.number is None:
        return None
    caller = normalize(query.number, options.region)
    if not caller.lookupable or caller.e164 is None:
        raise ReportError(f"number: {query.number!r} is not a phone number ({caller.kind})")
    return caller.e164


def reading(query: ReportQuery, options: ReportOptions) -> tuple[str | None, str]:
    """What the reading of this report leaves in the audit trail: (caller, detail). A number's
    reading keeps the number's erasure digest, not the number: looking up whether a caller was
    erased must not write their number back into the trail (the audit report of that number
    still finds the reading by the digest)."""
    e164 = subject(query, options)
    span = f"{query.start}..{query.end}"
    if e164 is None:
        return None, f"audit agent={query.agent} {span}"
    if options.audit_key:
        return None, f"audit number={erasure_digest(options.audit_key, e164)} {span}"
    return e164, f"audit number={e164} {span}"


async def build(
    conn: AsyncConnection, tables: Tables, query: ReportQuery, options: ReportOptions
) -> list[dict[str, Any]]:
    e164 = subject(query, options)
    tz = zone(query.tz)
    which = AuditFilter(
        e164=e164,
        digest=erasure_digest(options.audit_key, e164) if e164 and options.audit_key else None,
        actor=query.agent if e164 is None else None,
        start=_midnight(query.start, tz),
        end=_midnight(query.end + dt.timedelta(days=1), tz),
    )
    rows = (await conn.execute(audit_query(tables, which))).all()
    return [{**row._asdict(), "at": iso(row.at)} for row in rows]


def _midnight(day: dt.date, tz: dt.tzinfo | None) -> float:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp()
