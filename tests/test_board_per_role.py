"""The board is built and encoded once per role per update, and every watcher of the role gets the
same bytes: nothing of an update is done per tab. Two roles that see callers differently each get
their own board."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from screenpop.board.feed import BoardFeed
from screenpop.board.model import Board
from screenpop.board.state import MemoryBoardState
from screenpop.delivery.hub import Hub, Subscription
from screenpop.delivery.log import MemoryDeliveryLog
from screenpop.delivery.wire import Frame, counts
from screenpop.events import CallEvent, EventKind
from screenpop.tasks import TaskOwner
from tests.harness import AgentClient, agent_tab, agents, make_settings, running, until
from tests.test_board import T0, feed, setup

SUPERVISORS = [f"sup{i}" for i in range(6)]
LEADS = [f"lead{i}" for i in range(3)]
ROLES = {**dict.fromkeys(SUPERVISORS, "supervisor"), **dict.fromkeys(LEADS, "lead")}


class CountingBoard(MemoryBoardState):
    """The in-memory board, counting the snapshots built per role."""

    def __init__(self, board: Board) -> None:
        super().__init__(board)
        self.builds: Counter[str | None] = Counter()

    async def snapshot(self, now: float, role: str | None) -> dict[str, Any]:
        self.builds[role] += 1
        return await super().snapshot(now, role)


@asynccontextmanager
async def watched_board() -> AsyncIterator[
    tuple[CountingBoard, BoardFeed, dict[str, list[Subscription]]]
]:
    """A board with one waiting call, its feed on a real hub, two tabs per watcher."""
    board, tracker = setup()
    feed(board, tracker, EventKind.QUEUED, T0, call_id="c1")
    state = CountingBoard(board)
    hub = Hub(MemoryDeliveryLog())
    tabs = {agent: [hub.subscribe(agent), hub.subscribe(agent)] for agent in ROLES}
    tasks = TaskOwner()
    board_feed = BoardFeed(state, hub.publish, lambda: list(ROLES.items()), tasks)
    try:
        yield state, board_feed, tabs
    finally:
        board_feed.close()
        await tasks.aclose()


async def next_frames(tabs: dict[str, list[Subscription]]) -> dict[str, list[Frame]]:
    out: dict[str, list[Frame]] = {}
    for agent, subs in tabs.items():
        frames = [await asyncio.wait_for(sub.next(), 5) for sub in subs]
        out[agent] = [f for f in frames if f is not None]
    return out


def summary(frame: Frame) -> Any:
    (queue,) = json.loads(frame.data)["board"]["queues"]
    return queue["waiting"][0]["summary"]


async def test_an_update_is_built_and_encoded_once_per_role_and_shared_by_every_watcher() -> None:
    async with watched_board() as (state, board_feed, tabs):
        before = counts.encodes
        board_feed.changed()
        frames = await next_frames(tabs)
        assert state.builds == {"supervisor": 1, "lead": 1}
        assert counts.encodes - before == 2, "one encode per role, none per watcher or tab"
        bodies = {agent: {id(f.body) for f in got} for agent, got in frames.items()}
        assert len({b for a in SUPERVISORS for b in bodies[a]}) == 1, "one body for the role"
        assert len({b for a in LEADS for b in bodies[a]}) == 1
        assert bodies[SUPERVISORS[0]] != bodies[LEADS[0]]
        # the roles see the caller as their filter says
        assert summary(frames["sup3"][1]) == {"name": "supervisor:c1"}
        assert summary(frames["lead2"][0]) == {"name": "lead:c1"}
        # each agent's copy carries its own seq (here its first message)
        assert {json.loads(f.data)["seq"] for got in frames.values() for f in got} == {1}
        assert board_feed.published == len(ROLES)


async def test_a_burst_of_changes_is_one_build_per_role() -> None:
    async with watched_board() as (state, board_feed, tabs):
        for _ in range(50):
            board_feed.changed()
        await next_frames(tabs)
        await asyncio.sleep(0.4)  # past the feed's interval: no second flush was pending
        assert state.builds == {"supervisor": 1, "lead": 1}
        assert all(not sub.outbox for subs in tabs.values() for sub in subs)


async def test_a_watcher_resuming_right_after_an_update_gets_those_bytes_not_a_new_build() -> None:
    async with watched_board() as (state, board_feed, tabs):
        board_feed.changed()
        first = await next_frames(tabs)
        await board_feed.send_to("sup1", "supervisor")
        (again,) = [await asyncio.wait_for(sub.next(), 5) for sub in tabs["sup1"][:1]]
        assert again is not None and again.body is first["sup1"][0].body
        assert state.builds["supervisor"] == 1
        board_feed.changed()  # changed since (its flush is not due yet): a fresh one
        await board_feed.send_to("lead0", "lead")
        assert state.builds["lead"] == 2


def two_role_settings(tmp_path: Path) -> Any:
    everyone = [*agents(), {"id": "lee", "role": "lead", "extensions": ["1008"], "token": "tl"}]
    roles = {
        "agent": {},
        "supervisor": {"board": True},
        "lead": {"board": True, "sections": ["sales"]},
    }
    return make_settings(tmp_path, agents=everyone, roles=roles)


async def raw_board_with_caller(tab: AgentClient) -> tuple[str, dict[str, Any]]:
    """The first board message showing a waiting caller: its raw text and the caller."""
    while True:
        raw = await asyncio.wait_for(tab.ws.recv(), 5)
        assert isinstance(raw, str)
        message = json.loads(raw)
        if message["type"] != "board":
            continue
        waiting = [c for q in message["board"]["queues"] for c in q["waiting"]]
        if waiting and waiting[0]["summary"]:
            return raw, waiting[0]


async def test_watchers_of_two_roles_each_get_their_board_the_same_bytes_per_role(
    tmp_path: Path,
) -> None:
    async with running(two_role_settings(tmp_path)) as (daemon, port), AsyncExitStack() as stack:
        tabs = {
            token: [await stack.enter_async_context(agent_tab(port, token)) for _ in range(3)]
            for token in ("ts", "tl")
        }
        for tab in (*tabs["ts"], *tabs["tl"]):
            assert (await tab.recv_type("hello"))["board"] is True
        await until(lambda: daemon.hub.tabs("sam") == 3 and daemon.hub.tabs("lee") == 3)
        daemon.emit(CallEvent("t", "c1", EventKind.QUEUED, "+12125551234", "JANE D", None, "q"))
        seen = {
            token: [await raw_board_with_caller(tab) for tab in role_tabs]
            for token, role_tabs in tabs.items()
        }
        for got in seen.values():
            assert len({raw for raw, _ in got}) == 1, "the tabs of one agent: the same bytes"
        sam_caller, lee_caller = seen["ts"][0][1], seen["tl"][0][1]
        assert sam_caller["summary"]["name"] == "Jane Doe"  # from accounting, which lee's role
        assert "name" not in lee_caller["summary"]  # (sales only) does not see
        assert lee_caller["summary"]["customer_id"] == "C-1"


async def test_a_large_board_comes_less_often() -> None:
    """At most `bytes_per_s` of snapshot a second per watcher: a board twice that size waits two
    seconds between flushes, however often it changes."""
    board, tracker = setup()
    feed(board, tracker, EventKind.QUEUED, T0, call_id="c1")
    hub = Hub(MemoryDeliveryLog())
    tab = hub.subscribe("sup0")
    tasks = TaskOwner()
    board_feed = BoardFeed(
        MemoryBoardState(board), hub.publish, lambda: [("sup0", "supervisor")], tasks
    )
    try:
        board_feed.changed()
        first = await asyncio.wait_for(tab.next(), 5)
        assert first is not None
        board_feed.close()
        await tasks.aclose()
        tasks = TaskOwner()
        # the same board, with a budget of half its size a second: two seconds apart
        board_feed = BoardFeed(
            MemoryBoardState(board),
            hub.publish,
            lambda: [("sup0", "supervisor")],
            tasks,
            bytes_per_s=first.size / 2,
        )
        board_feed.changed()
        await asyncio.wait_for(tab.next(), 5)
        started = asyncio.get_running_loop().time()
        for _ in range(10):
            board_feed.changed()
            await asyncio.sleep(0.1)
        assert tab.outbox == deque(), "no second snapshot within a second"
        await asyncio.wait_for(tab.next(), 5)
        assert asyncio.get_running_loop().time() - started >= 1.9
    finally:
        board_feed.close()
        await tasks.aclose()
