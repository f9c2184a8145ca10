"""The paused state on the board: a paused agent shows `paused` with the reason, unless a call
rings them or they are on one; every node of a cluster applies a pause made on any node."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from screenpop.board.model import Board
from screenpop.board.state import MemoryBoardState
from screenpop.call_table import CallTracker
from screenpop.calls import Changed
from screenpop.cluster.board import SharedBoardState
from screenpop.cluster.redis import ClusterRedis
from screenpop.events import CallEvent, EventKind
from screenpop.keys import BOARD_CHANNEL

AGENTS = {"1001": "alice", "1002": "bob"}
T0 = time.time()


def caller_info(call_id: str, role: str | None) -> dict[str, Any]:
    return {"caller": f"caller of {call_id}"}


def board_of_two() -> Board:
    board = Board(service_level_s=20, wrap_up_s=30, caller_info=caller_info)
    board.set_agents([("alice", "Alice"), ("bob", "Bob")])
    board.presence("alice", True, T0)
    board.presence("bob", True, T0)
    return board


def alice(board: Board, now: float) -> dict[str, Any]:
    return next(a for a in board.snapshot(now, None)["agents"] if a["id"] == "alice")


def feed(board: Board, tracker: CallTracker, kind: EventKind, at: float, ep: str | None) -> None:
    event = CallEvent("pbx", "c1", kind, caller="+12125551234", endpoint=ep, queue="q", at=at)
    for effect in tracker.feed(event):
        if isinstance(effect, Changed):
            board.on_call(effect.call, at)


@pytest.mark.parametrize(
    ("online", "reason", "state", "shown_reason"),
    [
        (True, "lunch", "paused", "lunch"),
        (True, "", "paused", ""),  # paused at the PBX without a reason
        (False, "break", "paused", "break"),  # paused at the PBX with no tab open
        (True, None, "available", None),
        (False, None, "offline", None),
    ],
)
def test_a_pause_shows_with_its_reason_and_since(
    online: bool, reason: str | None, state: str, shown_reason: str | None
) -> None:
    board = board_of_two()
    board.presence("alice", online, T0 + 1)
    board.pause("alice", reason, T0 + 5)
    entry = alice(board, T0 + 9)
    assert (entry["state"], entry["reason"]) == (state, shown_reason)
    if reason is not None:
        assert entry["since"] == T0 + 5


def test_unpause_makes_the_agent_available_from_then() -> None:
    board = board_of_two()
    board.pause("alice", "lunch", T0 + 5)
    board.pause("alice", None, T0 + 65)
    entry = alice(board, T0 + 70)
    assert (entry["state"], entry["reason"], entry["since"]) == ("available", None, T0 + 65)


def test_a_pause_repeated_does_not_restart_its_time() -> None:
    board = board_of_two()
    board.pause("alice", "lunch", T0 + 5)
    version = board.version
    board.pause("alice", "lunch", T0 + 50)
    assert alice(board, T0 + 60)["since"] == T0 + 5
    assert board.version == version


def test_ringing_and_a_call_win_over_the_pause_while_they_last() -> None:
    board, tracker = board_of_two(), CallTracker(lambda e: AGENTS.get(e or ""))
    board.pause("alice", "training", T0 + 1)
    feed(board, tracker, EventKind.RINGING, T0 + 2, "1001")
    assert (alice(board, T0 + 3)["state"], alice(board, T0 + 3)["reason"]) == ("ringing", None)
    feed(board, tracker, EventKind.ANSWERED, T0 + 4, "1001")
    assert alice(board, T0 + 5)["state"] == "on_call"
    feed(board, tracker, EventKind.ENDED, T0 + 60, None)
    entry = alice(board, T0 + 61)  # the pause outlasts the call, and beats wrap-up
    assert (entry["state"], entry["reason"]) == ("paused", "training")


def test_a_pause_of_an_agent_the_board_does_not_show_is_ignored() -> None:
    board = board_of_two()
    version = board.version
    board.pause("carol", "lunch", T0)
    assert board.version == version
    assert {a["id"] for a in board.snapshot(T0, None)["agents"]} == {"alice", "bob"}


async def test_memory_board_state_pauses_its_board() -> None:
    board = board_of_two()
    state = MemoryBoardState(board)
    await state.pause("bob", "lunch", T0 + 1)
    bob = (await state.snapshot(T0 + 2, None))["agents"][1]
    assert (bob["state"], bob["reason"]) == ("paused", "lunch")


async def test_a_pause_on_one_node_shows_on_every_node(redis_url: str, redis_cleanup: str) -> None:
    redis = ClusterRedis(redis_url, redis_cleanup)
    boards = [board_of_two(), board_of_two()]
    nodes = [
        SharedBoardState(MemoryBoardState(b), redis, f"node-{i}") for i, b in enumerate(boards)
    ]
    changed = asyncio.Event()
    nodes[1].changed = changed.set
    tasks = [asyncio.create_task(nodes[0].send()), asyncio.create_task(nodes[1].listen())]
    try:
        await subscribed(redis)
        await nodes[0].pause("alice", "lunch", T0 + 1)
        async with asyncio.timeout(5):
            await changed.wait()
        entry = alice(boards[1], T0 + 2)
        assert (entry["state"], entry["reason"], entry["since"]) == ("paused", "lunch", T0 + 1)
        changed.clear()
        await nodes[0].pause("alice", None, T0 + 3)
        async with asyncio.timeout(5):
            await changed.wait()
        assert alice(boards[1], T0 + 4)["state"] == "available"
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await redis.client.aclose()


async def subscribed(redis: ClusterRedis) -> None:
    """Wait until a node listens on the board channel."""
    channel = redis.key(BOARD_CHANNEL)
    async with asyncio.timeout(5):
        while True:
            ((_, count),) = await redis.client.pubsub_numsub(channel)
            if count:
                return
            await asyncio.sleep(0.02)


def test_closing_the_tab_does_not_restart_the_time_in_pause() -> None:
    board = board_of_two()
    board.pause("alice", "lunch", T0 + 5)
    board.presence("alice", False, T0 + 30)
    board.presence("alice", True, T0 + 40)
    entry = alice(board, T0 + 50)
    assert (entry["state"], entry["since"]) == ("paused", T0 + 5)
    board.pause("alice", None, T0 + 60)
    board.presence("alice", False, T0 + 70)
    assert (alice(board, T0 + 80)["state"], alice(board, T0 + 80)["since"]) == ("offline", T0 + 70)
