"""What a report is asked for (:class:`ReportQuery`), how it counts (:class:`ReportOptions`)
and what it gives (:class:`Report`): columns and rows, as CSV, JSON or a text table."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from screenpop.errors import ReportError
from screenpop.settings import Settings

INTERVALS = ("15m", "hour", "day", "week", "month", "hour_of_day", "day_of_week")
"""Bucket sizes; the last two are distributions: all the days' same hour (or weekday) together."""
MAX_DAYS = 366 * 3  # the longest range one report covers
MAX_DAYS_BY = {"15m": 31, "hour": 366}  # fine buckets: at most this many days (rows stay few)


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """One report: `kind` over the local days `start` to `end` (both included), in buckets of
    `interval`, for one queue or all (`queue` None), in the zone `tz` ("" = the server's)."""

    kind: str
    start: dt.date
    end: dt.date
    interval: str = "day"
    queue: str | None = None
    tz: str = ""

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise ReportError(f"interval: {self.interval!r} is not one of {', '.join(INTERVALS)}")
        if self.start > self.end:
            raise ReportError(f"from ({self.start}) is after to ({self.end})")
        most = MAX_DAYS_BY.get(self.interval, MAX_DAYS)
        if (self.end - self.start).days >= most:
            raise ReportError(f"a report by {self.interval} covers at most {most} days")


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """How the reports count, from the config: `service_level_s` (`[board]`), the short
    abandon threshold (`[reports]`), the pause reasons that get a column (`[ui]`)."""

    service_level_s: float = 20.0
    short_abandon_s: float = 5.0
    pause_reasons: tuple[str, ...] = ()


def options_from(settings: Settings) -> ReportOptions:
    return ReportOptions(
        service_level_s=settings.board.service_level_s,
        short_abandon_s=settings.reports.short_abandon_s,
        pause_reasons=tuple(settings.ui.pause_reasons),
    )


def parse_date(name: str, text: str | None) -> dt.date:
    """`text` as a YYYY-MM-DD date; ReportError naming the parameter `name` otherwise."""
    if not text:
        raise ReportError(f"{name}: a date (YYYY-MM-DD) is required")
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


def parse_query(
    kind: str,
    start: str | None,
    end: str | None,
    interval: str | None = None,
    queue: str | None = None,
    tz: str = "",
) -> ReportQuery:
    """The query the command line or the API asks for, its texts checked (ReportError)."""
    return ReportQuery(
        kind=kind,
        start=parse_date("from", start),
        end=parse_date("to", end),
        interval=interval or "day",
        queue=queue or None,
        tz=tz,
    )


@dataclass(frozen=True, slots=True)
class Report:
    """A finished report. Each row maps every column to a number, a text, or None (nothing to
    divide: shown empty)."""

    query: ReportQuery
    columns: tuple[str, ...]
    rows: Sequence[dict[str, Any]]

    @property
    def kind(self) -> str:
        return self.query.kind

    @property
    def filename(self) -> str:
        """A name for the CSV download: ``queues_2026-11-01_2026-11-30_day.csv``."""
        q = self.query
        queue = f"_{_safe(q.queue)}" if q.queue else ""
        return f"{q.kind}_{q.start}_{q.end}_{q.interval}{queue}.csv"

    def to_csv(self) -> str:
        """RFC 4180 CSV (CRLF line ends) with a header line of the column names."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([_cell(row[c]) for c in self.columns])
        return out.getvalue()

    def to_json(self) -> dict[str, Any]:
        q = self.query
        return {
            "kind": q.kind,
            "from": q.start.isoformat(),
            "to": q.end.isoformat(),
            "interval": q.interval,
            "timezone": q.tz or "local",
            "queue": q.queue,
            "columns": list(self.columns),
            "rows": [dict(row) for row in self.rows],
        }

    def to_table(self) -> str:
        """The rows aligned in columns under their names, for a terminal."""
        cells = [list(self.columns)] + [[_cell(r[c]) for c in self.columns] for r in self.rows]
        widths = [max(len(line[i]) for line in cells) for i in range(len(self.columns))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
        if not self.rows:
            lines.append("(no calls in this range)")
        return "\n".join(line.rstrip() for line in lines) + "\n"


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)[:64]
