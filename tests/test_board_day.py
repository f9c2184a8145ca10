"""The board's "today" is the center's day (`[ui] timezone`), not the server's: figures restart
at the center's midnight, and the rebuild from the call log counts the center's day only."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from screenpop.board.model import Board
from screenpop.call_table import CallTracker
from screenpop.calls import Changed
from screenpop.events import CallEvent, EventKind

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


def local(tz: dt.tzinfo, day: int, hour: int, minute: int, second: int = 0) -> float:
    return dt.datetime(2026, 12, day, hour, minute, second, tzinfo=tz).timestamp()


def caller_info(call_id: str, role: str | None) -> dict[str, Any]:
    return {}


def board_in(tz: dt.tzinfo, now: float) -> Board:
    board = Board(20, 30, caller_info, tz=tz, day=dt.datetime.fromtimestamp(now, tz).date())
    board.set_agents([("alice", "Alice")])
    board.presence("alice", True, now)
    return board


def answered_call(board: Board, started: float) -> None:
    tracker = CallTracker(lambda e: "alice" if e == "1001" else None)
    for offset, kind, endpoint in ((0, "queued", None), (20, "answered", "1001")):
        event = CallEvent(
            "pbx", "c1", EventKind(kind), "+12125551234", None, endpoint, "support",
            at=started + offset,
        )  # fmt: skip
        for effect in tracker.feed(event):
            if isinstance(effect, Changed):
                board.on_call(effect.call, started + offset)


def answered_today(board: Board, now: float) -> tuple[int, int]:
    snap = board.snapshot(now, None)
    return snap["totals"]["answered_today"], snap["agents"][0]["handled_today"]


@pytest.mark.parametrize(
    ("tz", "counted_after_midnight"),
    [
        (NEW_YORK, False),  # 23:59 in New York: yesterday once New York's midnight has passed
        (UTC, True),  # the same instant is 04:59 UTC: still the same UTC day at 05:01 UTC
    ],
)
def test_a_call_at_23_59_local_counts_for_yesterday_after_midnight(
    tz: dt.tzinfo, counted_after_midnight: bool
) -> None:
    started = local(NEW_YORK, 1, 23, 59)  # Dec 1, 23:59 in New York
    board = board_in(tz, started)
    answered_call(board, started)
    assert answered_today(board, started + 30) == (1, 1)
    after = local(NEW_YORK, 2, 0, 1)  # two minutes later, past New York's midnight
    assert answered_today(board, after) == ((1, 1) if counted_after_midnight else (0, 0))


def test_the_rebuild_counts_the_centers_day() -> None:
    now = local(NEW_YORK, 2, 0, 30)  # Dec 2, 00:30 in New York (05:30 UTC)
    board = board_in(NEW_YORK, now)
    records = [
        {
            "call_id": "late",
            "queue": "support",
            "started_at": local(NEW_YORK, 1, 23, 59),
            "answered_at": local(NEW_YORK, 1, 23, 59, 20),
            "agent_id": "alice",
            "state": "ended",
        },
        {
            "call_id": "early",
            "queue": "support",
            "started_at": local(NEW_YORK, 2, 0, 10),
            "answered_at": local(NEW_YORK, 2, 0, 10, 15),
            "ended_at": local(NEW_YORK, 2, 0, 12),
            "agent_id": "alice",
            "state": "ended",
        },
    ]  # the late call is 04:59 UTC: a UTC day would count it
    board.rebuild(records, now)
    snap = board.snapshot(now, None)
    (support,) = snap["queues"]
    assert (support["answered_today"], support["asa_s"]) == (1, 15)
    alice = snap["agents"][0]
    assert (alice["handled_today"], alice["aht_s"]) == (1, 105)  # talk only: the log has no wrap-up


def test_figures_restart_at_the_centers_midnight_while_a_call_goes_on() -> None:
    start = local(NEW_YORK, 1, 23, 0)
    board = board_in(NEW_YORK, start)
    answered_call(board, start)
    snap = board.snapshot(local(NEW_YORK, 2, 0, 0, 1), None)
    alice = snap["agents"][0]
    assert (alice["handled_today"], alice["missed_today"], alice["aht_s"]) == (0, 0, None)
    assert snap["totals"]["answered_today"] == 0
    assert alice["state"] == "on_call"
