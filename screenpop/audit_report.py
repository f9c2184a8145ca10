"""The audit trail as a report: the rows about one number (`--number`) or one agent
(`--agent`) over a range of days in `[ui] timezone`, newest first. Reading it shows callers'
data, so the reading itself is recorded in the trail (action `report`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any

from screenpop.audit import audit_record, erasure_digest
from screenpop.callerid import normalize
from screenpop.commands import print_table
from screenpop.localday import zone
from screenpop.settings import Settings
from screenpop.store import Store, iso
from screenpop.store.audit_query import AUDIT_FIELDS, AuditFilter, audit_rows
from screenpop.store.schema import AuditRecord

FORMATS = ("table", "csv", "json")


def audit_filter(
    settings: Settings,
    number: str | None,
    agent: str | None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> AuditFilter:
    """Which rows: those of `number` (read like a caller id; its erasures too, by their
    digest) or of `agent`, from the start of day `start` to the end of day `end` (both
    included) in `[ui] timezone`. ValueError for neither or both, or not a number."""
    if (number is None) == (agent is None):
        raise ValueError("give one of --number or --agent")
    tz = zone(settings.ui.timezone)
    first = None if start is None else _midnight(start, tz)
    last = None if end is None else _midnight(end + dt.timedelta(days=1), tz)
    if number is None:
        return AuditFilter(actor=agent, start=first, end=last)
    caller = normalize(number, settings.phone.default_region)
    if not caller.lookupable or caller.e164 is None:
        raise ValueError(f"{number!r} is not a phone number ({caller.kind})")
    digest = erasure_digest(settings.server.session_secret, caller.e164)
    return AuditFilter(e164=caller.e164, digest=digest, start=first, end=last)


def _midnight(day: dt.date, tz: dt.tzinfo | None) -> float:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp()


def audit_json(record: AuditRecord) -> dict[str, Any]:
    """One row as the report shows it (`at` in ISO 8601 UTC)."""
    row: dict[str, Any] = {name: getattr(record, name) for name in AUDIT_FIELDS}
    row["at"] = iso(record.at)
    return row


async def read_audit(store: Store, which: AuditFilter, actor: str) -> list[dict[str, Any]]:
    """The rows `which` selects, newest first; the reading is recorded (by `actor`) after."""
    rows = [audit_json(record) for record in await audit_rows(store, which)]
    asked = f"audit number={which.e164}" if which.e164 else f"audit agent={which.actor}"
    await store.write([audit_record(actor, "report", which.e164, detail=asked)])
    return rows


def render(rows: Sequence[dict[str, Any]], fmt: str) -> str:
    """The rows as an aligned table, CSV (a header line) or a JSON array."""
    if fmt == "json":
        return json.dumps(list(rows), indent=2) + "\n"
    cells = [
        [("" if row[name] is None else str(row[name])) for name in AUDIT_FIELDS] for row in rows
    ]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows([list(AUDIT_FIELDS), *cells])
        return buffer.getvalue()
    buffer = io.StringIO()
    print_table([[name.upper() for name in AUDIT_FIELDS], *cells], buffer)
    return buffer.getvalue()
