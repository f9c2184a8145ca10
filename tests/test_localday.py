"""The center's day: boundaries in `[ui] timezone`, DST days included, and the config check."""

from __future__ import annotations

import datetime as dt

import pytest

from screenpop.errors import ConfigError
from screenpop.localday import day_bounds, day_start, local_date, zone
from screenpop.settings import parse_settings

NEW_YORK = zone("America/New_York")


def epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize(
    ("at", "date", "hours"),
    [
        ("2026-03-08T12:00:00+00:00", "2026-03-08", 23),  # spring forward
        ("2026-11-01T12:00:00+00:00", "2026-11-01", 25),  # fall back
        ("2026-12-02T04:59:59+00:00", "2026-12-01", 24),  # 23:59:59 in New York
        ("2026-12-02T05:00:00+00:00", "2026-12-02", 24),  # midnight in New York
    ],
)
def test_day_follows_the_centers_zone(at: str, date: str, hours: int) -> None:
    ts = epoch(at)
    start, end = day_bounds(ts, NEW_YORK)
    assert local_date(ts, NEW_YORK).isoformat() == date
    assert start <= ts < end
    assert (end - start) / 3600 == hours
    assert day_start(ts, NEW_YORK) == start


def test_ui_settings_name_what_is_wrong() -> None:
    with pytest.raises(ConfigError, match=r"ui\.timezone.*unknown time zone 'Mars/Base'"):
        parse_settings({"ui": {"timezone": "Mars/Base"}}, "x.toml")
    with pytest.raises(ConfigError, match=r"ui\.locale"):
        parse_settings({"ui": {"locale": "english please"}}, "x.toml")
    with pytest.raises(ConfigError, match=r"ui\.pause_reasons"):
        parse_settings({"ui": {"pause_reasons": ["lunch", "lunch"]}}, "x.toml")
    ui = parse_settings({"ui": {"timezone": "Europe/Paris", "locale": "fr-FR"}}, "x.toml").ui
    assert (ui.timezone, ui.locale) == ("Europe/Paris", "fr-FR")
