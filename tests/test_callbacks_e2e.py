"""Callbacks end to end: a caller abandons a queue call at the fake Asterisk (real AMI over
loopback), the item reaches the agents of the queue with the caller's card summary; one agent
takes it while the other's websocket sees it taken (and is refused it), calls back through
click-to-dial (the call linked to the item) and closes it; the caller's own answered return
closes their next item; an agent of another queue sees none of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from screenpop.daemon import Daemon
from screenpop.store.callbacks import CallbackStore
from tests.fakes.ami_scenarios import Pbx, packet, snapshot
from tests.fakes.ami_server import FakeAsterisk
from tests.harness import AgentClient, agent_tab, make_settings, running, until, with_sources
from tests.test_metrics_conventions import samples, scrape

CALLER = "+12125551234"


def callback_agents() -> list[dict[str, Any]]:
    return [
        {"id": "alice", "name": "Alice", "extensions": ["PJSIP/1001"], "token": "ta",
         "queues": ["support"]},
        {"id": "bob", "name": "Bob", "extensions": ["PJSIP/1002"], "token": "tb"},
        {"id": "carol", "name": "Carol", "extensions": ["PJSIP/1003"], "token": "tc",
         "queues": ["sales"]},
    ]  # fmt: skip


async def next_of(tab: AgentClient, kind: str) -> dict[str, Any]:
    """The next message of `kind`, skipping the others (pops, call states, status)."""
    for _ in range(50):
        message = await tab.recv()
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


async def both(tab: AgentClient, *kinds: str) -> dict[str, dict[str, Any]]:
    """The first message of each of `kinds`, in whatever order they come."""
    found: dict[str, dict[str, Any]] = {}
    while len(found) < len(kinds):
        message = await tab.recv()
        if message["type"] in kinds:
            found.setdefault(message["type"], message)
    return found


async def opened(tab: AgentClient) -> None:
    """Hello, then the resume every page sends (a new tab gets items only when there are)."""
    await tab.recv_type("hello")
    await tab.send({"type": "resume", "last_seq": 0})


@asynccontextmanager
async def center(
    tmp_path: Path, min_wait_s: float = 0
) -> AsyncIterator[tuple[Daemon, int, FakeAsterisk, Pbx]]:
    pbx = Pbx()
    server = FakeAsterisk(pbx)
    ami = await server.start()
    source = {"name": "pbx1", "kind": "ami", "port": ami, "username": "screenpop",
              "secret": "s3cret"}  # fmt: skip
    settings = make_settings(
        tmp_path, telephony=[source], agents=callback_agents(), callbacks={"min_wait_s": min_wait_s}
    )
    try:
        async with running(settings) as (daemon, port), with_sources(daemon):
            await until(lambda: daemon.sources["pbx1"].status.logged_in and server.resyncs >= 1)
            yield daemon, port, server, pbx
    finally:
        await server.stop()


async def abandon(server: FakeAsterisk, pbx: Pbx, rung: AgentClient, device: str) -> None:
    """The caller waits in `support`, `device` rings (its agent's tab `rung` gets the pop, the
    card built), and the caller hangs up."""
    call, packets = pbx.inbound(CALLER, "Jane Doe")
    await server.send([*packets, *pbx.join(call, "support")])
    await server.send(pbx.ring(call, device, device[-4:], "Agent"))
    await next_of(rung, "pop")
    await server.send(pbx.abandon(call))


async def test_abandon_take_call_back_and_close(tmp_path: Path) -> None:
    async with (
        center(tmp_path) as (daemon, port, server, pbx),
        agent_tab(port, "ta") as alice,
        agent_tab(port, "tb") as bob,
        agent_tab(port, "tc") as carol,
    ):
        for tab in (alice, bob, carol):
            await opened(tab)
        await abandon(server, pbx, alice, "PJSIP/1001")
        (item,) = (await next_of(alice, "callbacks"))["items"]
        assert (item["queue"], item["e164"], item["state"], item["reason"]) == (
            "support",
            CALLER,
            "open",
            "abandoned",
        )
        assert item["summary"] == {"name": "Jane Doe", "customer_id": "C-1"}
        assert (await next_of(bob, "callbacks"))["items"] == [item]
        assert (await next_of(carol, "callbacks"))["items"] == []  # not her queue

        await alice.send({"type": "callback_take", "id": item["id"]})
        taken = (await next_of(alice, "callback"))["item"]
        assert (taken["state"], taken["taken_by"]) == ("taken", "alice")
        assert (await next_of(bob, "callback"))["item"] == taken  # bob sees it taken

        await bob.send({"type": "callback_take", "id": item["id"]})
        refused = await next_of(bob, "error")
        assert refused == {"type": "error", "reason": "already taken by alice",
                           "about": "callback_take"}  # fmt: skip
        await carol.send({"type": "callback_take", "id": item["id"]})
        assert (await next_of(carol, "error"))["reason"] == "not your queue (support)"

        await alice.send({"type": "callback_dial", "id": item["id"]})
        got = await both(alice, "callback", "pop")  # the call back pops as any dial does
        dialled = got["callback"]["item"]
        (originate,) = server.originates
        assert originate["exten"] == [CALLER] and originate["channel"] == ["PJSIP/1001"]
        assert dialled["call_back_call_id"] == got["pop"]["call_id"]
        assert got["pop"]["direction"] == "outbound"

        await alice.send({"type": "callback_close", "id": item["id"], "disposition": "resolved"})
        closed = (await next_of(alice, "callback"))["item"]
        assert (closed["state"], closed["closed_by"], closed["disposition"]) == (
            "closed",
            "agent",
            "resolved",
        )
        assert await CallbackStore(daemon.store).open_items() == []
        families = await scrape(port)
    events = samples(families["screenpop_callbacks"])
    assert events[(("event", "created"),)] == 1
    assert events[(("event", "taken"),)] == 1
    assert events[(("event", "refused"),)] == 2
    assert samples(families["screenpop_callback_refusals"])[(("reason", "taken"),)] == 1


async def test_the_callers_answered_return_closes_their_item(tmp_path: Path) -> None:
    async with center(tmp_path) as (daemon, port, server, pbx), agent_tab(port, "tb") as bob:
        await opened(bob)
        await abandon(server, pbx, bob, "PJSIP/1002")
        (item,) = (await next_of(bob, "callbacks"))["items"]
        call, packets = pbx.inbound(CALLER, "Jane Doe")  # the caller tries again
        await server.send([*packets, *pbx.join(call, "support")])
        await server.send(pbx.ring(call, "PJSIP/1002", "1002", "Bob"))
        await server.send(pbx.answer(call, "PJSIP/1002"))
        assert (await next_of(bob, "callbacks"))["items"] == []
        closed = await CallbackStore(daemon.store).get(item["id"])
    assert closed is not None
    assert (closed.state, closed.closed_by) == ("closed", "returned")
    assert closed.call_back_call_id is not None and closed.call_back_call_id != item["id"]


async def test_a_queue_timeout_after_rings_is_a_missed_item_and_a_short_abandon_none(
    tmp_path: Path,
) -> None:
    async with (
        center(tmp_path, min_wait_s=3600) as (daemon, port, server, pbx),
        agent_tab(port, "tb") as bob,
    ):
        await opened(bob)
        await abandon(server, pbx, bob, "PJSIP/1002")  # hung up well before 3600 s: no item
        call, packets = pbx.inbound(CALLER, "Jane Doe")
        await server.send([*packets, *pbx.join(call, "support")])
        await server.send(pbx.ring(call, "PJSIP/1002", "1002", "Bob"))
        await next_of(bob, "pop")
        await server.send(pbx.no_answer(call, "PJSIP/1002"))
        leave = [("Event", "QueueCallerLeave"), ("Privilege", "agent,all"),
                 *snapshot(call.caller), ("Queue", "support"), ("Count", "0")]  # fmt: skip
        await server.send([packet(leave), *pbx.hangup_caller(call)])  # the queue timed out
        (item,) = (await next_of(bob, "callbacks"))["items"]
        assert (item["reason"], item["queue"], item["e164"]) == ("missed", "support", CALLER)
        made = await CallbackStore(daemon.store).open_items()
    assert [i.call_id for i in made] == [call.caller.linkedid]
