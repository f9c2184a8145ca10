"""The queue report: per queue and interval, calls offered, answered and abandoned, the service
level, waits, handle time and transfers.

Counted over inbound calls with a queue, in the interval in which they started:

* a call is *answered* once an agent took it; its wait is start to answer;
* a call that ended unanswered is *abandoned*, its wait is start to end; one that waited less
  than `short_abandon_s` is a *short abandon*, counted apart (not in `abandoned`), and left out
  of the service level;
* `answered_within_sl`: answered after a wait of at most `service_level_s` (exactly the
  threshold is within); `service_level` is that, in percent, of answered + abandoned;
* `asa_s` is the mean wait of answered calls, `avg_wait_s` and `max_wait_s` the mean and the
  longest wait of every call answered or abandoned (short abandons too);
* `aht_s` is talk (answer to end) plus wrap-up (as the board counts it) per answered call that
  ended; `transfers` how many times calls moved from one agent to another.

A call still waiting counts in `offered` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from screenpop.reports.intervals import Bucket, Buckets
from screenpop.reports.model import ReportOptions, ReportQuery
from screenpop.reports.sql import batches, mean, percent, seconds
from screenpop.store.schema import Tables

COLUMNS = (
    "queue",
    "interval_start",
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_within_sl",
    "service_level",
    "asa_s",
    "avg_wait_s",
    "max_wait_s",
    "aht_s",
    "transfers",
)


@dataclass(slots=True)
class _Sums:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0  # short ones included
    short: int = 0
    within: int = 0
    answer_wait: float = 0.0
    wait: float = 0.0
    waited: int = 0
    max_wait: float | None = None
    talk: float = 0.0
    wrap: float = 0.0
    finished: int = 0
    transfers: int = 0

    def add(self, row: Any) -> None:
        self.offered += int(row.offered)
        self.answered += int(row.answered)
        self.abandoned += int(row.abandoned or 0)
        self.short += int(row.short or 0)
        self.within += int(row.within or 0)
        self.answer_wait += float(row.answer_wait or 0.0)
        self.wait += float(row.wait or 0.0)
        self.waited += int(row.waited)
        if row.max_wait is not None:
            self.max_wait = max(self.max_wait or 0.0, float(row.max_wait))
        self.talk += float(row.talk or 0.0)
        self.wrap += float(row.wrap or 0.0)
        self.finished += int(row.finished)
        self.transfers += int(row.transfers or 0)

    def row(self, queue: str, bucket: Bucket) -> dict[str, Any]:
        abandoned = self.abandoned - self.short
        return {
            "queue": queue,
            "interval_start": bucket.label,
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": abandoned,
            "short_abandoned": self.short,
            "answered_within_sl": self.within,
            "service_level": percent(self.within, self.answered + abandoned),
            "asa_s": mean(self.answer_wait, self.answered),
            "avg_wait_s": mean(self.wait, self.waited),
            "max_wait_s": seconds(self.max_wait),
            "aht_s": mean(self.talk + self.wrap, self.finished),
            "transfers": self.transfers,
        }


def columns(options: ReportOptions) -> tuple[str, ...]:
    return COLUMNS


async def build(
    conn: AsyncConnection, tables: Tables, query: ReportQuery, options: ReportOptions
) -> list[dict[str, Any]]:
    buckets = Buckets(query)
    dialect = conn.dialect.name
    sums: dict[tuple[str, Bucket], _Sums] = {}
    async for part in batches(conn, _calls(tables, buckets, query, options, dialect)):
        for row in part:
            key = (row.queue, buckets.bucket(int(row.off), int(row.k)))
            sums.setdefault(key, _Sums()).add(row)
    ordered = sorted(sums.items(), key=lambda item: (item[0][0], item[0][1].order))
    return [s.row(queue, bucket) for (queue, bucket), s in ordered]


def _offered(tables: Tables, buckets: Buckets, query: ReportQuery) -> Any:
    c = tables.calls.c
    where = [
        c.direction == "inbound",
        c.queue.is_not(None),
        c.started_at >= buckets.start,
        c.started_at < buckets.end,
    ]
    if query.queue is not None:
        where.append(c.queue == query.queue)
    return and_(*where)


def _calls(
    tables: Tables, buckets: Buckets, query: ReportQuery, options: ReportOptions, dialect: str
) -> Any:
    c = tables.calls.c
    off, key, grouped = buckets.group_sql(c.started_at, dialect)
    answered = c.answered_at.is_not(None)
    abandoned = and_(c.answered_at.is_(None), c.ended_at.is_not(None))
    answer_wait = c.answered_at - c.started_at
    wait = func.coalesce(c.answered_at, c.ended_at) - c.started_at
    finished = and_(answered, c.ended_at.is_not(None))
    short = and_(abandoned, c.ended_at - c.started_at < cast(options.short_abandon_s, Float))
    within = and_(answered, answer_wait <= cast(options.service_level_s, Float))
    return (
        select(
            c.queue,
            off.label("off"),
            key.label("k"),
            func.count().label("offered"),
            func.count(c.answered_at).label("answered"),
            func.sum(case((abandoned, 1), else_=0)).label("abandoned"),
            func.sum(case((short, 1), else_=0)).label("short"),
            func.sum(case((within, 1), else_=0)).label("within"),
            func.sum(answer_wait).label("answer_wait"),
            func.sum(wait).label("wait"),
            func.count(wait).label("waited"),
            func.max(wait).label("max_wait"),
            func.sum(case((finished, c.ended_at - c.answered_at))).label("talk"),
            func.sum(case((finished, c.wrap_s))).label("wrap"),
            func.count(case((finished, 1))).label("finished"),
            func.sum(c.transfers).label("transfers"),
        )
        .where(_offered(tables, buckets, query))
        .group_by(c.queue, *grouped)
    )
