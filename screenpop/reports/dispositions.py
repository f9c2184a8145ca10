"""The disposition report: per queue and interval (of the call's start), how many calls got
each disposition in an agent's note. A call noted twice with one disposition counts once; with
two dispositions, once under each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from screenpop.reports.intervals import Bucket, Buckets
from screenpop.reports.model import ReportOptions, ReportQuery
from screenpop.reports.sql import batches
from screenpop.store.schema import Tables

COLUMNS = ("queue", "interval_start", "disposition", "calls")


def columns(options: ReportOptions) -> tuple[str, ...]:
    return COLUMNS


async def build(
    conn: AsyncConnection, tables: Tables, query: ReportQuery, options: ReportOptions
) -> list[dict[str, Any]]:
    buckets = Buckets(query)
    counts: dict[tuple[str, Bucket, str], int] = {}
    async for part in batches(conn, _statement(tables, buckets, query, conn.dialect.name)):
        for row in part:
            key = (row.queue, buckets.bucket(int(row.off), int(row.k)), row.disposition)
            counts[key] = counts.get(key, 0) + int(row.calls)
    ordered = sorted(counts.items(), key=lambda item: (item[0][0], item[0][1].order, item[0][2]))
    return [
        {"queue": queue, "interval_start": bucket.label, "disposition": disposition, "calls": n}
        for (queue, bucket, disposition), n in ordered
    ]


def _statement(tables: Tables, buckets: Buckets, query: ReportQuery, dialect: str) -> Any:
    c, n = tables.calls.c, tables.notes.c
    off, key, grouped = buckets.group_sql(c.started_at, dialect)
    where = [c.queue.is_not(None), c.started_at >= buckets.start, c.started_at < buckets.end]
    if query.queue is not None:
        where.append(c.queue == query.queue)
    return (
        select(
            c.queue,
            off.label("off"),
            key.label("k"),
            n.disposition,
            func.count(func.distinct(c.id)).label("calls"),
        )
        .select_from(tables.calls.join(tables.notes, and_(n.call_id == c.call_id)))
        .where(*where)
        .group_by(c.queue, n.disposition, *grouped)
    )
