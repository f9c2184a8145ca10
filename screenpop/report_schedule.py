"""`[[reports.schedule]]`: reports mailed on a timetable, and when each one is due.

A daily entry goes out every day at `at` (the center's wall-clock time, `[ui] timezone`) and covers
the day before; a weekly one goes out on `weekday` at `at` and covers the previous calendar week
(Monday to Sunday). Times are computed in the center's zone, so a send at 07:00 stays at 07:00
across a DST change. A time the clocks skip (02:30 on the spring-forward night) is sent at the
same distance after the change (03:30); a time they repeat (01:30 on the fall-back night) is sent
once, at its first occurrence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from screenpop.errors import ConfigError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class ReportSchedule(BaseModel):
    """One `[[reports.schedule]]` entry: which report, how often, to whom."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")  # in the subject, the log and the metrics
    kind: str = "queues"  # a report kind, as `screenpop report KIND` (checked by check_kinds)
    interval: str = "hour"  # as `screenpop report --interval` (checked by check_kinds)
    every: Literal["daily", "weekly"] = "daily"
    at: str = "07:00"  # HH:MM, the center's time ([ui] timezone)
    weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"  # for `every = "weekly"`
    queue: str | None = None  # only this queue; None: every queue
    recipients: list[str]
    format: Literal["csv"] = "csv"  # the attachment's format

    @field_validator("at")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.fullmatch(value.strip()):
            raise ValueError(f"{value!r} is not a time of day as HH:MM (24 h), e.g. '07:00'")
        return value.strip()

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if not cleaned:
            raise ValueError("needs at least one recipient")
        for address in cleaned:
            if not _ADDRESS.fullmatch(address):
                raise ValueError(f"{address!r} is not a mail address")
        return cleaned

    def clock(self) -> dt.time:
        hours, minutes = self.at.split(":")
        return dt.time(int(hours), int(minutes))


def unique_schedules(entries: list[ReportSchedule]) -> list[ReportSchedule]:
    """`entries`, or ValueError naming the schedule names used twice."""
    names = [e.name for e in entries]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"schedule names must be unique, repeated: {', '.join(dupes)}")
    return entries


def check_kinds(
    entries: Sequence[ReportSchedule], kinds: Collection[str], intervals: Collection[str]
) -> None:
    """ConfigError naming the entry whose `kind` or `interval` is not one the engine has (the
    engine's lists are passed in: it reads the settings, so the settings cannot read it)."""
    for entry in entries:
        for key, value, known in (
            ("kind", entry.kind, kinds),
            ("interval", entry.interval, intervals),
        ):
            if value not in known:
                raise ConfigError(
                    f"reports.schedule {entry.name!r}: {key} {value!r} is not one of "
                    + ", ".join(known)
                )


def next_send(entry: ReportSchedule, after: float, tz: dt.tzinfo | None) -> float:
    """The first send time of `entry` strictly after epoch time `after`, as epoch seconds."""
    local = dt.datetime.fromtimestamp(after, tz)
    day = local.date()
    for _ in range(9):  # today, then up to a week and a day later
        if _sends_on(entry, day):
            due = _wall(day, entry.clock(), tz)
            if due > after:
                return due
        day += dt.timedelta(days=1)
    raise AssertionError("a schedule sends at least once a week")  # pragma: no cover


def covered(entry: ReportSchedule, due: float, tz: dt.tzinfo | None) -> tuple[dt.date, dt.date]:
    """The local dates (first, last, both included) the send at `due` reports on: the day
    before for a daily entry, the previous Monday-to-Sunday week for a weekly one."""
    day = dt.datetime.fromtimestamp(due, tz).date()
    if entry.every == "daily":
        before = day - dt.timedelta(days=1)
        return before, before
    monday = day - dt.timedelta(days=day.weekday() + 7)
    return monday, monday + dt.timedelta(days=6)


def _sends_on(entry: ReportSchedule, day: dt.date) -> bool:
    return entry.every == "daily" or WEEKDAYS[day.weekday()] == entry.weekday


def _wall(day: dt.date, clock: dt.time, tz: dt.tzinfo | None) -> float:
    """Epoch seconds of `clock` on `day` in `tz`. A skipped time (spring forward) is read with
    the offset before the change, so lands as far after it; a repeated one is the first."""
    if tz is None:
        return dt.datetime.combine(day, clock).timestamp()
    return dt.datetime.combine(day, clock, tzinfo=tz).timestamp()
