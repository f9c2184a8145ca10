"""The demo's generated call history: plausible, the same every time, written once."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import MetaData, Table, distinct, func, select
from sqlalchemy.ext.asyncio import create_async_engine

from screenpop.store import Store
from screenpop.store.schema import build_tables
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
    gone = {c["call_id"]: c for c in history.calls if c["state"] == "abandoned"}
    items = history.callbacks
    assert items and all(i["call_id"] in gone and i["state"] == "closed" for i in items)
    assert all(i["waited_s"] >= 5 and i["e164"] for i in items)  # no short abandon, no withheld
    closers = Counter(i["closed_by"] for i in items)
    assert 0.7 < closers["agent"] / len(items) < 0.95 and closers["returned"] > 0
    assert all(i["called_back_at"] > i["created_at"] for i in items if i["closed_by"] == "agent")


def test_the_same_days_give_the_same_calls() -> None:
    assert make_history(UNTIL, NY) == make_history(UNTIL, NY)
    later = make_history(UNTIL + dt.timedelta(days=1), NY)
    assert later.calls[0] != make_history(UNTIL, NY).calls[0]  # the window moves with the date


@pytest.fixture
async def call_log(store_url: tuple[str, str]) -> AsyncIterator[tuple[str, str]]:
    """The URL and table prefix of an empty call log (its tables not created yet)."""
    url, prefix = store_url
    yield url, prefix
    store = Store(url, table_prefix=prefix)
    await store.start()
    await store.drop_tables()
    await store.aclose()


async def test_written_into_an_empty_call_log_only(call_log: tuple[str, str]) -> None:
    url, prefix = call_log
    history = make_history(UNTIL, NY)
    assert await seed_if_empty(url, history.tables, prefix) == len(history.calls)
    assert await seed_if_empty(url, history.tables, prefix) == 0  # it had calls: nothing added
    tables = build_tables(MetaData(), prefix)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            async def count(table: Table) -> int:
                return int(await conn.scalar(select(func.count()).select_from(table)) or 0)

            assert await count(tables.calls) == len(history.calls)
            assert await count(tables.rings) == len(history.rings)
            assert await count(tables.pauses) == len(history.pauses)
            assert await count(tables.callbacks) == len(history.callbacks)
            dispositions = select(func.count(distinct(tables.notes.c.disposition)))
            assert await conn.scalar(dispositions) == 5
            assert await conn.scalar(select(func.sum(tables.calls.c.transfers))) > 0
    finally:
        await engine.dispose()
