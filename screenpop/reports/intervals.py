"""Report buckets in the center's time zone (`[ui] timezone`), correct across DST changes.

A bucket is a local 15 minutes, hour, day, week (ISO: from Monday), month, or, for the two
distributions, a local hour of the day ("00".."23") or a weekday ("Mon".."Sun") over the whole
range. The database groups rows by bucket: :meth:`Buckets.offset_sql` gives the zone's UTC
offset at each row's time (a CASE over the DST changes within the range, found here) and
:meth:`Buckets.key_sql` the bucket number of the local time; :meth:`Buckets.bucket` turns an
(offset, number) pair back into the bucket's label and order. The two hours named 01:00 on
the day clocks go back are two buckets (their offsets differ); a day of 23 or 25 hours is one.

`interval_start` labels are ISO local times with their offset (``2026-03-08T00:00:00-05:00``).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, case, cast, func, literal_column

from screenpop.localday import zone
from screenpop.reports.model import ReportQuery

DAY_S = 86_400
WIDTHS = {"15m": 900, "hour": 3600, "hour_of_day": 3600}  # the others count local days
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EPOCH_DAY = dt.date(1970, 1, 1)  # a Thursday: weekday 3 when Monday is 0
SCAN_S = 6 * 3600  # zones change their offset at most once in this long


@dataclass(frozen=True, slots=True)
class Bucket:
    """One row's interval: `label` is its interval_start, `order` sorts the buckets."""

    order: float
    label: str


class Buckets:
    """The buckets of one query's range: [`start`, `end`) in epoch seconds, from local
    midnight of the first day to local midnight after the last."""

    def __init__(self, query: ReportQuery) -> None:
        self.interval = query.interval
        self._tz = zone(query.tz)
        self.start = self._midnight(query.start).timestamp()
        self.end = self._midnight(query.end + dt.timedelta(days=1)).timestamp()
        self.segments = _segments(self.start, self.end, self._tz)  # (from, UTC offset in s)
        self._starts = [at for at, _ in self.segments]
        self._seen: dict[tuple[int, int], Bucket] = {}

    # -- in SQL -------------------------------------------------------------------------------
    def offset_sql(self, column: Any) -> Any:
        """The UTC offset (seconds) at the epoch time in `column`, within the range."""
        if len(self.segments) == 1:
            return literal_column(str(self.segments[0][1]))
        whens: list[tuple[Any, Any]] = [
            (column < literal_column(repr(float(at))), literal_column(str(offset)))
            for (_, offset), (at, _) in zip(self.segments, self.segments[1:], strict=False)
        ]
        return case(*whens, else_=literal_column(str(self.segments[-1][1])))

    def group_sql(self, column: Any, dialect: str) -> tuple[Any, Any, list[Any]]:
        """(offset, key, what to GROUP BY) for rows bucketed by the time in `column`; select
        the first two labelled ``off`` and ``k``. A constant offset is not grouped by (a number
        in GROUP BY names a column)."""
        offset, key = self.offset_sql(column), self.key_sql(column, dialect)
        return offset, key, [offset, key] if len(self.segments) > 1 else [key]

    def key_sql(self, column: Any, dialect: str) -> Any:
        """The bucket number of the local time of `column` (see :meth:`key_at`)."""
        local = column + self.offset_sql(column)
        if self.interval in WIDTHS:
            key = _floor_div(local, WIDTHS[self.interval], dialect)
            return key % literal_column("24") if self.interval == "hour_of_day" else key
        day = _floor_div(local, DAY_S, dialect)
        return (
            (day + literal_column("3")) % literal_column("7")
            if self.interval == "day_of_week"
            else day
        )

    # -- in Python ----------------------------------------------------------------------------
    def offset_at(self, ts: float) -> int:
        """The zone's UTC offset at `ts`, within the range (from its segments, no zone look-up:
        pauses are split with it by the thousand)."""
        return self.segments[max(0, bisect.bisect_right(self._starts, ts) - 1)][1]

    def key_at(self, ts: float) -> tuple[int, int]:
        """(offset, bucket number) of epoch time `ts`, as the SQL of :meth:`key_sql` has it."""
        offset = self.offset_at(ts)
        local = ts + offset
        if self.interval in WIDTHS:
            key = int(local // WIDTHS[self.interval])
            return offset, key % 24 if self.interval == "hour_of_day" else key
        day = int(local // DAY_S)
        return offset, (day + 3) % 7 if self.interval == "day_of_week" else day

    def bucket(self, offset: int, key: int) -> Bucket:
        """The bucket of a row grouped by (offset, key)."""
        found = self._seen.get((offset, key))
        if found is None:
            found = self._seen[(offset, key)] = self._make(offset, key)
        return found

    def split(self, start: float, end: float) -> Iterator[tuple[Bucket, float]]:
        """The seconds of [start, end) (clipped to the range) in each bucket they cross."""
        t, end = max(start, self.start), min(end, self.end)
        while t < end:
            offset, key = self.key_at(t)
            stop = min(self._next_boundary(t, offset), end)
            yield self.bucket(offset, key), stop - t
            t = stop

    # -- plumbing -----------------------------------------------------------------------------
    def _make(self, offset: int, key: int) -> Bucket:
        interval = self.interval
        if interval == "hour_of_day":
            return Bucket(key, f"{key:02d}")
        if interval == "day_of_week":
            return Bucket(key, WEEKDAYS[key])
        if interval in WIDTHS:
            at = key * WIDTHS[interval] - offset
            return Bucket(at, _aware(dt.datetime.fromtimestamp(at, self._tz)).isoformat())
        day = EPOCH_DAY + dt.timedelta(days=key)
        if interval == "week":
            day -= dt.timedelta(days=day.weekday())
        elif interval == "month":
            day = day.replace(day=1)
        return Bucket(day.toordinal(), self._midnight(day).isoformat())

    def _next_boundary(self, t: float, offset: int) -> float:
        """Where the bucket of `t` ends, or the offset changes, whichever comes first."""
        width = WIDTHS.get(self.interval, DAY_S)
        boundary = float(((t + offset) // width + 1) * width - offset)
        later = bisect.bisect_right(self._starts, t)
        return min(boundary, self._starts[later]) if later < len(self._starts) else boundary

    def _midnight(self, day: dt.date) -> dt.datetime:
        return _aware(dt.datetime.combine(day, dt.time(), tzinfo=self._tz))


def _aware(moment: dt.datetime) -> dt.datetime:
    """`moment` with its offset (a naive time is the server's local time)."""
    aware = moment if moment.tzinfo is not None else moment.astimezone()
    return aware.replace(microsecond=0)


def _offset(ts: float, tz: dt.tzinfo | None) -> int:
    offset = _aware(dt.datetime.fromtimestamp(ts, tz)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _segments(start: float, end: float, tz: dt.tzinfo | None) -> list[tuple[float, int]]:
    """[(from, offset)]: the zone's UTC offset from each time on, over [start, end)."""
    segments = [(start, _offset(start, tz))]
    t = start
    while t < end:
        nxt = min(t + SCAN_S, end)
        if _offset(nxt, tz) != segments[-1][1]:
            lo, hi = int(t), int(nxt)  # the offset changes in (lo, hi]: find the second
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if _offset(mid, tz) == segments[-1][1] else (lo, mid)
            if hi < end:
                segments.append((float(hi), _offset(hi, tz)))
        t = nxt
    return segments


def _floor_div(expr: Any, width: int, dialect: str) -> Any:
    """floor(expr / width) as an integer; `expr` is never negative (a local epoch time)."""
    quotient = expr / literal_column(f"{float(width)!r}")
    if dialect == "postgresql":
        return cast(func.floor(quotient), BigInteger)
    return cast(quotient, BigInteger)  # SQLite truncates: the floor of a positive number
