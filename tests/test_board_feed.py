"""The board over a real websocket: coalesced snapshots for supervisors, none for agents, and
today's figures surviving a daemon restart on the same SQLite store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from tests.harness import AgentClient, agent_tab, make_settings, running

JANE = "+12125551234"


def event(call_id: str, kind: EventKind, endpoint: str | None = None) -> CallEvent:
    return CallEvent("t", call_id, kind, JANE, "JANE D", endpoint, "support")


async def boards_until_quiet(tab: AgentClient, quiet_s: float = 0.8) -> list[dict[str, Any]]:
    """Every `board` snapshot received until nothing arrives for `quiet_s` seconds."""
    boards: list[dict[str, Any]] = []
    while True:
        try:
            message = await tab.recv(wait=quiet_s)
        except TimeoutError:
            return boards
        if message["type"] == "board":
            boards.append(message["board"])


def queue(board: dict[str, Any], name: str = "support") -> dict[str, Any]:
    """One queue of a snapshot; an empty queue when the board does not list it yet."""
    for found in board["queues"]:
        if found["name"] == name:
            return dict(found)
    return {"name": name, "waiting": [], "answered_today": 0, "abandoned_today": 0}


async def test_a_supervisor_gets_a_snapshot_on_connect_and_bursts_coalesced(
    tmp_path: Path,
) -> None:
    async with running(make_settings(tmp_path)) as (daemon, port), agent_tab(port, "ts") as sam:
        hello = await sam.recv_type("hello")
        assert hello["board"] is True
        first = (await sam.recv_type("board"))["board"]
        assert first["service_level_s"] == 20
        assert {a["id"] for a in first["agents"]} == {"alice", "bob", "sam"}

        for i in range(25):  # 50 events spread over several loop turns
            daemon.emit(event(f"b{i}", EventKind.QUEUED))
            await asyncio.sleep(0.01)
            daemon.emit(event(f"b{i}", EventKind.ABANDONED))
        boards = await boards_until_quiet(sam)
        assert 1 <= len(boards) <= 6, f"{len(boards)} board messages for a burst of 50 events"
        last = queue(boards[-1])
        assert (last["abandoned_today"], last["waiting"]) == (25, [])


async def test_the_board_follows_a_call_from_the_queue_to_the_agent(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with (
        running(settings) as (daemon, port),
        agent_tab(port, "ts") as sam,
        agent_tab(port, "ta"),
    ):
        await sam.recv_type("hello")
        daemon.emit(event("c1", EventKind.QUEUED))
        waiting = await next_board(sam, lambda b: bool(queue(b)["waiting"]))
        (call,) = queue(waiting)["waiting"]
        assert call["caller"] == "(212) 555-1234"
        assert call["waiting_since"] <= waiting["at"]

        daemon.emit(event("c1", EventKind.RINGING, "1001"))
        daemon.emit(event("c1", EventKind.ANSWERED, "1001"))
        answered = await next_board(sam, lambda b: queue(b)["answered_today"] == 1)
        alice = {a["id"]: a for a in answered["agents"]}["alice"]
        assert (alice["state"], alice["call_id"], alice["handled_today"]) == ("on_call", "c1", 1)
        assert alice["with"]["summary"]["name"] == "Jane Doe"
        assert queue(answered)["waiting"] == []


async def next_board(tab: AgentClient, wanted: Any) -> dict[str, Any]:
    """The first board snapshot for which `wanted(board)` holds (other messages skipped)."""
    for _ in range(50):
        message = await tab.recv()
        if message["type"] == "board" and wanted(message["board"]):
            board: dict[str, Any] = message["board"]
            return board
    raise AssertionError("the board never showed it")


async def test_an_agent_never_receives_the_board(tmp_path: Path) -> None:
    async with (
        running(make_settings(tmp_path)) as (daemon, port),
        agent_tab(port, "ta") as alice,
        agent_tab(port, "ts") as sam,
    ):
        assert (await alice.recv_type("hello"))["board"] is False
        await sam.recv_type("hello")
        daemon.emit(event("c1", EventKind.QUEUED))
        daemon.emit(event("c1", EventKind.RINGING, "1001"))
        daemon.emit(event("c1", EventKind.ANSWERED, "1001"))
        daemon.emit(event("c1", EventKind.ENDED))
        await next_board(sam, lambda b: queue(b)["answered_today"] == 1)
        received: list[dict[str, Any]] = []
        while True:
            try:
                received.append(await alice.recv(wait=0.6))
            except TimeoutError:
                break
        assert [m["type"] for m in received][:1] == ["pop"]
        assert "board" not in {m["type"] for m in received}


async def logged_calls(daemon: Daemon, count: int) -> None:
    """Wait until the call log holds `count` calls (it is written in the background)."""
    assert daemon.store is not None
    for _ in range(500):
        if len(await daemon.store.calls_since(0)) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the call log never held {count} calls")


async def test_todays_figures_survive_a_restart_on_the_same_store(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with running(settings) as (daemon, _):
        for call_id in ("a1", "a2"):
            daemon.emit(event(call_id, EventKind.QUEUED))
            daemon.emit(event(call_id, EventKind.ANSWERED, "1002"))
            daemon.emit(event(call_id, EventKind.ENDED))
        daemon.emit(event("x1", EventKind.QUEUED))
        daemon.emit(event("x1", EventKind.ABANDONED))
        await logged_calls(daemon, 3)

    async with running(settings) as (_, port), agent_tab(port, "ts") as sam:
        await sam.recv_type("hello")
        board = (await sam.recv_type("board"))["board"]
        support = queue(board)
        assert (support["answered_today"], support["abandoned_today"]) == (2, 1)
        assert support["service_level"] is not None
        bob = {a["id"]: a for a in board["agents"]}["bob"]
        assert bob["handled_today"] == 2


async def test_a_wait_crossing_its_limit_raises_the_alarm_with_nothing_else_happening(
    tmp_path: Path,
) -> None:
    thresholds = {"default": {"longest_wait_s": {"warn": 0.5, "alert": 1.0}}}
    settings = make_settings(tmp_path, board={"thresholds": thresholds})
    async with running(settings) as (daemon, port), agent_tab(port, "ts") as sam:
        await sam.recv_type("hello")
        daemon.emit(event("c1", EventKind.QUEUED))  # the only event: nobody answers, nothing moves
        alarmed = await next_board(sam, lambda b: ("longest_wait_s", "alert") in alarms_of(b))
        assert alarmed["totals"]["levels"]["longest_wait_s"] == "alert"
        assert queue(alarmed)["levels"]["longest_wait_s"] == "alert"
        assert alarmed["recheck_at"] is None  # past the last limit: no more rechecks


def alarms_of(board: dict[str, Any]) -> set[tuple[str, str]]:
    return {(a["kind"], a["level"]) for a in board["alarms"]}
