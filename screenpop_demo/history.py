"""A few weeks of made-up call history for the demo's call log, so the Reports page and the
scheduled reports have real figures to show from the first start.

:func:`make_history` returns plain rows (dicts keyed by the call log's column names, times in
epoch seconds): `screenpop demo` writes them into the call log when it is empty. The same days
give the same calls (a seed per day), so the history only moves as the calendar does.

The calls follow a call center's day in the center's zone: quiet before 09:00 and after 17:00,
peaks mid-morning and early afternoon, fewer calls at weekends; two queues (support busier than
sales); waits that grow with the load, callers who give up (a few within seconds: short
abandons), rings an agent missed before another answered, talk and wrap-up times, a disposition
on most answered calls, some transfers, and agents' pauses; the callers who gave up after a
while became callback items, each closed since: called back by an agent, or by the caller's
own return.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from screenpop_demo.customers import CUSTOMERS, SEED, NumberSource, make_customers

Row = dict[str, Any]

SOURCE = "history"  # the call log's `source` of every generated row
DAYS = 21
AGENTS = ("alice", "bob", "carol")
QUEUES = (("support", 0.68), ("sales", 0.32))
DISPOSITIONS = (
    ("resolved", 0.55),
    ("callback", 0.12),
    ("escalated", 0.08),
    ("sale", 0.15),
    ("no_action", 0.10),
)
PAUSE_REASONS = ("break", "lunch", "training", "after-call work")
# calls per hour of the day on a weekday (local time): the shape of a center's day
HOURLY = {8: 6, 9: 16, 10: 24, 11: 22, 12: 13, 13: 16, 14: 22, 15: 19, 16: 14, 17: 7}
WEEKEND_SHARE = 0.3
CALLBACK_MIN_WAIT_S = 5.0  # a caller who gave up sooner (a short abandon) is no callback item
CALLED_BACK_SHARE = 0.85  # of the items; the others were closed by the caller calling again


@dataclass
class History:
    """Rows for the call log's tables (see screenpop.store.schema)."""

    calls: list[Row] = field(default_factory=list)
    rings: list[Row] = field(default_factory=list)
    notes: list[Row] = field(default_factory=list)
    pauses: list[Row] = field(default_factory=list)  # agent_id, reason, started_at, ended_at
    callbacks: list[Row] = field(default_factory=list)  # all closed: old items are done

    def tables(self) -> dict[str, list[Row]]:
        """The rows by call-log table name."""
        return {
            "calls": self.calls,
            "call_rings": self.rings,
            "call_notes": self.notes,
            "agent_pauses": self.pauses,
            "callbacks": self.callbacks,
        }


def make_history(until: dt.date, tz: dt.tzinfo, days: int = DAYS) -> History:
    """The `days` local days before `until` (not included) in zone `tz`."""
    numbers = _numbers()
    history = History()
    for offset in range(days, 0, -1):
        day = until - dt.timedelta(days=offset)
        rng = random.Random(f"{SEED}-{day.isoformat()}")
        _one_day(history, rng, day, tz, numbers)
    return history


def _numbers() -> list[str]:
    rng = random.Random(SEED)
    customers = make_customers(rng, NumberSource(rng), CUSTOMERS)
    return [phone for c in customers for phone in c.phones]


@dataclass
class _Desk:
    """Who is free when, during one generated day."""

    free_at: dict[str, float]
    serial: int = 0


def _one_day(
    history: History, rng: random.Random, day: dt.date, tz: dt.tzinfo, numbers: Sequence[str]
) -> None:
    weekend = day.weekday() >= 5
    desk = _Desk({agent: 0.0 for agent in AGENTS})
    for hour, mean in HOURLY.items():
        start = dt.datetime.combine(day, dt.time(hour), tzinfo=tz).timestamp()
        count = _poisson(rng, mean * (WEEKEND_SHARE if weekend else 1.0))
        for at in sorted(start + rng.random() * 3600 for _ in range(count)):
            _one_call(history, rng, desk, at, load=mean / 24, numbers=numbers, day=day)
    if not weekend:
        _pauses(history, rng, day, tz)


def _one_call(
    history: History,
    rng: random.Random,
    desk: _Desk,
    at: float,
    load: float,
    numbers: Sequence[str],
    day: dt.date,
) -> None:
    desk.serial += 1
    call_id = f"h{day:%Y%m%d}.{desk.serial}"
    queue = _weighted(rng, QUEUES)
    caller = _caller(rng, numbers)
    agent = min(desk.free_at, key=lambda a: (desk.free_at[a], rng.random()))
    wait = max(desk.free_at[agent] - at, 0.0) + rng.expovariate(1 / (4 + 14 * load))
    patience = rng.expovariate(1 / 240)
    row: Row = {
        "source": SOURCE,
        "call_id": call_id,
        "caller_raw": caller or "anonymous",
        "caller_e164": caller,
        "caller_name": None,
        "queue": queue,
        "direction": "inbound",
        "started_at": at,
    }
    if patience < wait or rng.random() < 0.03:
        gave_up = min(patience, wait) if rng.random() > 0.25 else rng.uniform(1, 4.5)
        row |= {"agent_id": None, "state": "abandoned", "ended_at": at + gave_up}
        history.calls.append(row)
        if caller is not None and gave_up >= CALLBACK_MIN_WAIT_S:
            history.callbacks.append(_callback(row, gave_up))
        return
    answered = at + wait
    _missed_ring(history, rng, call_id, queue, caller, agent, answered)
    talk = rng.lognormvariate(math.log(200), 0.55)
    wrap = rng.uniform(5, 55)
    ended = answered + talk
    desk.free_at[agent] = ended + wrap
    transferred = queue == "support" and rng.random() < 0.06
    row |= {
        "agent_id": agent,
        "state": "ended",
        "answered_at": answered,
        "ended_at": ended,
        "transfers": 1 if transferred else 0,
        "wrap_s": wrap,
    }
    history.calls.append(row)
    history.rings.append(
        _ring(call_id, agent, answered - rng.uniform(2, 8), "answered", answered, queue, caller)
        | {"wrap_s": wrap, "talk_s": talk}
    )
    if rng.random() < 0.85:
        history.notes.append(
            {
                "note_id": f"{call_id}-note",
                "call_id": call_id,
                "caller_e164": caller,
                "agent_id": agent,
                "disposition": _weighted(rng, DISPOSITIONS),
                "text": "",
                "at": ended + wrap,
            }
        )


def _callback(call: Row, waited: float) -> Row:
    """The callback item of an abandoned call, closed: an agent called the caller back within
    the hour or so (mostly minutes), or the caller called again first. A generator of its own
    (seeded by the call) keeps the rest of the day's calls as they were."""
    rng = random.Random(call["call_id"])
    created = call["ended_at"]
    item: Row = {
        "source": SOURCE,
        "call_id": call["call_id"],
        "queue": call["queue"],
        "e164": call["caller_e164"],
        "reason": "abandoned",
        "waited_s": waited,
        "created_at": created,
        "state": "closed",
    }
    if rng.random() >= CALLED_BACK_SHARE:
        return item | {"closed_at": created + rng.uniform(300, 7200), "closed_by": "returned"}
    agent = rng.choice(AGENTS)
    called = created + rng.lognormvariate(math.log(900), 0.7)
    return item | {
        "taken_by": agent,
        "taken_at": called - rng.uniform(10, 60),
        "called_back_at": called,
        "call_back_call_id": f"{call['call_id']}-back",
        "closed_at": called + rng.uniform(60, 400),
        "closed_by": "agent",
        "disposition": _weighted(rng, DISPOSITIONS),
    }


def _missed_ring(
    history: History,
    rng: random.Random,
    call_id: str,
    queue: str,
    caller: str | None,
    answering: str,
    answered: float,
) -> None:
    """Now and then the call first rang another agent, who did not answer (rang out)."""
    others = [a for a in AGENTS if a != answering]
    if rng.random() < 0.09:
        other = rng.choice(others)
        rang = answered - rng.uniform(18, 26)
        history.rings.append(_ring(call_id, other, rang, "missed", rang + 15, queue, caller))


def _ring(
    call_id: str,
    agent: str,
    rang_at: float,
    outcome: str,
    ended_at: float,
    queue: str,
    caller: str | None,
) -> Row:
    return {
        "source": SOURCE,
        "call_id": call_id,
        "agent_id": agent,
        "ring_no": 1,
        "rang_at": rang_at,
        "outcome": outcome,
        "ended_at": ended_at,
        "outbound": False,
        "queue": queue,
        "caller_e164": caller,
        "caller_name": None,
    }


def _pauses(history: History, rng: random.Random, day: dt.date, tz: dt.tzinfo) -> None:
    for agent in AGENTS:
        lunch = dt.datetime.combine(day, dt.time(12), tzinfo=tz).timestamp()
        lunch += rng.uniform(0, 5400)
        history.pauses.append(_pause(agent, "lunch", lunch, rng.uniform(1800, 3600)))
        for hour in (10, 15):
            start = dt.datetime.combine(day, dt.time(hour), tzinfo=tz).timestamp()
            start += rng.uniform(0, 3000)
            history.pauses.append(_pause(agent, "break", start, rng.uniform(300, 900)))
        if rng.random() < 0.2:
            start = dt.datetime.combine(day, dt.time(16), tzinfo=tz).timestamp()
            history.pauses.append(_pause(agent, "training", start, 3600))


def _pause(agent: str, reason: str, start: float, length: float) -> Row:
    return {"agent_id": agent, "reason": reason, "started_at": start, "ended_at": start + length}


def _caller(rng: random.Random, numbers: Sequence[str]) -> str | None:
    roll = rng.random()
    if roll < 0.04:
        return None  # withheld
    if roll < 0.12:
        return f"+1212555{rng.randrange(200, 999):04d}"[:12]  # someone no back office knows
    return rng.choice(numbers)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _weighted(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]
