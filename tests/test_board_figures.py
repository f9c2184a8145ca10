"""Today's figures on the board as a supervisor reads them: the headline across queues (zeros
shown), and per agent the calls handled, missed (rang and not answered), the average handle
time (talk + wrap-up) and the time in the current state."""

from __future__ import annotations

import time
from typing import Any

import pytest

from screenpop.board.model import Board
from screenpop.call_table import CallTracker
from screenpop.calls import Changed
from screenpop.events import CallEvent, EventKind

T0 = time.time()
ENDPOINTS = {"1001": "alice", "1002": "bob", "1003": "carol"}
Step = tuple[float, str, str | None, str]  # (at, what, endpoint / agent, call id)


def caller_info(call_id: str, role: str | None) -> dict[str, Any]:
    return {"caller": f"caller of {call_id}"}


def play(steps: list[Step], *, queue: str = "support", wrap_up_s: float = 30) -> Board:
    """A board of alice, bob and carol (all online at T0) after `steps`: PBX events by kind,
    and `ready` (the agent closed the card) or `pause` / `unpause` for the agent named."""
    board = Board(service_level_s=20, wrap_up_s=wrap_up_s, caller_info=caller_info)
    board.set_agents([("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol")])
    for agent in ("alice", "bob", "carol"):
        board.presence(agent, True, T0)
    tracker = CallTracker(lambda e: ENDPOINTS.get(e or ""))
    for at, what, who, call_id in steps:
        if what == "ready":
            board.ready(str(who), T0 + at)
        elif what in ("pause", "unpause"):
            board.pause(str(who), "lunch" if what == "pause" else None, T0 + at)
        else:
            event = CallEvent(
                "pbx", call_id, EventKind(what), "+12125551234", None, who, queue, at=T0 + at
            )
            for effect in tracker.feed(event):
                if isinstance(effect, Changed):
                    board.on_call(effect.call, T0 + at)
    return board


def figures(board: Board, agent: str, at: float) -> tuple[int, int, float | None]:
    entry = next(a for a in board.snapshot(T0 + at, None)["agents"] if a["id"] == agent)
    return entry["handled_today"], entry["missed_today"], entry["aht_s"]


ANSWERED_60_S: list[Step] = [
    (0, "queued", None, "c1"),
    (1, "ringing", "1001", "c1"),
    (5, "answered", "1001", "c1"),
    (65, "ended", None, "c1"),
]


@pytest.mark.parametrize(
    ("steps", "agent", "expected"),
    [
        pytest.param([], "alice", (0, 0, None), id="nothing yet: zeros, no average"),
        pytest.param(ANSWERED_60_S, "alice", (1, 0, 90.0), id="60 s talk + 30 s wrap-up ran out"),
        pytest.param(
            [*ANSWERED_60_S, (75, "ready", "alice", "")],
            "alice",
            (1, 0, 70.0),
            id="card closed 10 s after the call",
        ),
        pytest.param(
            ANSWERED_60_S[:3], "alice", (1, 0, None), id="on the call: handled, no average yet"
        ),
        pytest.param(
            [
                (0, "ringing", "1001", "c1"),
                (6, "missed", "1001", "c1"),
                (6, "ringing", "1002", "c1"),
                (8, "answered", "1002", "c1"),
                (38, "ended", None, "c1"),
            ],
            "alice",
            (0, 1, None),
            id="rang out to the next agent",
        ),
        pytest.param(
            [
                (0, "ringing", "1001", "c1"),
                (6, "missed", "1001", "c1"),
                (6, "ringing", "1002", "c1"),
                (8, "answered", "1002", "c1"),
                (38, "ended", None, "c1"),
            ],
            "bob",
            (1, 0, 60.0),
            id="the next agent answered it",
        ),
        pytest.param(
            [
                (0, "ringing", "1001", "c1"),
                (0, "ringing", "1002", "c1"),
                (3, "answered", "1002", "c1"),
            ],
            "alice",
            (0, 1, None),
            id="ring-all, answered elsewhere",
        ),
        pytest.param(
            [(0, "ringing", "1001", "c1"), (4, "abandoned", None, "c1")],
            "alice",
            (0, 1, None),
            id="the caller hung up while it rang",
        ),
        pytest.param(
            [
                (0, "ringing", "1001", "c1"),
                (6, "missed", "1001", "c1"),
                (20, "ringing", "1001", "c1"),
                (22, "answered", "1001", "c1"),
            ],
            "alice",
            (1, 0, None),
            id="rang twice, answered the second time: not missed",
        ),
        pytest.param(
            [
                (0, "ringing", "1001", "c1"),
                (6, "missed", "1001", "c1"),
                (7, "ringing", "1001", "c1"),
                (13, "missed", "1001", "c1"),
            ],
            "alice",
            (0, 1, None),
            id="rang twice unanswered: one call missed",
        ),
        pytest.param(
            [*ANSWERED_60_S, (70, "ringing", "1001", "c2"), (72, "answered", "1001", "c2")],
            "alice",
            (2, 0, 65.0),
            id="the next call cuts the wrap-up short",
        ),
        pytest.param(ANSWERED_60_S, "alice", (1, 0, 60.0), id="no wrap-up configured: talk only"),
    ],
)
def test_per_agent_figures_today(
    steps: list[Step], agent: str, expected: tuple[int, int, float | None], request: Any
) -> None:
    wrap = 0 if "no wrap-up" in request.node.callspec.id else 30
    assert figures(play(steps, wrap_up_s=wrap), agent, 500) == expected


@pytest.mark.parametrize(
    ("at", "state", "reason", "since"),
    [
        (0.5, "available", None, 0),
        (2, "ringing", None, 1),
        (30, "on_call", None, 5),
        (70, "wrap_up", None, 65),
        (100, "available", None, 95),  # from the end of the wrap-up, not from the call
        (130, "paused", "lunch", 120),
        (200, "available", None, 180),
    ],
)
def test_time_in_state_counts_from_the_change(
    at: float, state: str, reason: str | None, since: float
) -> None:
    steps: list[Step] = [
        *ANSWERED_60_S,
        (120, "pause", "alice", ""),
        (180, "unpause", "alice", ""),
    ]
    board = play([step for step in steps if step[0] <= at])
    entry = next(a for a in board.snapshot(T0 + at, None)["agents"] if a["id"] == "alice")
    assert (entry["state"], entry["reason"], entry["since"] - T0) == (state, reason, since)


def test_the_headline_of_an_empty_board_shows_zeros() -> None:
    board = Board(service_level_s=20, wrap_up_s=30, caller_info=caller_info)
    board.set_agents([("alice", "Alice")])
    totals = board.snapshot(T0, None)["totals"]
    assert totals["waiting"] == 0
    assert totals["longest_wait_s"] == 0
    assert (totals["answered_today"], totals["abandoned_today"]) == (0, 0)
    assert (totals["service_level"], totals["asa_s"], totals["abandon_rate"]) == (None,) * 3
    assert totals["agents"] == {
        "available": 0,
        "ringing": 0,
        "on_call": 0,
        "wrap_up": 0,
        "paused": 0,
        "offline": 1,
    }


def test_the_headline_adds_every_queue_up() -> None:
    board = play([])
    tracker = CallTracker(lambda e: ENDPOINTS.get(e or ""))

    def call(at: float, kind: str, call_id: str, queue: str, endpoint: str | None = None) -> None:
        event = CallEvent(
            "pbx", call_id, EventKind(kind), "+1212555", None, endpoint, queue, at=T0 + at
        )
        for effect in tracker.feed(event):
            if isinstance(effect, Changed):
                board.on_call(effect.call, T0 + at)

    call(0, "queued", "s1", "support")
    call(10, "answered", "s1", "support", "1001")  # 10 s: within 20 s
    call(0, "queued", "s2", "support")
    call(5, "abandoned", "s2", "support")
    call(0, "queued", "b1", "sales")
    call(30, "answered", "b1", "sales", "1002")  # 30 s: beyond 20 s
    call(100, "queued", "b2", "sales")
    call(110, "queued", "s3", "support")
    call(111, "ringing", "s3", "support", "1003")
    board.pause("carol", "break", T0 + 50)
    totals = board.snapshot(T0 + 130, None)["totals"]
    assert (totals["waiting"], totals["longest_wait_s"]) == (2, 30)
    assert (totals["answered_today"], totals["abandoned_today"]) == (2, 1)
    assert totals["service_level"] == round(1 / 3, 3)
    assert totals["abandon_rate"] == round(1 / 3, 3)
    assert totals["asa_s"] == 20
    assert totals["agents"] == {
        "available": 0,
        "ringing": 1,  # carol: the ring wins over her pause while it lasts
        "on_call": 2,
        "wrap_up": 0,
        "paused": 0,
        "offline": 0,
    }
