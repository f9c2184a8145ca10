"""Agent status end to end: a real daemon on loopback, websocket clients, a fake Asterisk and a
fake FreeSWITCH that speak their real protocols.

A pause asked by an agent (or by a supervisor whose role has `manage_agents`) goes to the PBX
(`QueuePause`, `callcenter_config agent set status`); the PBX's confirmation is what changes the
agent's status, on their tabs (`status` messages) and on the board. Refusals are errors to the
tab that asked, counted; the daemon carries on.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from screenpop.agent_status import StatusBook
from screenpop.daemon import Daemon
from screenpop.settings import parse_settings
from tests.fakes.ami_server import FakeAsterisk, member_pause
from tests.fakes.esl_server import FakeFreeSwitch
from tests.fakes.web_connectors import web_settings_raw
from tests.harness import free_port, until, with_sources

Json = dict[str, Any]


def pause_raw(tmp_path: Path, telephony: Json) -> Json:
    raw = copy.deepcopy(web_settings_raw(tmp_path, port=free_port()))
    raw["agents"][0]["extensions"] = ["PJSIP/1001", "1001"]
    raw["agents"][1]["extensions"] = ["PJSIP/1002", "1002"]
    raw["roles"]["supervisor"] = {"board": True, "manage_agents": True}
    raw["ui"] = {"pause_reasons": ["break", "lunch", "training"]}
    raw["telephony"] = [telephony]
    return raw


@asynccontextmanager
async def running(raw: Json) -> AsyncIterator[tuple[Daemon, str]]:
    settings = parse_settings(raw, "test")
    async with Daemon(settings) as daemon, daemon.web() as port, with_sources(daemon):
        source = next(iter(daemon.sources.values()))
        await until(lambda: source.status.logged_in, "PBX login")
        yield daemon, f"http://127.0.0.1:{port}"


@pytest.fixture
async def pbx() -> AsyncIterator[FakeAsterisk]:
    server = FakeAsterisk()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def site(tmp_path: Path, pbx: FakeAsterisk) -> AsyncIterator[tuple[Daemon, str]]:
    ami = {"name": "pbx1", "kind": "ami", "port": pbx.port, "username": "screenpop"}
    async with running(pause_raw(tmp_path, {**ami, "secret": "s3cret"})) as site:
        yield site


class Tab:
    """One websocket of one agent (Bearer token), read message by message."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, message: Json) -> None:
        await self.ws.send_json(message)

    async def next(self, kind: str, match: Callable[[Json], bool] = lambda m: True) -> Json:
        """The next message of type `kind` that `match`es (others are skipped)."""
        while True:
            message = await self.ws.receive_json(timeout=10)
            if message["type"] == kind and match(message):
                return message


@asynccontextmanager
async def tab(base: str, token: str) -> AsyncIterator[Tab]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{base}/ws", headers=headers) as ws,
    ):
        hello = await ws.receive_json(timeout=10)
        await ws.send_json({"type": "resume", "last_seq": hello["seq"]})
        yield Tab(ws)


def board_agent(message: Json, agent_id: str) -> Json:
    return next(a for a in message["board"]["agents"] if a["id"] == agent_id)


def is_paused(reason: str | None) -> Callable[[Json], bool]:
    return lambda m: m["state"] == "paused" and m["reason"] == reason and m["pending"] is None


async def test_a_pause_from_the_page_goes_to_asterisk_and_its_confirmation_shows(
    site: tuple[Daemon, str], pbx: FakeAsterisk
) -> None:
    daemon, base = site
    async with tab(base, "alice-t") as alice, tab(base, "sam-t") as sam:
        await alice.send({"type": "pause", "reason": "lunch"})
        pending = await alice.next("status")
        assert (pending["state"], pending["pending"]) == ("available", True)  # "pausing…"
        paused = await alice.next("status", is_paused("lunch"))
        [action] = pbx.pauses
        assert action["interface"] == ["PJSIP/1001"] and action["paused"] == ["true"]
        assert action["reason"] == ["lunch"] and "queue" not in action  # every queue
        board = await sam.next("board", lambda m: board_agent(m, "alice")["state"] == "paused")
        assert board_agent(board, "alice")["reason"] == "lunch"
        assert paused["since"] > 0 and daemon.statuses.status("alice").reason == "lunch"

        await alice.send({"type": "unpause"})
        back = await alice.next("status", lambda m: m["state"] == "available" and not m["pending"])
        assert back["reason"] is None
        assert pbx.pauses[1]["paused"] == ["false"] and "reason" not in pbx.pauses[1]
        await sam.next("board", lambda m: board_agent(m, "alice")["state"] != "paused")


async def test_a_reason_not_in_the_list_is_refused_and_counted(
    site: tuple[Daemon, str], pbx: FakeAsterisk
) -> None:
    daemon, base = site
    async with tab(base, "alice-t") as alice:
        await alice.send({"type": "pause", "reason": "nap"})
        error = await alice.next("error")
        assert error["about"] == "pause" and "not a pause reason" in error["reason"]
        await alice.send({"type": "pause"})  # no reason at all
        assert (await alice.next("error"))["about"] == "pause"
        assert pbx.pauses == []
        metrics = daemon.metrics_text().decode()
        assert "screenpop_ws_bad_messages_total 2.0" in metrics
        await alice.send({"type": "pause", "reason": "break"})  # the daemon is fine
        await alice.next("status", is_paused("break"))
    async with tab(base, "alice-t") as again:  # a new tab: told at once it is paused
        await again.next("status", is_paused("break"))


async def test_only_a_role_with_manage_agents_pauses_someone_else(
    site: tuple[Daemon, str], pbx: FakeAsterisk
) -> None:
    _, base = site
    async with tab(base, "sid-t") as sid, tab(base, "sam-t") as sam, tab(base, "bob-t") as bob:
        await sid.send({"type": "pause", "agent": "bob", "reason": "lunch"})
        error = await sid.next("error")
        assert error["about"] == "pause" and "manage_agents" in error["reason"]
        assert pbx.pauses == []
        await sam.send({"type": "pause", "agent": "bob", "reason": "training"})
        await bob.next("status", is_paused("training"))
        assert pbx.pauses[0]["interface"] == ["PJSIP/1002"]
        await sam.next("board", lambda m: board_agent(m, "bob")["reason"] == "training")
        await sam.send({"type": "unpause", "agent": "bob"})
        await bob.next("status", lambda m: m["state"] == "available" and m["pending"] is None)
        await sam.send({"type": "pause", "agent": "nobody", "reason": "lunch"})
        assert (await sam.next("error"))["about"] == "pause"
        await sam.send({"type": "pause", "agent": "sid", "reason": "lunch"})  # sid has "1003"
        await sid.next("status", is_paused("lunch"))
        assert pbx.pauses[-1]["interface"] == ["PJSIP/1003"]  # with originate_tech


async def test_a_pause_asterisk_refuses_is_said_and_nothing_changes(
    site: tuple[Daemon, str], pbx: FakeAsterisk
) -> None:
    daemon, base = site
    pbx.refuse_pause = "Interface not found"
    async with tab(base, "alice-t") as alice:
        await alice.send({"type": "pause", "reason": "lunch"})
        error = await alice.next("error")
        assert error["about"] == "pause" and "Interface not found" in error["reason"]
        status = await alice.next("status", lambda m: m["pending"] is None)
        assert status["state"] == "available"
    assert not daemon.statuses.status("alice").paused


async def test_a_pause_made_at_the_pbx_shows_on_the_page_and_the_board(
    site: tuple[Daemon, str], pbx: FakeAsterisk
) -> None:
    _, base = site
    async with tab(base, "bob-t") as bob, tab(base, "sam-t") as sam:
        # a phone feature code paused bob in both queues: one event per queue
        await pbx.send([member_pause(q, "PJSIP/1002", True, "break") for q in ("support", "sales")])
        await bob.next("status", is_paused("break"))
        await sam.next("board", lambda m: board_agent(m, "bob")["state"] == "paused")
        await pbx.send(member_pause("support", "PJSIP/1002", False, ""))
        await bob.next("status", lambda m: m["state"] == "available")


async def test_freeswitch_is_told_on_break_and_its_event_is_the_truth(tmp_path: Path) -> None:
    async with FakeFreeSwitch() as fs:
        esl = {"name": "fs1", "kind": "esl", "port": fs.port, "password": "ClueCon"}
        async with (
            running(pause_raw(tmp_path, esl)) as (daemon, base),
            tab(base, "alice-t") as alice,
        ):
            await alice.send({"type": "pause", "reason": "lunch"})
            await alice.next("status", lambda m: m["pending"] is True)
            await until(
                lambda: "bgapi callcenter_config agent set status 1001 'On Break'" in fs.commands,
                "callcenter_config sent",
            )
            assert not daemon.statuses.status("alice").paused  # not before FreeSWITCH says so
            await fs.send_event(status_change("1001", "On Break"))
            await alice.next("status", is_paused("lunch"))  # the reason asked for is kept
            await alice.send({"type": "unpause"})
            await until(
                lambda: "bgapi callcenter_config agent set status 1001 'Available'" in fs.commands,
                "unpause sent",
            )
            await fs.send_event(status_change("1001", "Available"))
            await alice.next("status", lambda m: m["state"] == "available" and not m["pending"])


def status_change(agent: str, status: str) -> dict[str, str]:
    return {
        "Event-Name": "CUSTOM",
        "Event-Subclass": "callcenter::info",
        "Event-Calling-File": "mod_callcenter.c",
        "Event-Calling-Function": "cc_agent_update",
        "CC-Agent": agent,
        "CC-Action": "agent-status-change",
        "CC-Agent-Status": status,
    }


def test_the_book_waits_for_the_pbx_and_keeps_the_reason_asked_for() -> None:
    book = StatusBook(now=100.0)
    assert book.get("alice").to_json() == {"state": "available", "reason": None, "since": 100.0}
    book.asked("alice", True, "lunch", 101.0)
    assert book.pending("alice", 102.0) is True and not book.get("alice").paused
    status = book.confirmed("alice", True, "", 103.0)  # FreeSWITCH gives no reason
    assert status is not None and status.to_json() == {
        "state": "paused",
        "reason": "lunch",
        "since": 103.0,
    }
    assert book.pending("alice", 103.0) is None
    assert book.confirmed("alice", True, "lunch", 104.0) is None  # the second queue's event
    assert book.confirmed("alice", True, "break", 105.0) is not None  # a new reason is a change
    assert book.confirmed("alice", False, None, 106.0) is not None
    assert book.confirmed("alice", False, None, 107.0) is None
    book.asked("bob", True, "lunch", 0.0)
    assert book.pending("bob", 1000.0) is None  # never confirmed: forgotten


async def test_a_leased_link_still_pauses_and_dials(tmp_path: Path) -> None:
    from screenpop.cluster.lease import Lease, leased
    from screenpop.cluster.redis import ClusterRedis
    from screenpop.telephony.asterisk.source import AmiSource
    from screenpop.telephony.base import Dialer, Pauser, SourceContext
    from screenpop.telephony.simulator import SimulatorSource

    redis = ClusterRedis("redis://127.0.0.1:1/0", "test:")  # never asked: no lease is taken
    try:
        context = SourceContext(base_dir=tmp_path, default_region="US", online_agents=list)
        ami = AmiSource("pbx1", {"username": "u", "secret": "s"}, context)
        sim = SimulatorSource("sim", {}, context)
        wrapped = [leased(s, lambda name: Lease(redis, name, "node-a", 5.0)) for s in (ami, sim)]
        assert isinstance(wrapped[0], Dialer) and isinstance(wrapped[0], Pauser)
        assert isinstance(wrapped[1], Pauser) and isinstance(wrapped[1], Dialer)  # the demo dials
        pauser = wrapped[1]
        assert isinstance(pauser, Pauser)
        await pauser.pause(["PJSIP/1003"], True, "training")
        assert sim.online() == [] and "PJSIP/1003" in sim._paused  # the inner source paused
    finally:
        await redis.client.aclose()
