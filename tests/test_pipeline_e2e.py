"""The whole pipeline over real sockets: a source's events in, agents' websocket messages out."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screenpop.events import CallEvent, EventKind
from tests.harness import agent_tab, make_settings, running, static, until


def ring(call_id: str, endpoint: str, caller: str = "+12125551234") -> CallEvent:
    return CallEvent("pbx", call_id, EventKind.RINGING, caller=caller, endpoint=endpoint)


def event(call_id: str, kind: EventKind, endpoint: str | None = None) -> CallEvent:
    return CallEvent("pbx", call_id, kind, endpoint=endpoint)


async def test_ring_pops_for_that_agent_only_and_call_messages_follow(tmp_path: Path) -> None:
    async with (
        running(make_settings(tmp_path)) as (daemon, port),
        agent_tab(port, "ta") as alice,
        agent_tab(port, "tb") as bob,
    ):
        assert (await alice.recv_type("hello"))["agent"] == "alice"
        assert (await bob.recv_type("hello"))["agent"] == "bob"
        daemon.emit(ring("c1", "PJSIP/1001-0000001a"))
        pop = await alice.recv_type("pop")
        card = pop["card"]
        assert (pop["call_id"], pop["state"], pop["seq"]) == ("c1", "ringing", 1)
        assert card["caller"]["e164"] == "+12125551234"
        assert card["caller"]["national"] == "(212) 555-1234"
        assert card["summary"] == {"name": "Jane Doe", "customer_id": "C-1"}
        statuses = {name: s["status"] for name, s in card["sections"].items()}
        assert statuses == {"accounting": "ok", "sales": "ok", "credit": "not_found"}
        assert card["sections"]["accounting"]["data"]["balance"] == 120.5
        daemon.emit(event("c1", EventKind.ANSWERED, "PJSIP/1001-0000001a"))
        daemon.emit(event("c1", EventKind.ENDED))
        answered, ended = await alice.recv_type("call"), await alice.recv_type("call")
        assert (answered["state"], answered["agent"], answered["seq"]) == ("answered", "alice", 2)
        assert (ended["state"], ended["seq"]) == ("ended", 3)
        assert await bob.silent()


async def test_ringall_tells_the_other_agent_it_was_answered_elsewhere(tmp_path: Path) -> None:
    async with (
        running(make_settings(tmp_path)) as (daemon, port),
        agent_tab(port, "ta") as alice,
        agent_tab(port, "tb") as bob,
    ):
        await alice.recv_type("hello")
        await bob.recv_type("hello")
        daemon.emit(ring("c2", "1001"))
        daemon.emit(ring("c2", "1002"))
        assert (await alice.recv_type("pop"))["call_id"] == "c2"
        assert (await bob.recv_type("pop"))["call_id"] == "c2"
        daemon.emit(event("c2", EventKind.ANSWERED, "1002"))
        assert (await alice.recv_type("call"))["state"] == "answered_elsewhere"
        assert (await bob.recv_type("call"))["state"] == "answered"


async def test_slow_connector_times_out_in_the_pop_then_fills_in(tmp_path: Path) -> None:
    connectors = [
        static("accounting", records={"+12125551234": {"name": "Jane Doe"}}),
        static("sales", records={"+12125551234": {"offer": "Gold"}}, sleep_ms=600, deadline_ms=100),
        static("credit", fail="credit system down"),
        static("buggy", crash=True),
    ]
    settings = make_settings(tmp_path, connectors=connectors)
    async with running(settings) as (daemon, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        daemon.emit(ring("c3", "1001"))
        pop = await alice.recv_type("pop")
        sections = pop["card"]["sections"]
        assert sections["sales"]["status"] == "timeout"
        assert sections["accounting"]["status"] == "ok"
        assert sections["credit"] == {**sections["credit"], "status": "error"}
        assert sections["credit"]["error"] == "credit system down"
        assert sections["buggy"]["error"] == "internal error"
        assert pop["card"]["complete"] is False
        late = await alice.recv_type("card")
        assert late["call_id"] == "c3"
        assert late["card"]["sections"]["sales"]["status"] == "ok"
        assert late["card"]["sections"]["sales"]["data"] == {"offer": "Gold"}
        assert late["card"]["sections"]["accounting"]["status"] == "ok"


async def test_withheld_caller_is_never_looked_up(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (daemon, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        daemon.emit(ring("c4", "1001", caller="anonymous"))
        card = (await alice.recv_type("pop"))["card"]
        assert card["caller"]["withheld"] is True
        assert card["sections"] == {}
        assert card["summary"] == {}
        connector = daemon.lookup.connectors[0].connector if daemon.lookup else None
        assert connector is not None and getattr(connector, "lookups", None) == 0


async def test_resume_after_a_dropped_websocket_misses_and_repeats_nothing(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (daemon, port):
        async with agent_tab(port, "ta") as alice:
            await alice.recv_type("hello")
            daemon.emit(ring("c5", "1001"))
            assert (await alice.recv_type("pop"))["seq"] == 1
        # the tab is gone: the call goes on, a second call rings
        daemon.emit(event("c5", EventKind.ANSWERED, "1001"))
        daemon.emit(event("c5", EventKind.ENDED))
        daemon.emit(ring("c6", "1001", caller="+12125550000"))
        for _ in range(50):
            if await daemon.hub.log.last_seq("alice") >= 4:
                break
            await asyncio.sleep(0.05)
        async with agent_tab(port, "ta") as again:
            await again.recv_type("hello")
            await again.send({"type": "resume", "last_seq": 1})
            got = [await again.recv() for _ in range(3)]
            assert [m["seq"] for m in got] == [2, 3, 4]
            assert [m["type"] for m in got] == ["call", "call", "pop"]
            assert got[2]["card"]["candidates"][0]["name"] == "Ann Shared"
            daemon.emit(event("c6", EventKind.ABANDONED))
            after = await again.recv_type("call")
            assert (after["seq"], after["state"]) == (5, "abandoned")
            assert await again.silent()


async def test_a_note_shows_in_the_history_of_the_next_call_from_that_number(
    tmp_path: Path,
) -> None:
    async with running(make_settings(tmp_path)) as (daemon, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        daemon.emit(ring("h1", "1001"))
        await alice.recv_type("pop")
        daemon.emit(event("h1", EventKind.ANSWERED, "1001"))
        await alice.recv_type("call")
        await alice.send({"type": "note", "call_id": "h1", "disposition": "callback", "text": "x"})
        note = await alice.recv_type("note")
        assert note["note"]["text"] == "x"
        daemon.emit(event("h1", EventKind.ENDED))
        await alice.recv_type("call")
        await until(lambda: daemon.tracker.get("h1") is not None, "call closed")
        daemon.emit(ring("h2", "1001"))
        card = (await alice.recv_type("pop"))["card"]
        if not card["history"]:  # the call log is read beside the connectors, never before
            card = (await alice.recv_type("card"))["card"]
        latest = card["history"][0]
        assert (latest["call_id"], latest["agent"]) == ("h1", "alice")
        assert (latest["disposition"], latest["text"]) == ("callback", "x")
