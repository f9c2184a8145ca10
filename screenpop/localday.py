"""The center's calendar day: "today" on the board, in an agent's list and in reports follows
`[ui] timezone`, not the server's clock zone.

Times are epoch seconds. An empty zone name is the server's local zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def check_zone(name: str) -> None:
    """Raise ValueError naming `name` when it is not an IANA zone this machine knows."""
    if not name:
        return
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        hint = "an IANA name such as 'Europe/Paris'"
        raise ValueError(f"unknown time zone {name!r} ({hint})") from exc


def zone(name: str) -> dt.tzinfo | None:
    """The zone called `name`; None (the server's local zone) for an empty name."""
    return ZoneInfo(name) if name else None


def local_date(ts: float, tz: dt.tzinfo | None) -> dt.date:
    """The calendar date in `tz` at epoch time `ts`."""
    return dt.datetime.fromtimestamp(ts, tz).date()


def day_start(ts: float, tz: dt.tzinfo | None) -> float:
    """Epoch seconds of the local midnight that starts `ts`'s day in `tz` (DST days included)."""
    day = local_date(ts, tz)
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    return midnight.timestamp()


def day_bounds(ts: float, tz: dt.tzinfo | None) -> tuple[float, float]:
    """[start, end) of `ts`'s local day in epoch seconds: 23, 24 or 25 hours long."""
    day = local_date(ts, tz)
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start.timestamp(), end.timestamp()
