"""The agent report: per agent and interval, calls handled, missed rings, talk, wrap-up, handle
time and paused time by reason.

Rings count in the interval in which they rang: `handled` is the agent's answered rings
(inbound and their own outbound calls), `missed_rings` those that rang them and that they did
not answer (rang out, answered by another agent, or the caller hung up). `talk_s` runs from
when the agent got the call (its answer, or the transfer to them) until it left them (its end,
or their transfer of it); `wrap_s` is the wrap-up the board counts; `aht_s` is talk plus
wrap-up per handled call that left them.

Paused time is split exactly across the intervals a pause spans: one column per `[ui]
pause_reasons` entry (``paused_<reason>_s``, the reason's letters and digits, other characters
as ``_``), and `paused_other_s` for a pause without a reason or with one not in the list. With
a queue, the rings are those of that queue, and the pauses those of the agents they rang.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from screenpop.reports.intervals import Bucket, Buckets
from screenpop.reports.model import ReportOptions, ReportQuery
from screenpop.reports.sql import batches, mean, seconds
from screenpop.store.schema import MISSED_OUTCOMES, RING_ANSWERED, Tables

BASE_COLUMNS = (
    "agent_id",
    "interval_start",
    "handled",
    "missed_rings",
    "talk_s",
    "wrap_s",
    "aht_s",
    "paused_s",
)
OTHER = "paused_other_s"


def pause_column(reason: str) -> str:
    """The column of a pause reason: ``after-call work`` -> ``paused_after_call_work_s``."""
    return f"paused_{re.sub(r'[^0-9a-z]+', '_', reason.lower()).strip('_')}_s"


def columns(options: ReportOptions) -> tuple[str, ...]:
    reasons = dict.fromkeys(pause_column(r) for r in options.pause_reasons)
    return (*BASE_COLUMNS, *(c for c in reasons if c != OTHER), OTHER)


@dataclass(slots=True)
class _Sums:
    handled: int = 0
    missed: int = 0
    talk: float = 0.0
    wrap: float = 0.0
    finished: int = 0
    paused: dict[str, float] = field(default_factory=dict)

    def add(self, row: Any) -> None:
        self.handled += int(row.handled or 0)
        self.missed += int(row.missed or 0)
        self.talk += float(row.talk or 0.0)
        self.wrap += float(row.wrap or 0.0)
        self.finished += int(row.finished or 0)

    def row(self, agent_id: str, bucket: Bucket, names: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "agent_id": agent_id,
            "interval_start": bucket.label,
            "handled": self.handled,
            "missed_rings": self.missed,
            "talk_s": seconds(self.talk),
            "wrap_s": seconds(self.wrap),
            "aht_s": mean(self.talk + self.wrap, self.finished),
            "paused_s": seconds(sum(self.paused.values(), 0.0)),
        }
        for name in names[len(BASE_COLUMNS) :]:
            out[name] = seconds(self.paused.get(name, 0.0))
        return out


async def build(
    conn: AsyncConnection, tables: Tables, query: ReportQuery, options: ReportOptions
) -> list[dict[str, Any]]:
    buckets = Buckets(query)
    names = columns(options)
    sums: dict[tuple[str, Bucket], _Sums] = {}
    async for part in batches(conn, _rings(tables, buckets, query, conn.dialect.name)):
        for row in part:
            key = (row.agent_id, buckets.bucket(int(row.off), int(row.k)))
            sums.setdefault(key, _Sums()).add(row)
    rang = {agent_id for agent_id, _ in sums} if query.queue is not None else None
    known = set(names)
    async for part in batches(conn, _pauses(tables, buckets)):
        for row in part:
            if rang is not None and row.agent_id not in rang:
                continue
            column = pause_column(row.reason) if row.reason else OTHER
            column = column if column in known else OTHER
            for bucket, spent in buckets.split(float(row.started_at), float(row.ended_at)):
                paused = sums.setdefault((row.agent_id, bucket), _Sums()).paused
                paused[column] = paused.get(column, 0.0) + spent
    ordered = sorted(sums.items(), key=lambda item: (item[0][0], item[0][1].order))
    return [s.row(agent_id, bucket, names) for (agent_id, bucket), s in ordered]


def _rings(tables: Tables, buckets: Buckets, query: ReportQuery, dialect: str) -> Any:
    r = tables.rings.c
    off, key, grouped = buckets.group_sql(r.rang_at, dialect)
    answered = r.outcome == RING_ANSWERED
    where = [r.rang_at >= buckets.start, r.rang_at < buckets.end]
    if query.queue is not None:
        where.append(r.queue == query.queue)
    return (
        select(
            r.agent_id,
            off.label("off"),
            key.label("k"),
            func.sum(case((answered, 1), else_=0)).label("handled"),
            func.sum(case((r.outcome.in_(MISSED_OUTCOMES), 1), else_=0)).label("missed"),
            func.sum(case((answered, r.talk_s))).label("talk"),
            func.sum(case((answered, r.wrap_s))).label("wrap"),
            func.count(case((answered, r.talk_s))).label("finished"),
        )
        .where(*where)
        .group_by(r.agent_id, *grouped)
    )


def _pauses(tables: Tables, buckets: Buckets) -> Any:
    p = tables.pauses.c
    return (
        select(p.agent_id, p.reason, p.started_at, p.ended_at)
        .where(p.started_at < buckets.end, p.ended_at > buckets.start)
        .order_by(p.agent_id, p.started_at)
    )
