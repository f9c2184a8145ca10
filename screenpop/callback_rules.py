"""Which calls make callback items, and which close them: pure rules over a call that the call
log just wrote (README, "Callbacks"). The writes they give go to the store writer with the
call's own row, so they wait in the outbox with it while the store is away."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from screenpop.callback_settings import CallbackSettings
from screenpop.calls import Call
from screenpop.events import CallState
from screenpop.store.callback_table import ABANDONED, MISSED, CallbackRecord, CallbackReturn
from screenpop.store.schema import Write


def callback_writes(
    call: Call, e164: str | None, summary: Mapping[str, Any], cfg: CallbackSettings
) -> list[Write]:
    """The callback writes `call` (as just logged) makes: a caller's inbound call answered
    closes their open items (returned); an inbound queue call that ended unanswered makes an
    item when the caller gave up after waiting at least `min_wait_s`, or (with `missed`) when
    the PBX ended it, unabandoned, after it rang agents. A caller without a number makes none."""
    if not cfg.enabled or e164 is None or call.outbound:
        return []
    if call.active:
        if call.state is CallState.ANSWERED and call.answered_at is not None:
            return [CallbackReturn(e164, call.call_id, call.answered_at)]
        return []
    if call.state is not CallState.ABANDONED or not call.queue or call.ended_at is None:
        return []
    reason = _reason(call, cfg)
    if reason is None:
        return []
    name = summary.get("name") or call.caller_name
    customer = summary.get("customer_id")
    return [
        CallbackRecord(
            source=call.source,
            call_id=call.call_id,
            queue=call.queue,
            e164=e164,
            reason=reason,
            waited_s=waited(call),
            created_at=call.ended_at,
            name=None if name is None else str(name),
            customer_id=None if customer is None else str(customer),
        )
    ]


def waited(call: Call) -> float:
    """How long the caller waited, from the call's start to its end."""
    return max(0.0, (call.ended_at or call.started_at) - call.started_at)


def _reason(call: Call, cfg: CallbackSettings) -> str | None:
    if not call.gave_up and call.popped:  # the PBX ended it after agents rang: missed
        return MISSED if cfg.missed else None
    return ABANDONED if waited(call) >= cfg.min_wait_s else None
