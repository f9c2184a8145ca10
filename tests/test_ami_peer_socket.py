"""Peer AMI captures over a loopback fake Asterisk, through the real AmiSource, CallTracker and
AgentDirectory: an attended transfer without target fields, a withheld caller, and a mapper bug
that must not stop the reader."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from screenpop.events import CallEvent
from screenpop.telephony.asterisk.formats import ami_stream_from
from screenpop.telephony.asterisk.protocol import Message
from screenpop.telephony.asterisk.source import AmiSource
from screenpop.telephony.base import SourceContext
from tests.fakes.ami_desk import CACOFONISK_AGENTS, Desk
from tests.fakes.ami_scenarios import Pbx
from tests.fakes.ami_server import FakeAsterisk
from tests.harness import until
from tests.peer import peer_file

CONTEXT = SourceContext(base_dir=Path("."), default_region="US", online_agents=lambda: [])
AGENTS = {**CACOFONISK_AGENTS, "alice": ["PJSIP/1001"]}


@pytest.fixture
async def linked() -> AsyncIterator[tuple[FakeAsterisk, AmiSource, Desk]]:
    server = FakeAsterisk()
    port = await server.start()
    options = {"host": "127.0.0.1", "port": port, "username": "screenpop", "secret": "s3cret"}
    source = AmiSource("pbx1", options, CONTEXT)
    desk = Desk(AGENTS)
    task = asyncio.create_task(source.run(desk))
    try:
        await until(lambda: source.status.logged_in and server.resyncs >= 1)
        yield server, source, desk
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.stop()


async def _settle(desk: Desk, expected: dict[str, list[tuple[str, str]]]) -> None:
    with contextlib.suppress(AssertionError):  # the assert below shows the difference
        await until(lambda: desk.log() == expected)
    assert desk.log() == expected


def _stream(name: str) -> bytes:
    stream = ami_stream_from(peer_file(f"ami/cacofonisk/{name}.json").read_bytes())
    assert stream is not None
    return stream


async def test_attended_transfer_over_the_socket(
    linked: tuple[FakeAsterisk, AmiSource, Desk],
) -> None:
    server, source, desk = linked
    await server.send(_stream("xfer_attended_xfer_abbcac"))
    c = "195176c06ab8-1529941338.663"
    await _settle(
        desk,
        {
            "a2": [("pop", c), ("answered", c), ("transferred", c)],
            "a3": [("pop", c), ("ended", c)],
        },
    )
    assert {p.call.caller for p in desk.pops} == {"201"}
    assert source.status.rejected == 0


async def test_withheld_caller_over_the_socket(
    linked: tuple[FakeAsterisk, AmiSource, Desk],
) -> None:
    server, _source, desk = linked
    await server.send(_stream("xfer_attended_xfer_abbcac_anon"))
    c = "07b796be1962-1530001217.664"
    await _settle(
        desk,
        {
            "a1": [("pop", c), ("answered", c), ("transferred", c)],
            "a3": [("pop", c), ("ended", c)],
        },
    )
    assert all(p.call.withheld and p.call.caller == "anonymous" for p in desk.pops)
    assert all(e.withheld and e.caller == "anonymous" for e in desk.events)


async def test_a_mapper_bug_is_counted_and_the_next_event_still_maps(
    linked: tuple[FakeAsterisk, AmiSource, Desk], caplog: pytest.LogCaptureFixture
) -> None:
    server, source, desk = linked
    real_feed = source.mapper.feed

    def feed(msg: Message) -> list[CallEvent]:
        if msg.get("CallerIDNum") == "+15550000000":
            raise KeyError("a bug")
        return real_feed(msg)

    source.mapper.feed = feed  # type: ignore[method-assign]
    pbx = Pbx()
    bad, steps = pbx.inbound("+15550000000", "Breaks The Mapper")
    good, more = pbx.direct("+15551230030", "Still Pops", "PJSIP/1001", "1001", "Alice")
    await server.send(steps + more)
    c = good.caller.linkedid
    await _settle(desk, {"alice": [("pop", c)]})
    assert source.status.rejected >= 1
    assert f"of call {bad.caller.linkedid}" in caplog.text
