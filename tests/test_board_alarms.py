"""Thresholds and alarms on the board: a figure beyond its limit gets its level (warn / alert)
and an alarm in the snapshot, computed once by the daemon; "callers waiting, nobody
available" fires for a queue whose agents are all busy, paused or offline."""

from __future__ import annotations

import time
from typing import Any

import pytest

from screenpop.board.alarms import Limit, Thresholds
from screenpop.board.model import Board
from screenpop.call_table import CallTracker
from screenpop.calls import Changed
from screenpop.events import CallEvent, EventKind

T0 = time.time()
ENDPOINTS = {"1001": "alice", "1002": "bob"}
LIMITS = Thresholds(
    waiting=Limit(warn=1, alert=2),
    longest_wait_s=Limit(warn=30, alert=60),
    service_level=Limit(warn=0.8, alert=0.5, lower_is_worse=True),
)


def caller_info(call_id: str, role: str | None) -> dict[str, Any]:
    return {"caller": call_id}


class Center:
    """A board of alice and bob, both online, fed PBX events at times after T0."""

    def __init__(self, thresholds: dict[str, Thresholds] | None = None) -> None:
        self.board = Board(20, 30, caller_info, thresholds=thresholds or {"default": LIMITS})
        self.board.set_agents([("alice", "Alice"), ("bob", "Bob")])
        self.board.presence("alice", True, T0)
        self.board.presence("bob", True, T0)
        self.tracker = CallTracker(lambda e: ENDPOINTS.get(e or ""))

    def call(self, at: float, kind: str, call_id: str, queue: str, ep: str | None = None) -> None:
        event = CallEvent(
            "pbx", call_id, EventKind(kind), "+12125551234", None, ep, queue, at=T0 + at
        )
        for effect in self.tracker.feed(event):
            if isinstance(effect, Changed):
                self.board.on_call(effect.call, T0 + at)

    def alarms(self, at: float) -> list[tuple[str, str, str]]:
        snap = self.board.snapshot(T0 + at, None)
        return [(a["queue"], a["kind"], a["level"]) for a in snap["alarms"]]

    def levels(self, at: float, queue: str) -> dict[str, str | None]:
        snap = self.board.snapshot(T0 + at, None)
        return dict(next(q for q in snap["queues"] if q["name"] == queue)["levels"])


@pytest.mark.parametrize(
    ("callers", "at", "waiting", "longest"),
    [
        (1, 10, None, None),
        (1, 31, None, "warn"),
        (1, 61, None, "alert"),
        (2, 10, "warn", None),
        (3, 10, "alert", None),
        (3, 45, "alert", "warn"),
    ],
)
def test_waiting_callers_and_the_longest_wait_against_their_limits(
    callers: int, at: float, waiting: str | None, longest: str | None
) -> None:
    center = Center()
    for i in range(callers):
        center.call(i * 0.1, "queued", f"c{i}", "support")
    assert center.levels(at, "support") == {
        "waiting": waiting,
        "longest_wait_s": longest,
        "service_level": None,  # nothing answered or abandoned yet: no figure, no level
    }
    expected = [
        ("support", kind, level)
        for kind, level in (("waiting", waiting), ("longest_wait_s", longest))
        if level is not None
    ]
    found = [a for a in center.alarms(at) if a[1] != "nobody_available"]
    assert sorted(found) == sorted(expected)


@pytest.mark.parametrize(
    ("answered_in_time", "abandoned", "level"),
    [(4, 1, None), (3, 1, "warn"), (1, 1, "warn"), (1, 2, "alert"), (0, 0, None)],
)
def test_the_service_level_below_its_limits(
    answered_in_time: int, abandoned: int, level: str | None
) -> None:
    center = Center()
    for i in range(answered_in_time):
        center.call(0, "queued", f"a{i}", "sales")
        center.call(5, "answered", f"a{i}", "sales", "1001")
        center.call(9, "ended", f"a{i}", "sales")
    for i in range(abandoned):
        center.call(0, "queued", f"x{i}", "sales")
        center.call(5, "abandoned", f"x{i}", "sales")
    snap = center.board.snapshot(T0 + 100, None)
    sales = [q for q in snap["queues"] if q["name"] == "sales"]
    assert (sales[0]["levels"]["service_level"] if sales else None) == level
    assert snap["totals"]["levels"]["service_level"] == level


@pytest.mark.parametrize(
    ("setup", "alarm"),
    [
        pytest.param([], False, id="both agents available"),
        pytest.param([("pause", "alice"), ("pause", "bob")], True, id="both paused"),
        pytest.param([("offline", "alice"), ("pause", "bob")], True, id="offline and paused"),
        pytest.param([("pause", "alice")], False, id="bob still available"),
        pytest.param([("busy", "bob")], True, id="bob, who takes support, is on a call"),
    ],
)
def test_callers_waiting_and_nobody_available(setup: list[tuple[str, str]], alarm: bool) -> None:
    center = Center()
    for what, agent in setup:
        if what == "pause":
            center.board.pause(agent, "lunch", T0 + 1)
        elif what == "offline":
            center.board.presence(agent, False, T0 + 1)
        elif what == "busy":  # a support call reached bob: support is his queue, not alice's
            center.call(1, "ringing", "b1", "support", "1002")
            center.call(2, "answered", "b1", "support", "1002")
    center.call(10, "queued", "w1", "support")
    center.call(10, "queued", "w2", "support")
    nobody = [
        a for a in center.board.snapshot(T0 + 12, None)["alarms"] if a["kind"] == "nobody_available"
    ]
    assert bool(nobody) == alarm
    if alarm:
        assert (nobody[0]["queue"], nobody[0]["level"], nobody[0]["value"]) == (
            "support",
            "alert",
            2,
        )
        assert nobody[0]["text"] == "support: nobody available, 2 waiting"


def test_a_caller_ringing_an_agent_is_not_nobody_available() -> None:
    center = Center()
    center.board.pause("bob", "lunch", T0)
    center.call(1, "queued", "w1", "support")
    center.call(2, "ringing", "w1", "support", "1001")  # alice is on her way
    assert ("support", "nobody_available", "alert") not in center.alarms(3)
    center.call(4, "missed", "w1", "support", "1001")  # she let it ring out; alice available again
    assert ("support", "nobody_available", "alert") not in center.alarms(5)
    center.board.pause("alice", "break", T0 + 6)
    assert ("support", "nobody_available", "alert") in center.alarms(7)


def test_nobody_available_can_be_turned_off_per_queue() -> None:
    quiet = Thresholds(nobody_available=False)
    center = Center({"default": LIMITS, "sales": quiet})
    center.board.pause("alice", "lunch", T0)
    center.board.pause("bob", "lunch", T0)
    center.call(1, "queued", "s1", "sales")
    center.call(1, "queued", "p1", "support")
    assert [a for a in center.alarms(2) if a[1] == "nobody_available"] == [
        ("support", "nobody_available", "alert")
    ]


def test_alarms_come_alert_first_and_the_headline_takes_the_worst_level() -> None:
    center = Center()
    center.call(0, "queued", "s1", "support")  # one caller: no waiting level
    center.call(0, "queued", "b1", "sales")
    center.call(0, "queued", "b2", "sales")  # two: warn
    center.call(0, "queued", "b3", "sales")  # three: alert
    snap = center.board.snapshot(T0 + 40, None)
    assert [(a["queue"], a["kind"], a["level"]) for a in snap["alarms"]] == [
        ("sales", "waiting", "alert"),
        ("sales", "longest_wait_s", "warn"),
        ("support", "longest_wait_s", "warn"),
    ]
    assert snap["totals"]["levels"] == {
        "waiting": "alert",
        "longest_wait_s": "warn",
        "service_level": None,
    }


def test_the_snapshot_says_when_a_wait_next_crosses_a_limit() -> None:
    center = Center()
    assert center.board.snapshot(T0, None)["recheck_at"] is None
    center.call(0, "queued", "c1", "support")
    assert center.board.snapshot(T0 + 10, None)["recheck_at"] == T0 + 30
    assert center.board.snapshot(T0 + 40, None)["recheck_at"] == T0 + 60
    assert center.board.snapshot(T0 + 70, None)["recheck_at"] is None


def test_a_queue_of_its_own_overrides_the_default() -> None:
    sales = Thresholds(waiting=Limit(alert=5))
    center = Center({"default": LIMITS, "sales": sales})
    for i in range(3):
        center.call(0, "queued", f"b{i}", "sales")
        center.call(0, "queued", f"s{i}", "support")
    assert center.levels(1, "sales")["waiting"] is None
    assert center.levels(1, "support")["waiting"] == "alert"
