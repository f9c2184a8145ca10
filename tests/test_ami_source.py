"""AmiSource end to end against a fake Asterisk over real loopback sockets.

Each scenario runs the real source into the real CallTracker and AgentDirectory and asserts which
agent got which pop and which call-state notification, in order, and that nobody else got any.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from screenpop.errors import ConfigError, ProtocolError
from screenpop.telephony.asterisk.source import AmiSource
from screenpop.telephony.base import Dialer, Source, SourceContext
from tests.fakes.ami_desk import Desk
from tests.fakes.ami_scenarios import packet
from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.ami_transcript import load_transcript
from tests.harness import until

CONTEXT = SourceContext(base_dir=Path("."), default_region="US", online_agents=lambda: [])
Log = dict[str, list[tuple[str, str]]]


def _options(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "username": "screenpop",
        "secret": "s3cret",
        "backoff_min_s": 0.05,
        "backoff_max_s": 0.2,
        **extra,
    }


class Rig:
    def __init__(self, server: FakeAsterisk, source: AmiSource, desk: Desk) -> None:
        self.server, self.source, self.desk = server, source, desk
        self.pbx = server.pbx

    async def play(self, packets: list[bytes], expected: Log) -> None:
        await self.server.send(packets)
        await self.settle(expected)

    async def settle(self, expected: Log) -> None:
        with contextlib.suppress(TimeoutError):  # the assert below shows the difference
            await until(lambda: self.desk.log() == expected)
        assert self.desk.log() == expected


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    server = FakeAsterisk()
    port = await server.start()
    source = AmiSource("pbx1", _options(port), CONTEXT)
    desk = Desk()
    task = asyncio.create_task(source.run(desk))
    try:
        await until(lambda: source.status.logged_in and server.resyncs >= 1)
        yield Rig(server, source, desk)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.stop()


def test_source_fits_the_contracts() -> None:
    source = AmiSource("pbx1", _options(5038), CONTEXT)
    assert isinstance(source, Source) and isinstance(source, Dialer)
    with pytest.raises(ConfigError, match="secret"):
        AmiSource("pbx1", {"username": "u"}, CONTEXT)
    with pytest.raises(ConfigError, match="unknown key"):
        AmiSource("pbx1", {**_options(5038), "pasword": "x"}, CONTEXT)


async def test_real_capture_replayed_over_the_socket(rig: Rig) -> None:
    packets = [p.wire for p in load_transcript("a_answered.txt") if p.get("Event")]
    call = "1795351021.53"
    await rig.play(packets, {"agent1": [("pop", call), ("answered", call), ("ended", call)]})
    assert rig.source.status.events == 4 and rig.source.status.rejected == 0


async def test_ringall_capture_one_answers_the_others_answered_elsewhere(rig: Rig) -> None:
    packets = [p.wire for p in load_transcript("f_ringall_sales.txt") if p.get("Event")]
    c = "1795351166.73"
    await rig.play(
        packets,
        {
            "agent3": [("pop", c), ("answered_elsewhere", c)],
            "agent2": [("pop", c), ("answered", c), ("ended", c)],
            "agent1": [("pop", c), ("answered_elsewhere", c)],
        },
    )


async def test_queued_then_answered(rig: Rig) -> None:
    call, steps = rig.pbx.inbound("+15551230001", "Alice Example")
    steps += rig.pbx.join(call, "support")
    await rig.server.send(steps)
    await until(lambda: rig.desk.tracker.get(call.caller.linkedid) is not None)
    assert rig.desk.log() == {}  # queued: the card is being built, nobody rings yet
    c = call.caller.linkedid
    steps = rig.pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    await rig.play(steps, {"alice": [("pop", c)]})
    steps = rig.pbx.answer(call, "PJSIP/1001") + rig.pbx.complete(call, "PJSIP/1001")
    await rig.play(steps, {"alice": [("pop", c), ("answered", c), ("ended", c)]})


async def test_ring_no_answer_then_next_agent(rig: Rig) -> None:
    call, steps = rig.pbx.inbound("+15551230002", "Bob Caller")
    steps += rig.pbx.join(call, "support") + rig.pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    steps += rig.pbx.no_answer(call, "PJSIP/1001")
    steps += rig.pbx.ring(call, "PJSIP/1003", "1003", "Carol")
    steps += rig.pbx.answer(call, "PJSIP/1003") + rig.pbx.complete(call, "PJSIP/1003")
    c = call.caller.linkedid
    await rig.play(
        steps,
        {
            "alice": [("pop", c), ("missed", c)],
            "carol": [("pop", c), ("answered", c), ("ended", c)],
        },
    )


async def test_ringall_two_agents_one_answers(rig: Rig) -> None:
    call, steps = rig.pbx.inbound("+15551230007", "Grace Example", did="5001")
    steps += rig.pbx.join(call, "sales")
    steps += rig.pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    steps += rig.pbx.ring(call, "PJSIP/1003", "1003", "Carol")
    steps += rig.pbx.answer(call, "PJSIP/1003") + rig.pbx.complete(call, "PJSIP/1003")
    c = call.caller.linkedid
    await rig.play(
        steps,
        {
            "alice": [("pop", c), ("answered_elsewhere", c)],
            "carol": [("pop", c), ("answered", c), ("ended", c)],
        },
    )


async def test_caller_abandons(rig: Rig) -> None:
    call, steps = rig.pbx.inbound("+15551230003", "Impatient")
    steps += rig.pbx.join(call, "support") + rig.pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    steps += rig.pbx.abandon(call)
    c = call.caller.linkedid
    await rig.play(steps, {"alice": [("pop", c), ("abandoned", c)]})


async def test_attended_transfer(rig: Rig) -> None:
    call, steps = rig.pbx.inbound("+15551230011", "Consulted")
    steps += rig.pbx.join(call, "support") + rig.pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    steps += rig.pbx.answer(call, "PJSIP/1001")
    consult, more = rig.pbx.consult("PJSIP/1001", "1001", "Alice", "PJSIP/1003", "1003", "Carol")
    steps += more + rig.pbx.answer(consult, "PJSIP/1003")
    steps += rig.pbx.attended_transfer(call, "PJSIP/1001", consult, "PJSIP/1003")
    steps += rig.pbx.hangup_caller(call)
    c = call.caller.linkedid
    await rig.play(  # the consultation call itself pops nobody
        steps,
        {
            "alice": [("pop", c), ("answered", c), ("transferred", c)],
            "carol": [("pop", c), ("ended", c)],
        },
    )
    carol_pops = [p for p in rig.desk.pops if p.agent_id == "carol" and p.call.call_id == c]
    assert carol_pops[0].call.caller == "+15551230011"  # the same card: the customer's


async def test_blind_transfer(rig: Rig) -> None:
    call, steps = rig.pbx.inbound("+15551230010", "Transferred")
    steps += rig.pbx.join(call, "support") + rig.pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    steps += rig.pbx.answer(call, "PJSIP/1001")
    steps += rig.pbx.blind_transfer(call, "PJSIP/1001", "1003")
    call.queue = None
    steps += rig.pbx.ring(call, "PJSIP/1003", "1003", "Carol") + rig.pbx.answer(call, "PJSIP/1003")
    steps += rig.pbx.hangup_caller(call)
    c = call.caller.linkedid
    await rig.play(
        steps,
        {
            "alice": [("pop", c), ("answered", c), ("transferred", c)],
            "carol": [("pop", c), ("ended", c)],
        },
    )


async def test_withheld_caller(rig: Rig) -> None:
    call, steps = rig.pbx.inbound("<unknown>", "<unknown>")
    steps += rig.pbx.join(call, "support") + rig.pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    c = call.caller.linkedid
    await rig.play(steps, {"alice": [("pop", c)]})
    assert rig.desk.pops[0].call.caller == "<unknown>"
    assert rig.desk.pops[0].call.caller_name is None


async def test_freepbx_local_channels(rig: Rig) -> None:
    call, steps = rig.pbx.inbound("+15551230008", "Local Caller")
    device = "Local/1002@from-internal"
    steps += rig.pbx.join(call, "support") + rig.pbx.ring(call, device, "1002", "Bob")
    steps += rig.pbx.answer(call, device) + rig.pbx.complete(call, device)
    c = call.caller.linkedid
    await rig.play(steps, {"bob": [("pop", c), ("answered", c), ("ended", c)]})


async def test_direct_call_without_queue(rig: Rig) -> None:
    call, steps = rig.pbx.direct("+15551230005", "Direct", "PJSIP/1001", "1001", "Alice")
    steps += rig.pbx.answer(call, "PJSIP/1001") + rig.pbx.complete(call, "PJSIP/1001")
    c = call.caller.linkedid
    await rig.play(steps, {"alice": [("pop", c), ("answered", c), ("ended", c)]})


async def test_pbx_drops_mid_call_and_resync_relearns(rig: Rig) -> None:
    call, steps = rig.pbx.inbound("+15551230013", "Ringing")
    steps += rig.pbx.join(call, "support") + rig.pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    c = call.caller.linkedid
    await rig.play(steps, {"alice": [("pop", c)]})
    logins = rig.server.logins
    await rig.server.drop()
    await until(lambda: not rig.source.status.logged_in)
    # while we are away Alice stops ringing, Carol rings, and another caller queues
    rig.pbx.no_answer(call, "PJSIP/1001")
    rig.pbx.ring(call, "PJSIP/1003", "1003", "Carol")
    waiting, _ = rig.pbx.inbound("+15551230014", "Waiting")
    rig.pbx.join(waiting, "sales")
    await until(lambda: rig.server.logins > logins and rig.server.resyncs >= 2)
    await rig.settle({"alice": [("pop", c), ("missed", c)], "carol": [("pop", c)]})
    assert rig.desk.tracker.get(waiting.caller.linkedid) is not None
    assert rig.source.status.reconnects >= 1
    steps = rig.pbx.answer(call, "PJSIP/1003") + rig.pbx.complete(call, "PJSIP/1003")
    await rig.play(
        steps,
        {
            "alice": [("pop", c), ("missed", c)],
            "carol": [("pop", c), ("answered", c), ("ended", c)],
        },
    )


async def test_reconnect_while_still_ringing_duplicates_nothing(rig: Rig) -> None:
    call, steps = rig.pbx.inbound("+15551230019", "Patient")
    steps += rig.pbx.join(call, "support") + rig.pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    c = call.caller.linkedid
    await rig.play(steps, {"alice": [("pop", c)]})
    await rig.server.drop()
    await until(lambda: rig.server.resyncs >= 2 and rig.source.status.logged_in)
    steps = rig.pbx.answer(call, "PJSIP/1001") + rig.pbx.complete(call, "PJSIP/1001")
    await rig.play(steps, {"alice": [("pop", c), ("answered", c), ("ended", c)]})


async def test_malformed_message_is_counted_and_the_next_one_still_pops(rig: Rig) -> None:
    call, steps = rig.pbx.direct("+15551230020", "After Garbage", "PJSIP/1001", "1001", "Alice")
    garbage = b"Event: Broken\r\nno colon on this line\r\n\r\n"
    await rig.server.send(garbage + b"".join(steps))
    c = call.caller.linkedid
    await rig.settle({"alice": [("pop", c)]})
    assert rig.source.status.rejected == 1


async def test_originate_sends_the_documented_action_and_pops_outbound(rig: Rig) -> None:
    call_id = await rig.source.originate("PJSIP/1001", "+15557654321", "alice")
    (action,) = rig.server.originates
    assert action["channel"] == ["PJSIP/1001"]
    assert action["exten"] == ["+15557654321"]
    assert action["context"] == ["from-internal"]
    assert action["priority"] == ["1"]
    assert action["async"] == ["true"]
    assert action["callerid"] == ['"+15557654321" <+15557654321>']
    assert action["channelid"] == [call_id] and action["actionid"][0]
    agent_leg = [
        ("Channel", "PJSIP/1001-00000050"),
        ("ChannelState", "0"),
        ("ChannelStateDesc", "Down"),
        ("CallerIDNum", "+15557654321"),
        ("CallerIDName", "<unknown>"),
        ("Uniqueid", call_id),
        ("Linkedid", call_id),
    ]
    await rig.play(
        [packet([("Event", "Newchannel"), ("Privilege", "call,all"), *agent_leg])],
        {"alice": [("pop", call_id)]},
    )
    assert rig.desk.pops[0].call.outbound is True
    await rig.source.originate("1003", "+15557654322", "carol")
    assert rig.server.originates[-1]["channel"] == ["PJSIP/1003"]


async def test_originate_errors(rig: Rig) -> None:
    rig.server.refuse_originate = "Originate failed"
    with pytest.raises(ProtocolError, match="Originate failed"):
        await rig.source.originate("PJSIP/1001", "+15557654321", "alice")
    with pytest.raises(ProtocolError, match="not plain"):
        await rig.source.originate("PJSIP/1001", "123\r\nAction: Logoff", "alice")


async def test_bad_secret_says_login_failed_and_retries(caplog: pytest.LogCaptureFixture) -> None:
    server = FakeAsterisk(secret="right")
    port = await server.start()
    source = AmiSource("pbx1", _options(port, secret="wrong"), CONTEXT)
    desk = Desk()
    caplog.set_level(logging.WARNING, logger="screenpop.telephony.asterisk.source")
    task = asyncio.create_task(source.run(desk))
    try:
        await until(lambda: server.failed_logins >= 3)
        assert source.status.detail.startswith("login failed: Authentication failed")
        assert not source.status.logged_in
        failures = [r for r in caplog.records if "login failed" in r.getMessage()]
        assert len(failures) == 1  # logged once on change, not on every retry
        server.secret = "wrong"  # the administrator fixes manager.conf
        await until(lambda: source.status.logged_in)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.stop()


async def test_half_open_connection_is_noticed_and_replaced() -> None:
    server = FakeAsterisk()
    port = await server.start()
    opts = _options(port, ping_interval_s=0.05, ping_timeout_s=0.2)
    source = AmiSource("pbx1", opts, CONTEXT)
    task = asyncio.create_task(source.run(Desk()))
    try:
        await until(lambda: source.status.logged_in and server.pings >= 1)
        server.stall()  # the TCP connection stays up, Asterisk answers nothing
        await until(lambda: server.logins >= 2 and source.status.logged_in)
        assert source.status.reconnects >= 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.stop()


async def test_check_reports_login_state() -> None:
    server = FakeAsterisk()
    port = await server.start()
    try:
        good = await AmiSource("pbx1", _options(port), CONTEXT).check()
        assert good.logged_in and "11.0.0" in good.detail
        bad = await AmiSource("pbx1", _options(port, secret="nope"), CONTEXT).check()
        assert not bad.logged_in and bad.detail.startswith("login failed")
    finally:
        await server.stop()
    closed = await AmiSource("pbx1", _options(port), CONTEXT).check()
    assert not closed.connected and not closed.logged_in
