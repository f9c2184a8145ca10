"""The callback report: per queue and interval (of the item's making), the callback items made,
called back (closed by an agent after a call back), returned (the caller called again and was
answered), still open (or taken), and the median and 90th percentile (nearest rank) of the time
from the item to the agent's call back, in seconds (README, "Callbacks")."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from screenpop.reports.intervals import Bucket, Buckets
from screenpop.reports.model import ReportOptions, ReportQuery
from screenpop.store.callbacks import figures_of, period_query
from screenpop.store.schema import Tables

COLUMNS = (
    "queue",
    "interval_start",
    "created",
    "called_back",
    "returned",
    "open",
    "median_call_back_s",
    "p90_call_back_s",
)


def columns(options: ReportOptions) -> tuple[str, ...]:
    return COLUMNS


async def build(
    conn: AsyncConnection, tables: Tables, query: ReportQuery, options: ReportOptions
) -> list[dict[str, Any]]:
    buckets = Buckets(query)
    params = {"start": buckets.start, "end": buckets.end}
    rows = (await conn.execute(period_query(tables.callbacks), params)).all()
    groups: dict[tuple[str, Bucket], list[Any]] = {}
    for row in rows:
        if query.queue is None or row.queue == query.queue:
            bucket = buckets.bucket(*buckets.key_at(row.created_at))
            groups.setdefault((row.queue, bucket), []).append(row)
    out = []
    for (queue, bucket), grouped in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1].order)):
        f = figures_of(queue, grouped)
        out.append(
            {
                "queue": queue,
                "interval_start": bucket.label,
                "created": f.created,
                "called_back": f.called_back,
                "returned": f.returned,
                "open": f.open,
                "median_call_back_s": f.median_s,
                "p90_call_back_s": f.p90_s,
            }
        )
    return out
