"""Reading the demo "CRM": the latest rows of ``crm_notes`` in ``demo-accounting.db``, which the
accounting connector's write-back fills (every saved note and every call's end, once each)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from screenpop_demo.back_office import ACCOUNTING

LATEST = 50  # rows the demo's CRM page shows

_COLUMNS = (
    "record_id, kind, call_id, customer_id, e164, agent, disposition, text, at, direction,"
    " queue, talk_s"
)


@dataclass(frozen=True, slots=True)
class CrmRow:
    """One row of ``crm_notes``: a note or a call's end as the back office keeps it."""

    record_id: str
    kind: str
    call_id: str
    customer_id: str | None
    e164: str | None
    agent: str | None
    disposition: str | None
    text: str | None
    at: str | None
    direction: str | None
    queue: str | None
    talk_s: float | None


def latest_crm_rows(folder: Path, limit: int = LATEST) -> list[CrmRow]:
    """The newest `limit` rows of the demo CRM in `folder`, newest first (by ``at``, then the
    order they arrived). Blocking: run it in a thread. An absent file is an empty CRM."""
    path = folder / ACCOUNTING
    if not path.exists():
        return []
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=2.0)) as db:
        cursor = db.execute(
            f"SELECT {_COLUMNS} FROM crm_notes ORDER BY at DESC, rowid DESC LIMIT ?",
            (limit,),
        )
        return [CrmRow(*row) for row in cursor.fetchall()]
