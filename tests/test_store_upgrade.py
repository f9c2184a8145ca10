"""A call log made before calls counted transfers (and before the report indexes) is brought up
to date at start, on SQLite and PostgreSQL, keeping its rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from screenpop.reports.model import ReportOptions, ReportQuery
from screenpop.reports.service import Reporter
from screenpop.store import Store
from screenpop.store.database import create_engine

OLD_CALLS = """CREATE TABLE {t}calls (
    id INTEGER PRIMARY KEY, source VARCHAR(64) NOT NULL, call_id VARCHAR(128) NOT NULL,
    caller_raw VARCHAR(256) NOT NULL, caller_e164 VARCHAR(32), caller_name VARCHAR(256),
    queue VARCHAR(128), agent_id VARCHAR(128), state VARCHAR(32) NOT NULL,
    direction VARCHAR(16) NOT NULL, started_at FLOAT NOT NULL, answered_at FLOAT,
    ended_at FLOAT, CONSTRAINT {t}calls_source_call_id UNIQUE (source, call_id))"""
OLD_ROW = """INSERT INTO {t}calls (id, source, call_id, caller_raw, queue, state, direction,
    started_at, answered_at, ended_at) VALUES (1, 'pbx', 'old', '', 'support', 'ended',
    'inbound', 1795000000, 1795000010, 1795000070)"""


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_an_old_calls_table_gains_transfers_and_its_index(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if database == "sqlite":
        url, prefix = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", ""
    else:
        url = request.getfixturevalue("postgres_url")
        prefix = request.getfixturevalue("unique_table") + "_"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(OLD_CALLS.format(t=prefix)))
        await conn.execute(text(OLD_ROW.format(t=prefix)))
    store = Store(url, table_prefix=prefix)
    try:
        await store.start()
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: inspect(c).get_columns(f"{prefix}calls"))
            indexes = await conn.run_sync(lambda c: inspect(c).get_indexes(f"{prefix}calls"))
        assert "transfers" in {c["name"] for c in columns}
        assert f"{prefix}calls_queue_started" in {i["name"] for i in indexes}
        (row,) = await store.calls_since(0)
        assert (row.call_id, row.transfers) == ("old", 0)
        again = Store(url, table_prefix=prefix)  # a second start finds nothing to add
        await again.start()
        await again.aclose()
        day = dt.date(2026, 11, 18)
        async with Reporter(url, table_prefix=prefix) as reporter:
            report = await reporter.run(ReportQuery("queues", day, day, tz="UTC"), ReportOptions())
        assert [(r["offered"], r["transfers"]) for r in report.rows] == [(1, 0)]
    finally:
        await store.drop_tables()
        await store.aclose()
        await engine.dispose()
