"""Case 7: reports on a month of a 500-agent center (about a million calls, with their rings,
wrap-up, notes and pauses) generated into SQLite and PostgreSQL, and the time of a daily queue
report, a day of the agent report, and the month by day (issue 14: a daily report under 2 s).

The call log is written straight into the store's tables (the generator is the only writer);
the reports run through :class:`screenpop.reports.service.Reporter` as `screenpop report` does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.cases import CaseResult, Context
from screenpop.reports.model import ReportOptions, ReportQuery
from screenpop.reports.service import Reporter
from screenpop.store.database import create_engine
from screenpop.store.migrate import create_or_upgrade
from screenpop.store.schema import Tables, build_tables

TZ = "America/New_York"
FIRST_DAY = dt.date(2026, 11, 1)
QUEUES = ("support", "sales", "billing", "claims", "retention", "vip", "tech", "returns")
DISPOSITIONS = ("resolved", "callback", "escalated", "sale", "no_action")
REASONS = ("break", "lunch", "training", "after-call work", "")
OPTIONS = ReportOptions(20, 5, REASONS[:4])
BATCH = 5000


@dataclass(frozen=True)
class Volume:
    agents: int
    days: int
    calls_per_agent_day: int


@dataclass
class Target:
    """One database the month is loaded into."""

    url: str
    prefix: str  # table prefix ("" on the run's own SQLite file)
    metadata: MetaData
    tables: Tables
    engine: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name  # "sqlite" or "postgresql"


async def reports(ctx: Context) -> list[CaseResult]:
    """One result per database: how long loading took, and each report. The month is made
    once and written into both databases at the same time; each one's reports are then timed
    alone."""
    vol = Volume(*ctx.sizes.report_center)
    urls = [(f"sqlite+aiosqlite:///{ctx.folder / 'reports.db'}", "")]
    if ctx.postgres_url:
        urls.append((ctx.postgres_url, f"bench_{uuid.uuid4().hex[:8]}_"))
    targets: list[Target] = []
    try:
        for url, prefix in urls:
            targets.append(await _open(url, prefix))
        started = time.perf_counter()
        counts = await _generate(targets, vol)
        generated_s = time.perf_counter() - started
        results = [await _measure(t, vol, counts, generated_s) for t in targets]
    finally:
        for target in targets:
            await _close(target)
    if not ctx.postgres_url:
        results.append(CaseResult("7", "reports on PostgreSQL", vol.agents,
                                  skipped="PostgreSQL not reachable"))  # fmt: skip
    return results


async def _open(url: str, prefix: str) -> Target:
    metadata = MetaData()
    target = Target(url, prefix, metadata, build_tables(metadata, prefix), create_engine(url))
    async with target.engine.begin() as conn:
        await conn.run_sync(create_or_upgrade, metadata, target.tables)
    return target


async def _close(target: Target) -> None:
    if target.prefix:
        async with target.engine.begin() as conn:
            await conn.run_sync(target.metadata.drop_all)
    await target.engine.dispose()


async def _measure(
    target: Target, vol: Volume, counts: dict[str, int], generated_s: float
) -> CaseResult:
    if target.dialect == "postgresql":  # as autovacuum soon would after a load this size
        async with target.engine.begin() as conn:
            for table in target.metadata.sorted_tables:
                await conn.execute(text(f"ANALYZE {table.name}"))
    wall, cpu = await _time_reports(target.url, target.prefix, vol)
    dialect = target.dialect
    name = f"reports on {dialect}: {vol.agents} agents, {vol.days} days, {counts['calls']:,} calls"
    extra: dict[str, Any] = {"database": dialect, "rows": counts,
                             "generate_s": round(generated_s, 1), "report_s": wall,
                             "report_cpu_s": cpu}  # fmt: skip
    return CaseResult("7", name, vol.agents, extra=extra)


async def _time_reports(
    url: str, prefix: str, vol: Volume
) -> tuple[dict[str, float], dict[str, float]]:
    """Each report's wall seconds, and this process's CPU seconds over it (SQLite runs the
    query in this process: that is the query's own work, whatever else loads the machine)."""
    mid = FIRST_DAY + dt.timedelta(days=vol.days // 2)
    last = FIRST_DAY + dt.timedelta(days=vol.days - 1)
    asked = {
        "queues, one day by hour": ReportQuery("queues", mid, mid, "hour", None, TZ),
        "queues, one day by 15m": ReportQuery("queues", mid, mid, "15m", None, TZ),
        "agents, one day": ReportQuery("agents", mid, mid, "day", None, TZ),
        "dispositions, one day": ReportQuery("dispositions", mid, mid, "day", None, TZ),
        "queues, the month by day": ReportQuery("queues", FIRST_DAY, last, "day", None, TZ),
        "agents, the month by day": ReportQuery("agents", FIRST_DAY, last, "day", None, TZ),
        "queues, hour of day over the month": ReportQuery(
            "queues", FIRST_DAY, last, "hour_of_day", None, TZ
        ),
    }
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    async with Reporter(url, table_prefix=prefix) as reporter:
        for name, query in asked.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            report = await reporter.run(query, OPTIONS)
            wall[name] = round(time.perf_counter() - started, 3)
            cpu[name] = round(time.process_time() - cpu_started, 3)
            if not report.rows:
                raise AssertionError(f"{name}: no rows")
    return wall, cpu


async def _generate(targets: list[Target], vol: Volume) -> dict[str, int]:
    counts = {"calls": 0, "rings": 0, "notes": 0, "pauses": 0}
    rng = random.Random(14)
    for day in range(vol.days):
        calls: list[dict[str, Any]] = []
        rings: list[dict[str, Any]] = []
        notes: list[dict[str, Any]] = []
        for call, ring_rows, note in _day_calls(rng, vol, FIRST_DAY + dt.timedelta(days=day)):
            calls.append(call)
            rings.extend(ring_rows)
            if note is not None:
                notes.append(note)
        pauses = list(_day_pauses(rng, vol, FIRST_DAY + dt.timedelta(days=day)))
        day_rows = {"calls": calls, "rings": rings, "notes": notes, "pauses": pauses}
        await asyncio.gather(*(_write_day(t, day_rows) for t in targets))
        for key, rows in day_rows.items():
            counts[key] += len(rows)
    return counts


async def _write_day(target: Target, day_rows: dict[str, list[dict[str, Any]]]) -> None:
    for key, rows in day_rows.items():
        table = getattr(target.tables, key)
        for start in range(0, len(rows), BATCH):
            async with target.engine.begin() as conn:
                await _insert(conn, table, rows[start : start + BATCH])


async def _insert(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Rows of plain values (text, numbers, booleans, None) straight through the driver: a
    COPY on PostgreSQL, one executemany on SQLite. SQLAlchemy's own executemany spent most of
    the generation building each row's parameters, and this case ran past the bench's budget."""
    if not rows:
        return
    columns = list(rows[0])
    records = [tuple(row[c] for c in columns) for row in rows]
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql":
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
        return
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    await driver.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', records)


def _opening(day: dt.date) -> float:
    """08:00 in the center's zone on `day`, epoch seconds."""
    return dt.datetime.combine(day, dt.time(8), tzinfo=ZoneInfo(TZ)).timestamp()


def _day_calls(
    rng: random.Random, vol: Volume, day: dt.date
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]]:
    opening = _opening(day)
    n = vol.agents * vol.calls_per_agent_day
    for i in range(n):
        start = opening + rng.random() * 12 * 3600
        call_id = f"{day.isoformat()}-{i}"
        queue = QUEUES[i % len(QUEUES)]
        wait = rng.expovariate(1 / 25)
        n_agent = rng.randrange(vol.agents)
        agent = f"agent-{n_agent:04d}"
        abandoned = rng.random() < 0.08
        answered = None if abandoned else start + wait
        ended = start + wait if abandoned else start + wait + rng.expovariate(1 / 180)
        transfers = 1 if not abandoned and rng.random() < 0.03 else 0
        call = {"source": "pbx", "call_id": call_id, "caller_raw": "", "queue": queue,
                "caller_e164": f"+1212{rng.randrange(10**7):07d}",
                "agent_id": None if abandoned else agent, "direction": "inbound",
                "state": "abandoned" if abandoned else "ended", "started_at": start,
                "answered_at": answered, "ended_at": ended, "transfers": transfers,
                "wrap_s": None}  # fmt: skip
        rings = []
        if rng.random() < 0.3:  # rang another agent first, who missed it
            other = f"agent-{(n_agent + 1 + rng.randrange(vol.agents - 1)) % vol.agents:04d}"
            rings.append(_ring(call, other, "missed", start + 1, start + 16))
        if abandoned:
            rings.append(_ring(call, agent, "abandoned", start + 1, ended))
            note = None
        else:
            ring = _ring(call, agent, "answered", max(start, start + wait - 5), answered)
            ring["wrap_s"] = call["wrap_s"] = rng.uniform(0, 60)
            ring["talk_s"] = ended - start - wait
            rings.append(ring)
            note = None
            if rng.random() < 0.3:
                note = {"note_id": f"n-{call_id}", "call_id": call_id, "agent_id": agent,
                        "caller_e164": call["caller_e164"], "text": "",
                        "disposition": rng.choice(DISPOSITIONS), "at": ended + 20}  # fmt: skip
        yield call, rings, note


def _ring(
    call: dict[str, Any], agent: str, outcome: str, rang: float, ended: float | None
) -> dict[str, Any]:
    return {"source": "pbx", "call_id": call["call_id"], "agent_id": agent, "ring_no": 1,
            "rang_at": rang, "outcome": outcome, "ended_at": ended, "outbound": False,
            "queue": call["queue"], "caller_e164": call["caller_e164"], "caller_name": None,
            "wrap_s": None, "talk_s": None}  # fmt: skip


def _day_pauses(rng: random.Random, vol: Volume, day: dt.date) -> Iterator[dict[str, Any]]:
    opening = _opening(day)
    for a in range(vol.agents):
        for k, reason in enumerate(("break", "lunch", rng.choice(REASONS))):
            start = opening + (k + 1) * 3 * 3600 + rng.uniform(0, 1800)
            yield {"agent_id": f"agent-{a:04d}", "reason": reason, "started_at": start,
                   "ended_at": start + rng.uniform(300, 3600)}  # fmt: skip
