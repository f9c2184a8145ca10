"""When a scheduled report goes out and which days it covers, in the center's zone."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from screenpop.errors import ConfigError
from screenpop.report_schedule import (
    ReportSchedule,
    check_kinds,
    covered,
    next_send,
    unique_schedules,
)
from screenpop.reports.kinds import KINDS
from screenpop.reports.model import INTERVALS

NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
MONDAYS = {"every": "weekly", "weekday": "monday"}
FRIDAYS = {"every": "weekly", "weekday": "friday"}


def entry(**fields: Any) -> ReportSchedule:
    return ReportSchedule.model_validate(
        {"name": "daily", "recipients": ["a@example.com"]} | fields
    )


def at(text: str, tz: dt.tzinfo = NY) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


def local(ts: float, tz: dt.tzinfo = NY) -> str:
    return dt.datetime.fromtimestamp(ts, tz).isoformat()


@pytest.mark.parametrize(
    ("fields", "after", "expected"),
    [
        # later today, then tomorrow once it is past (strictly after)
        ({}, "2026-11-20T06:59:00", "2026-11-20T07:00:00-05:00"),
        ({}, "2026-11-20T07:00:00", "2026-11-21T07:00:00-05:00"),
        # the night clocks go back (1 Nov 2026): still 07:00 local, now EST
        ({}, "2026-10-31T08:00:00", "2026-11-01T07:00:00-05:00"),
        # the night clocks go forward (8 Mar 2026): still 07:00 local, now EDT
        ({}, "2026-03-07T08:00:00", "2026-03-08T07:00:00-04:00"),
        # a skipped time is sent as far after the change: 02:30 -> 03:30 EDT
        ({"at": "02:30"}, "2026-03-07T12:00:00", "2026-03-08T03:30:00-04:00"),
        # a repeated time is sent once, at its first occurrence (EDT)
        ({"at": "01:30"}, "2026-10-31T12:00:00", "2026-11-01T01:30:00-04:00"),
        ({"at": "01:30"}, "2026-11-01T01:31:00", "2026-11-02T01:30:00-05:00"),
        # weekly, on its weekday (20 Nov 2026 is a Friday)
        (
            {"every": "weekly", "weekday": "monday"},
            "2026-11-20T12:00:00",
            "2026-11-23T07:00:00-05:00",
        ),
        (
            {"every": "weekly", "weekday": "friday"},
            "2026-11-20T06:00:00",
            "2026-11-20T07:00:00-05:00",
        ),
        (
            {"every": "weekly", "weekday": "friday"},
            "2026-11-20T08:00:00",
            "2026-11-27T07:00:00-05:00",
        ),
    ],
)
def test_next_send_in_the_center_zone(fields: dict[str, Any], after: str, expected: str) -> None:
    assert local(next_send(entry(**fields), at(after), NY)) == expected


def test_a_daily_send_is_24_hours_apart_except_across_a_dst_change() -> None:
    daily = entry()
    first = next_send(daily, at("2026-03-06T12:00:00"), NY)  # Sat 7 Mar 07:00 EST
    second = next_send(daily, first, NY)  # Sun 8 Mar 07:00 EDT
    third = next_send(daily, second, NY)
    assert (second - first, third - second) == (23 * 3600, 24 * 3600)


def test_the_zone_is_the_centers_not_utc() -> None:
    due = next_send(entry(at="07:00"), at("2026-06-01T00:00:00", PARIS), PARIS)
    assert dt.datetime.fromtimestamp(due, dt.UTC).hour == 5  # 07:00 CEST


def test_daily_covers_the_day_before_and_weekly_the_previous_week() -> None:
    due = at("2026-11-23T07:00:00")  # a Monday
    assert covered(entry(), due, NY) == (dt.date(2026, 11, 22), dt.date(2026, 11, 22))
    weekly = entry(every="weekly", weekday="wednesday")
    assert covered(weekly, at("2026-11-25T07:00:00"), NY) == (
        dt.date(2026, 11, 16),
        dt.date(2026, 11, 22),
    )
    # just after midnight, the "day before" is the local one, not UTC's
    assert covered(entry(at="00:30"), at("2026-11-23T00:30:00"), NY)[0] == dt.date(2026, 11, 22)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"at": "7am"}, "is not a time of day as HH:MM"),
        ({"at": "24:00"}, "is not a time of day as HH:MM"),
        ({"recipients": []}, "needs at least one recipient"),
        ({"recipients": ["boss"]}, "'boss' is not a mail address"),
        ({"every": "monthly"}, "'daily' or 'weekly'"),
        ({"weekday": "funday"}, "'monday'"),
        ({"name": "has space"}, "should match pattern"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_entries_say_what_is_wrong(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        entry(**fields)


def test_schedule_names_are_unique() -> None:
    with pytest.raises(ValueError, match="repeated: daily"):
        unique_schedules([entry(), entry(at="08:00")])


def test_kinds_and_intervals_are_the_engines() -> None:
    check_kinds([entry(kind="agents", interval="hour_of_day")], KINDS, INTERVALS)
    with pytest.raises(ConfigError, match="'daily': kind 'weather' is not one of queues, agents"):
        check_kinds([entry(kind="weather")], KINDS, INTERVALS)
    with pytest.raises(ConfigError, match="interval 'minute' is not one of 15m, hour"):
        check_kinds([entry(interval="minute")], KINDS, INTERVALS)
