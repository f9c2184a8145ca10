"""A server message is encoded once, however many tabs get it: every tab of the agent and the
replay buffer hold the same frame, and the tabs receive the same bytes."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from pathlib import Path

from screenpop.delivery.hub import Hub
from screenpop.delivery.log import MemoryDeliveryLog
from screenpop.delivery.outbound import PopMessage
from screenpop.delivery.wire import Encoded, counts, with_seq
from screenpop.events import CallEvent, EventKind
from tests.harness import agent_tab, make_settings, running

CARD = {"call_id": "c1", "caller": {"kind": "number"}, "sections": {"crm": {"data": "é" * 50}}}


async def test_a_pop_to_five_tabs_is_encoded_once_and_shared_with_the_replay_buffer() -> None:
    log = MemoryDeliveryLog()
    hub = Hub(log)
    tabs = [hub.subscribe("alice") for _ in range(5)]
    before = counts.encodes
    frame = await hub.publish("alice", PopMessage("c1", "ringing", "support", "inbound", CARD))
    assert counts.encodes - before == 1
    received = [await tab.next() for tab in tabs]
    assert all(got is frame for got in received), "every tab holds the very frame published"
    (kept,) = await log.since("alice", 0) or []
    assert kept is frame and kept.body is frame.body
    wire = json.loads(frame.data)
    assert wire == {
        "type": "pop",
        "call_id": "c1",
        "state": "ringing",
        "queue": "support",
        "direction": "inbound",
        "card": CARD,
        "seq": 1,
    }
    assert log.buffered_bytes("alice") == len(frame.body)  # UTF-8 bytes, not characters
    assert counts.encodes - before == 1, "reading the frame encoded nothing again"


async def test_one_encoded_message_numbered_for_many_agents_shares_its_bytes() -> None:
    hub = Hub(MemoryDeliveryLog())
    for agent in ("sam", "sue", "sid"):
        hub.subscribe(agent)
    await hub.publish("sue", {"type": "note", "call_id": "x", "note": {}})  # sue's seq runs ahead
    before = counts.encodes
    shared = Encoded.of({"type": "board", "board": {"queues": []}})
    frames = [await hub.publish(agent, shared) for agent in ("sam", "sue", "sid")]
    assert counts.encodes - before == 1
    assert all(f.body is shared.body for f in frames)
    assert [json.loads(f.data)["seq"] for f in frames] == [1, 2, 1]
    assert [json.loads(f.data)["board"] for f in frames] == [{"queues": []}] * 3


def test_seq_is_added_as_the_last_member_without_decoding() -> None:
    assert with_seq(b'{"type":"pop"}', 7) == b'{"type":"pop","seq":7}'
    assert with_seq(b"{}", 12) == b'{"seq":12}'


async def test_every_tab_of_an_agent_receives_the_same_bytes_encoded_once(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (daemon, port), AsyncExitStack() as stack:
        tabs = [await stack.enter_async_context(agent_tab(port, "ta")) for _ in range(4)]
        for tab in tabs:
            await tab.recv_type("hello")
        assert daemon.hub.tabs("alice") == 4
        await asyncio.sleep(0.3)  # the board feed's flush after the connects (no watchers)
        seq_before = await daemon.hub.log.last_seq("alice")
        before = counts.encodes
        daemon.emit(CallEvent("t", "c1", EventKind.RINGING, "+12125551234", "JANE D", "1001"))
        raw = [await asyncio.wait_for(tab.ws.recv(), 5) for tab in tabs]
        assert len(set(raw)) == 1, "the four tabs got the same frame"
        pop = json.loads(raw[0])
        assert (pop["type"], pop["call_id"], pop["seq"]) == ("pop", "c1", seq_before + 1)
        assert pop["card"]["sections"]["accounting"]["data"]["name"] == "Jane Doe"
        numbered = await daemon.hub.log.last_seq("alice") - seq_before
        assert counts.encodes - before == numbered, "one encode per message, none per tab"
