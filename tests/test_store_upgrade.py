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
OLD_RINGS = """CREATE TABLE {t}call_rings (
    id INTEGER PRIMARY KEY, source VARCHAR(64) NOT NULL, call_id VARCHAR(128) NOT NULL,
    agent_id VARCHAR(128) NOT NULL, ring_no INTEGER NOT NULL, rang_at FLOAT NOT NULL,
    outcome VARCHAR(32) NOT NULL, ended_at FLOAT, outbound BOOLEAN NOT NULL, queue VARCHAR(128),
    caller_e164 VARCHAR(32), caller_name VARCHAR(256), wrap_s FLOAT,
    CONSTRAINT {t}call_rings_ring UNIQUE (source, call_id, agent_id, ring_no))"""
OLD_RING = """INSERT INTO {t}call_rings (id, source, call_id, agent_id, ring_no, rang_at, outcome,
    ended_at, outbound, queue, wrap_s) VALUES (1, 'pbx', 'old', 'alice', 1, 1795000002,
    'answered', 1795000010, false, 'support', 15)"""
OLD_ROW = """INSERT INTO {t}calls (id, source, call_id, caller_raw, queue, state, direction,
    started_at, answered_at, ended_at) VALUES (1, 'pbx', 'old', '', 'support', 'ended',
    'inbound', 1795000000, 1795000010, 1795000070)"""


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_an_old_call_log_gains_its_new_columns_filled_in_and_its_index(
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
        await conn.execute(
            text(f"CREATE INDEX {prefix}calls_started ON {prefix}calls (started_at)")
        )
        await conn.execute(text(OLD_RINGS.format(t=prefix)))
        await conn.execute(text(OLD_RING.format(t=prefix)))
    store = Store(url, table_prefix=prefix)
    try:
        await store.start()
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: inspect(c).get_columns(f"{prefix}calls"))
            indexes = await conn.run_sync(lambda c: inspect(c).get_indexes(f"{prefix}calls"))
        assert "transfers" in {c["name"] for c in columns}
        names = {i["name"] for i in indexes}
        assert {f"{prefix}calls_queue_started", f"{prefix}calls_started_report"} <= names
        assert f"{prefix}calls_started" not in names  # replaced by calls_started_report
        (row,) = await store.calls_since(0)
        assert (row.call_id, row.transfers) == ("old", 0)
        again = Store(url, table_prefix=prefix)  # a second start finds nothing to add
        await again.start()
        await again.aclose()
        day = dt.date(2026, 11, 18)
        async with Reporter(url, table_prefix=prefix) as reporter:
            report = await reporter.run(ReportQuery("queues", day, day, tz="UTC"), ReportOptions())
            agents = await reporter.run(ReportQuery("agents", day, day, tz="UTC"), ReportOptions())
        # the old rows' talk and wrap-up are filled in from what the log already had
        assert [(r["offered"], r["transfers"], r["aht_s"]) for r in report.rows] == [(1, 0, 75.0)]
        assert [(r["agent_id"], r["talk_s"], r["wrap_s"]) for r in agents.rows] == [
            ("alice", 60.0, 15.0)
        ]
    finally:
        await store.drop_tables()
        await store.aclose()
        await engine.dispose()
