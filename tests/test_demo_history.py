"""The demo's generated call history: plausible, the same every time, written once."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from screenpop.store.seed import seed_if_empty
from screenpop_demo.history import AGENTS, make_history

NY = ZoneInfo("America/New_York")
UNTIL = dt.date(2026, 11, 23)  # a Monday


def test_three_weeks_of_a_centers_calls() -> None:
    history = make_history(UNTIL, NY)
    days = Counter(dt.datetime.fromtimestamp(c["started_at"], NY).date() for c in history.calls)
    assert min(days) == UNTIL - dt.timedelta(days=21) and max(days) < UNTIL
    weekdays = [n for d, n in days.items() if d.weekday() < 5]
    weekends = [n for d, n in days.items() if d.weekday() >= 5]
    assert min(weekdays) > max(weekends)  # quieter at weekends
    states = Counter(c["state"] for c in history.calls)
    assert 0.03 < states["abandoned"] / len(history.calls) < 0.2
    assert sum(c.get("transfers", 0) for c in history.calls) > 0
    hours = Counter(dt.datetime.fromtimestamp(c["started_at"], NY).hour for c in history.calls)
    assert set(hours) <= set(range(8, 18)) and hours[10] > hours[8]
    assert {c["queue"] for c in history.calls} == {"support", "sales"}
    assert {r["outcome"] for r in history.rings} == {"answered", "missed"}
    assert {c["agent_id"] for c in history.calls if c["agent_id"]} == set(AGENTS)
    waits = [c["answered_at"] - c["started_at"] for c in history.calls if c.get("answered_at")]
    assert 0.5 < sum(w <= 20 for w in waits) / len(waits) < 0.95  # a service level to watch
    assert {p["reason"] for p in history.pauses} >= {"lunch", "break"}


def test_the_same_days_give_the_same_calls() -> None:
    assert make_history(UNTIL, NY) == make_history(UNTIL, NY)
    later = make_history(UNTIL + dt.timedelta(days=1), NY)
    assert later.calls[0] != make_history(UNTIL, NY).calls[0]  # the window moves with the date


async def test_written_into_an_empty_call_log_only(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'log.db'}"
    history = make_history(UNTIL, NY)
    assert await seed_if_empty(url, history.tables) == len(history.calls)
    assert await seed_if_empty(url, history.tables) == 0  # it had calls: nothing added
    engine = create_engine(f"sqlite:///{tmp_path / 'log.db'}")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM calls")) == len(history.calls)
        assert conn.scalar(text("SELECT count(*) FROM call_rings")) == len(history.rings)
        assert conn.scalar(text("SELECT count(DISTINCT disposition) FROM call_notes")) == 5
        assert conn.scalar(text("SELECT count(*) FROM agent_pauses")) == len(history.pauses)
        assert conn.scalar(text("SELECT sum(transfers) FROM calls")) > 0
    engine.dispose()
