"""An agent's own calls of one day, as the agent page's "My calls" list shows them (README,
"My calls"): read from the call log, in the center's time zone."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from screenpop.callerid import normalize
from screenpop.localday import day_bounds, local_date, zone
from screenpop.store import Store, iso
from screenpop.store.agent_day import AgentCall


async def agent_day_json(
    store: Store, agent_id: str, day: dt.date | None, timezone: str, region: str
) -> dict[str, Any]:
    """``{"day", "calls": [...]}``: the agent's calls of `day` (default today in `timezone`),
    newest first. StoreError when the store does not answer."""
    tz = zone(timezone)
    day = day or local_date(time.time(), tz)
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=tz).timestamp()
    start, end = day_bounds(noon, tz)
    calls = await store.agent_day(agent_id, start, end)
    return {"day": day.isoformat(), "calls": [call_json(c, region) for c in calls]}


def call_json(call: AgentCall, region: str) -> dict[str, Any]:
    """One call of the list: the caller normalised for display, times in ISO-8601 UTC."""
    caller = normalize(call.caller_e164 or call.caller_raw, region)
    e164 = caller.e164 if caller.lookupable else None
    national = caller.national if caller.lookupable else None
    return {
        "call_id": call.call_id,
        "source": call.source,
        "direction": call.direction,
        "outcome": call.outcome,
        "reason": call.reason,
        "caller": {"e164": e164, "national": national, "name": call.caller_name},
        "customer": None if call.customer_id is None else {"customer_id": call.customer_id},
        "queue": call.queue,
        "rang_at": iso(call.rang_at),
        "answered_at": None if call.answered_at is None else iso(call.answered_at),
        "ended_at": None if call.ended_at is None else iso(call.ended_at),
        "talk_s": call.talk_s,
        "wrap_s": call.wrap_s,
    }
