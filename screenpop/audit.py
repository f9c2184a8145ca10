"""The audit trail: who saw which caller's data, written to the call log's `audit` table.

One call per event, each only queued on the store writer (which writes in batches, through the
durable outbox while the store is away), so recording never waits on the database and never
delays a pop. `[audit] enabled = false` records nothing; an erasure is recorded by
`screenpop forget` with only a keyed digest of the number (:func:`erasure_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable

from screenpop.callerid import normalize
from screenpop.store.schema import AUDIT_DETAIL_MAX_CHARS, AuditRecord
from screenpop.store.writer import StoreWriter

DIGEST_PREFIX = "hmac-sha256:"


def erasure_digest(secret: str, e164: str) -> str:
    """The number as an erasure's audit row keeps it: an HMAC-SHA256 keyed with the session
    secret, so whoever holds the number and the secret can show it was erased, and the row
    alone does not give the number back."""
    mac = hmac.new(secret.encode(), e164.encode(), hashlib.sha256).hexdigest()
    return DIGEST_PREFIX + mac


def audit_record(
    actor: str,
    action: str,
    e164: str | None = None,
    call_id: str | None = None,
    detail: str = "",
    at: float | None = None,
) -> AuditRecord:
    """A new audit row (a fresh id, now unless `at`), its detail cut to the column's size."""
    return AuditRecord(
        audit_id=uuid.uuid4().hex,
        at=time.time() if at is None else at,
        actor=actor,
        action=action,
        e164=e164,
        call_id=call_id or None,
        detail=detail[:AUDIT_DETAIL_MAX_CHARS],
    )


class AuditTrail:
    """Records who saw what; `enabled` is read on every event (a reload is seen at once)."""

    def __init__(self, writer: StoreWriter, enabled: Callable[[], bool]) -> None:
        self._writer = writer
        self._enabled = enabled

    def pop(self, agent_id: str, e164: str | None, call_id: str) -> None:
        """A call's card popped on the agent's tabs."""
        self._add(agent_id, "pop", e164, call_id)

    def card_read(self, actor: str, e164: str) -> None:
        """A card read through the API (`GET /api/cards/{number}`)."""
        self._add(actor, "card_read", e164)

    def search(self, actor: str, query: str, region: str) -> None:
        """A customer search: the query is kept, never the results; a query that reads as a
        phone number (in `region`) is filed under it, so erasing that caller erases it too."""
        number = normalize(query, region)
        e164 = number.e164 if number.lookupable else None
        self._add(actor, "search", e164, detail=f"q={query}")

    def report(self, actor: str, e164: str | None, detail: str) -> None:
        """A report that shows callers' data: about the caller `e164` (None: several), what
        was asked in `detail`."""
        self._add(actor, "report", e164, detail=detail)

    def _add(
        self, actor: str, action: str, e164: str | None, call_id: str = "", detail: str = ""
    ) -> None:
        if self._enabled():
            self._writer.queue(audit_record(actor, action, e164, call_id, detail))
