"""The queue board: waiting calls, agent states and today's figures, as the supervisor sees them."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from screenpop.board.model import Board
from screenpop.call_table import CallTracker
from screenpop.calls import Changed
from screenpop.events import CallEvent, EventKind

AGENTS = {"1001": "alice", "1002": "bob"}
T0 = time.time()


def caller_info(call_id: str, role: str | None) -> dict[str, Any]:
    return {"caller": f"caller of {call_id}", "summary": {"name": f"{role}:{call_id}"}}


def setup() -> tuple[Board, CallTracker]:
    board = Board(service_level_s=20, wrap_up_s=30, caller_info=caller_info)
    board.set_agents([("alice", "Alice"), ("bob", "Bob")])
    board.presence("alice", True, T0)
    board.presence("bob", True, T0)
    return board, CallTracker(lambda e: AGENTS.get(e or ""))


def feed(
    board: Board,
    tracker: CallTracker,
    kind: EventKind,
    at: float,
    ep: str | None = None,
    call_id: str = "c1",
    queue: str = "support",
) -> None:
    event = CallEvent("pbx", call_id, kind, caller="+12125551234", endpoint=ep, queue=queue, at=at)
    for effect in tracker.feed(event):
        if isinstance(effect, Changed):
            board.on_call(effect.call, at)


def states(board: Board, now: float) -> dict[str, str]:
    return {a["id"]: a["state"] for a in board.snapshot(now, "supervisor")["agents"]}


def test_a_waiting_call_shows_its_wait_then_the_answer_moves_the_agent() -> None:
    board, tracker = setup()
    feed(board, tracker, EventKind.QUEUED, T0)
    snap = board.snapshot(T0 + 12, "supervisor")
    (queue,) = snap["queues"]
    assert queue["name"] == "support"
    assert queue["longest_wait_s"] == 12
    assert queue["waiting"][0]["summary"] == {"name": "supervisor:c1"}
    assert states(board, T0 + 12) == {"alice": "available", "bob": "available"}
    feed(board, tracker, EventKind.RINGING, T0 + 13, "1001")
    assert states(board, T0 + 13)["alice"] == "ringing"
    feed(board, tracker, EventKind.ANSWERED, T0 + 15, "1001")
    snap = board.snapshot(T0 + 16, "supervisor")
    assert snap["queues"][0]["waiting"] == []
    assert snap["queues"][0]["answered_today"] == 1
    assert snap["queues"][0]["asa_s"] == 15
    assert snap["queues"][0]["service_level"] == 1.0
    alice = snap["agents"][0]
    assert (alice["state"], alice["call_id"], alice["handled_today"]) == ("on_call", "c1", 1)
    assert alice["with"]["caller"] == "caller of c1"


def test_wrap_up_after_the_call_until_ready_or_timeout() -> None:
    board, tracker = setup()
    feed(board, tracker, EventKind.RINGING, T0, "1002")
    feed(board, tracker, EventKind.ANSWERED, T0 + 1, "1002")
    feed(board, tracker, EventKind.ENDED, T0 + 60)
    assert states(board, T0 + 61)["bob"] == "wrap_up"
    assert states(board, T0 + 95)["bob"] == "available"
    board.ready("bob", T0 + 62)
    assert states(board, T0 + 62)["bob"] == "available"


def test_abandoned_and_slow_answers_lower_the_service_level() -> None:
    board, tracker = setup()
    feed(board, tracker, EventKind.QUEUED, T0, call_id="a")
    feed(board, tracker, EventKind.ABANDONED, T0 + 5, call_id="a")
    feed(board, tracker, EventKind.QUEUED, T0, call_id="b")
    feed(board, tracker, EventKind.ANSWERED, T0 + 40, "1001", call_id="b")
    feed(board, tracker, EventKind.QUEUED, T0, call_id="c")
    feed(board, tracker, EventKind.ANSWERED, T0 + 10, "1002", call_id="c")
    (queue,) = board.snapshot(T0 + 41, None)["queues"]
    assert (queue["answered_today"], queue["abandoned_today"]) == (2, 1)
    assert queue["service_level"] == round(1 / 3, 3)
    assert queue["asa_s"] == 25


def test_offline_agents_and_rebuild_from_the_call_log() -> None:
    board, _ = setup()
    board.presence("bob", False, T0)
    assert states(board, T0) == {"alice": "available", "bob": "offline"}
    board.rebuild(
        [
            {
                "queue": "sales",
                "started_at": T0,
                "answered_at": T0 + 3,
                "agent_id": "bob",
                "state": "ended",
            },
            {"queue": "sales", "started_at": T0, "answered_at": None, "state": "abandoned"},
            {
                "queue": "sales",
                "started_at": T0 - 3 * 86400,
                "answered_at": None,
                "state": "abandoned",
            },
        ]
    )
    (queue,) = board.snapshot(T0, None)["queues"]
    assert (queue["answered_today"], queue["abandoned_today"]) == (1, 1)
    assert board.snapshot(T0, None)["agents"][1]["handled_today"] == 1


def test_time_available_counts_from_the_end_of_wrap_up() -> None:
    board, tracker = setup()
    feed(board, tracker, EventKind.RINGING, T0, "1002")
    feed(board, tracker, EventKind.ANSWERED, T0 + 1, "1002")
    feed(board, tracker, EventKind.ENDED, T0 + 60)
    bob = board.snapshot(T0 + 100, None)["agents"][1]
    assert (bob["state"], bob["since"]) == ("available", T0 + 90)


def test_outbound_calls_count_for_the_agent_but_not_for_any_queue() -> None:
    board, tracker = setup()
    event = CallEvent("pbx", "o1", EventKind.RINGING, "+12125551234", endpoint="1001", at=T0)
    for effect in tracker.feed(dataclasses.replace(event, outbound=True)):
        if isinstance(effect, Changed):
            board.on_call(effect.call, T0)
    feed(board, tracker, EventKind.ANSWERED, T0 + 30, "1001", call_id="o1", queue="")
    snap = board.snapshot(T0 + 31, None)
    assert all(q["answered_today"] == 0 for q in snap["queues"])
    assert snap["agents"][0]["handled_today"] == 1


def test_a_call_logged_before_a_restart_is_not_counted_twice() -> None:
    board, tracker = setup()
    board.rebuild(
        [
            {
                "call_id": "c1",
                "queue": "support",
                "started_at": T0,
                "answered_at": T0 + 4,
                "agent_id": "alice",
                "state": "answered",
                "direction": "inbound",
            }
        ]
    )
    feed(board, tracker, EventKind.QUEUED, T0)  # the PBX resync after the restart
    feed(board, tracker, EventKind.ANSWERED, T0 + 4, "1001")
    feed(board, tracker, EventKind.ENDED, T0 + 50)
    (queue,) = board.snapshot(T0 + 51, None)["queues"]
    assert queue["answered_today"] == 1
    assert board.snapshot(T0 + 51, None)["agents"][0]["handled_today"] == 1
