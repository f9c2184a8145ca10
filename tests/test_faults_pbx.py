"""A PBX link that drops mid-frame, sends garbage or stalls, through the whole daemon while calls
keep ringing (issue 12, "Faults"), for Asterisk (AMI) and FreeSWITCH (ESL).

The fakes (tests/fakes/ami_server.py, esl_server.py) keep the PBX's own tables true while a call
rings Alice or Bob every 200 ms (tests/fakes/pbx_traffic.py), so what a resync finds is what
happened meanwhile. The sources' own reactions are tested in tests/test_ami_source.py and
tests/test_esl_source.py; here is what agents and ops see: `/readyz` names the source while its
link is down, `/metrics` shows it down and counts the reconnect (or the rejected frames), the link
comes back by itself and resyncs, a call that rang or was answered meanwhile pops or moves on,
and afterwards every call still pops: each call exactly once, to the right agent, and over at the
end on every screen.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.esl_server import FakeFreeSwitch
from tests.fakes.faults import Inbox, metric, wait_readiness
from tests.fakes.pbx_traffic import (
    ALICE,
    BOB,
    AmiPhones,
    EslPhones,
    PbxTraffic,
    Phones,
    caller,
    customers,
)
from tests.harness import agent_tab, make_settings, running, static, until, with_sources

# Quick keep-alive and backoff: a stall is noticed in half a second, and the link stays down
# long enough (at least backoff_min_s) for a probe to see it.
LINK = {"backoff_min_s": 0.5, "backoff_max_s": 1.0, "ping_interval_s": 0.2, "ping_timeout_s": 0.3}
UP, RECONNECTS = "screenpop_source_up", "screenpop_source_reconnects_total"
REJECTED = "screenpop_source_rejected_frames_total"
CUSTOMERS = customers()
LONE = iter(range(4000, 5000))  # callers of the calls a test places itself


def lone_caller() -> str:
    return caller(next(LONE))


@dataclass
class Rig:
    port: int
    source: str
    phones: Phones
    traffic: PbxTraffic
    inboxes: dict[str, Inbox]

    @property
    def alice(self) -> Inbox:
        return self.inboxes["alice"]

    async def pops(self, count: int, what: str) -> None:
        """Wait for `count` pops of traffic calls started from now on."""
        start = len(self.traffic.started)

        def popped() -> int:
            calls = self.traffic.since(start)
            return sum(1 for c in calls if self.inboxes[self.traffic.agent_of[c]].pops_of(c))

        await until(lambda: popped() >= count, what)

    async def link_down(self) -> str:
        """Wait until `/readyz` says the source is down; its detail there. `/metrics` agrees."""
        checks = (await wait_readiness(self.port, False))["checks"]
        check = checks[f"telephony.{self.source}"]
        assert check["ok"] is False
        assert all(c["ok"] for name, c in checks.items() if name != f"telephony.{self.source}")
        assert await metric(self.port, UP, source=self.source) == 0
        return str(check["detail"])

    async def link_up(self) -> None:
        checks = (await wait_readiness(self.port, True))["checks"]
        assert checks[f"telephony.{self.source}"]["ok"] is True
        assert await metric(self.port, UP, source=self.source) == 1


def check_every_call(r: Rig) -> None:
    """No call lost or doubled: each rang on a healthy link popped for its agent; each one any
    agent saw popped once, for that agent only, with its caller's card, and is over."""
    for call_id in r.traffic.delivered:
        assert r.inboxes[r.traffic.agent_of[call_id]].pops_of(call_id) == 1, call_id
    for agent, inbox in r.inboxes.items():
        for call_id, seen in inbox.calls.items():
            assert r.traffic.agent_of.get(call_id, agent) == agent, call_id
            assert len(seen.pops) == 1, (agent, call_id, seen)
            assert seen.over, (agent, call_id, seen.states)
            card = seen.pops[0]["card"]
            number = card["caller"]["e164"]
            assert number == r.traffic.number_of.get(call_id, number)
            assert card["summary"]["name"] == CUSTOMERS[number]["name"], card


@asynccontextmanager
async def pbx(kind: str) -> AsyncIterator[tuple[dict[str, Any], Phones]]:
    """The fake PBX of `kind` listening, the `[[telephony]]` entry for it, and its phones."""
    if kind == "ami":
        server = FakeAsterisk()
        port = await server.start()
        try:
            yield (
                {"kind": "ami", "port": port, "username": "screenpop", "secret": "s3cret"},
                (AmiPhones(server)),
            )
        finally:
            await server.stop()
    else:
        async with FakeFreeSwitch("ClueCon") as fs:
            yield {"kind": "esl", "port": fs.port, "password": "ClueCon"}, EslPhones(fs)


@asynccontextmanager
async def rig(tmp_path: Path, kind: str) -> AsyncIterator[Rig]:
    async with pbx(kind) as (entry, phones):
        settings = make_settings(
            tmp_path,
            telephony=[{"name": "pbx1", **entry, **LINK}],
            connectors=[static("accounting", records=CUSTOMERS)],
        )
        async with running(settings) as (daemon, port), with_sources(daemon), AsyncExitStack() as s:
            inboxes = {
                agent: await s.enter_async_context(
                    Inbox(await s.enter_async_context(agent_tab(port, token)))
                )
                for agent, token in (("alice", "ta"), ("bob", "tb"))
            }
            await wait_readiness(port, True)
            async with PbxTraffic(phones, [ALICE, BOB]) as traffic:
                r = Rig(port, "pbx1", phones, traffic, inboxes)
                await r.pops(2, "calls pop before the fault")
                yield r
                await r.pops(3, "calls pop after the fault")
            await until(
                lambda: all(i.calls[c].over for i in inboxes.values() for c in i.calls),
                "every call over on every screen",
            )
            check_every_call(r)


KINDS = pytest.mark.parametrize("kind", ["ami", "esl"])


@KINDS
async def test_link_cut_mid_frame(tmp_path: Path, kind: str) -> None:
    async with rig(tmp_path, kind) as r:
        ringing = await r.phones.ring(ALICE, lone_caller())
        await r.alice.popped(ringing)
        reconnects = await metric(r.port, RECONNECTS, source="pbx1")
        r.traffic.healthy = False
        cut = await r.phones.ring_cut_mid_frame(ALICE, lone_caller())
        await r.phones.answer(ringing)  # while the link is down: nobody hears it
        assert "closed the connection" in await r.link_down()
        await r.link_up()
        r.traffic.healthy = True
        assert await metric(r.port, RECONNECTS, source="pbx1") > reconnects
        await r.alice.popped(cut)  # the ring cut in half: learned on the resync
        await r.alice.until(lambda: r.alice.calls[ringing].states == ["answered"], "answered")
        await r.phones.answer(cut)
        await r.alice.until(lambda: r.alice.calls[cut].states == ["answered"], "cut answered")
        for call_id in (ringing, cut):
            await r.phones.hang_up(call_id)


@KINDS
async def test_garbage_on_the_link(tmp_path: Path, kind: str) -> None:
    noise = random.Random(12)
    async with rig(tmp_path, kind) as r:
        rejected = await metric(r.port, REJECTED, source="pbx1")
        calls = []
        for _ in range(3):  # bytes that are no frame, glued to the frame that says Alice rings
            garbage = noise.randbytes(2000)
            calls.append(await r.phones.ring(ALICE, lone_caller(), garbage=garbage))
        for call_id in calls:
            await r.alice.popped(call_id)
        assert await metric(r.port, REJECTED, source="pbx1") > rejected
        assert await metric(r.port, RECONNECTS, source="pbx1") == 0  # the link itself held
        assert (await wait_readiness(r.port, True))["checks"]["telephony.pbx1"]["ok"] is True
        for call_id in calls:
            await r.phones.answer(call_id)
            await r.phones.hang_up(call_id)


@KINDS
async def test_link_stalls(tmp_path: Path, kind: str) -> None:
    async with rig(tmp_path, kind) as r:
        ringing = await r.phones.ring(ALICE, lone_caller())
        await r.alice.popped(ringing)
        r.traffic.healthy = False
        r.phones.stall()  # connected, silent, answers no keep-alive
        await r.phones.answer(ringing)
        assert "half-open" in await r.link_down()
        r.phones.unstall()
        await r.link_up()
        r.traffic.healthy = True
        assert await metric(r.port, RECONNECTS, source="pbx1") >= 1
        await r.alice.until(lambda: r.alice.calls[ringing].states == ["answered"], "answered")
        await r.phones.hang_up(ringing)
