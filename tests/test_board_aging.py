"""The board does not leak calls: a call the PBX never reports ended ages out after the maximum
age (once, counted and logged), and a resync that no longer lists a call removes it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from screenpop.board.feed import BoardFeed
from screenpop.board.model import Board
from screenpop.board.state import MemoryBoardState
from screenpop.delivery.outbound import ServerMessage
from screenpop.events import EventKind
from screenpop.tasks import TaskOwner
from tests.harness import until
from tests.test_board import T0, feed, setup


def waiting(board: Board, now: float) -> list[str]:
    snapshot = board.snapshot(now, "supervisor")
    return [c["call_id"] for q in snapshot["queues"] for c in q["waiting"]]


def test_a_call_never_ended_ages_out_once_and_a_late_event_does_not_bring_it_back() -> None:
    board, tracker = setup()
    board.max_call_age_s = 3600
    feed(board, tracker, EventKind.QUEUED, T0, call_id="stuck")
    feed(board, tracker, EventKind.QUEUED, T0 + 1800, call_id="fresh")
    assert board.expire(T0 + 3599) == []
    assert board.expire(T0 + 3601) == ["stuck"]
    assert board.expire(T0 + 3602) == []  # once
    assert board.aged_out == 1
    assert waiting(board, T0 + 3602) == ["fresh"]
    feed(board, tracker, EventKind.RINGING, T0 + 3700, "1001", call_id="stuck")
    assert waiting(board, T0 + 3700) == ["fresh"]
    assert {a["id"]: a["state"] for a in board.snapshot(T0 + 3700, None)["agents"]}["alice"] == (
        "available"
    )


async def test_the_feed_sweeps_aged_calls_off_the_published_board(
    caplog: pytest.LogCaptureFixture,
) -> None:
    board, tracker = setup()
    board.max_call_age_s = 0.2
    feed(board, tracker, EventKind.QUEUED, T0, call_id="stuck")
    published: list[dict[str, Any]] = []

    async def publish(agent_id: str, message: ServerMessage) -> None:
        published.append(message.to_json()["board"])

    tasks = TaskOwner()
    board_feed = BoardFeed(
        MemoryBoardState(board), publish, lambda: [("sam", "supervisor")], tasks, sweep_s=0.05
    )
    with caplog.at_level(logging.WARNING, logger="screenpop.board.feed"):
        board_feed.changed()
        await until(
            lambda: bool(published) and not any(q["waiting"] for q in published[-1]["queues"]),
            "a board without the aged call",
        )
        await asyncio.sleep(0.2)  # more sweeps: nothing more to remove, nothing more logged
    board_feed.close()
    await tasks.aclose()
    assert "stuck" not in board.calls and board.aged_out == 1
    assert sum("stuck" in r.getMessage() for r in caplog.records) == 1
