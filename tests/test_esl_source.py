"""EslSource against a fake FreeSWITCH over real loopback sockets, feeding a real CallTracker.

Each scenario asserts which agent got which pop and which call states, in order, and that
nobody else got anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from screenpop.errors import ConfigError
from screenpop.settings import AgentSettings
from screenpop.telephony.base import Dialer, SourceContext, find_source_kind
from screenpop.telephony.freeswitch.source import EslSource
from tests.fakes.esl_desk import Desk
from tests.fakes.esl_server import (
    FakeFreeSwitch,
    bridge_event,
    cc_event,
    channel_event,
    event_frame,
)
from tests.harness import until

AGENTS = [
    AgentSettings(id="alice", extensions=["1001@default", "user/1001"], token="a"),
    AgentSettings(id="bob", extensions=["1002@default", "user/1002"], token="b"),
    AgentSettings(id="carol", extensions=["1003@default", "user/1003"], token="c"),
]
CALLER = "3f1c2a9e-0000-4000-8000-000000000001"
ALICE, BOB = "1001@default", "1002@default"
GONE = {"Channel-State": "CS_HANGUP", "Answer-State": "hangup"}
STILL_UP = {"Channel-State": "CS_EXECUTE", "Answer-State": "answered"}
CONTEXT = SourceContext(base_dir=Path("."), default_region="US", online_agents=lambda: ())


@pytest.fixture
async def fs() -> AsyncIterator[FakeFreeSwitch]:
    async with FakeFreeSwitch("ClueCon") as server:
        yield server


def make_source(fs: FakeFreeSwitch, **options: Any) -> EslSource:
    opts: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": fs.port,
        "password": "ClueCon",
        "backoff_min_s": 0.05,
        "backoff_max_s": 0.2,
    }
    opts.update(options)
    return EslSource("fs1", opts, CONTEXT)


@contextlib.asynccontextmanager
async def running(source: EslSource, desk: Desk) -> AsyncIterator[None]:
    task = asyncio.create_task(source.run(desk.emit))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def live(fs: FakeFreeSwitch) -> AsyncIterator[Desk]:
    """A source logged in and subscribed to `fs`, feeding a fresh desk."""
    desk = Desk(AGENTS)
    async with running(make_source(fs), desk):
        await fs.wait_subscribed()
        yield desk


async def play(fs: FakeFreeSwitch, *events: dict[str, str], chunk: int = 0) -> None:
    for headers in events:
        await fs.send_raw(event_frame(headers), chunk=chunk)


def caller_create(uuid: str = CALLER, **extra: str) -> dict[str, str]:
    return channel_event("CHANNEL_CREATE", uuid, direction="inbound", **extra)


def hangup(uuid: str = CALLER) -> dict[str, str]:
    return channel_event("CHANNEL_HANGUP_COMPLETE", uuid, direction="inbound", state="CS_REPORTING")


def agent_leg(name: str, leg: str, ext: str) -> dict[str, str]:
    return channel_event(
        name, leg, direction="outbound", user=ext, variable_cc_side="agent",
        variable_cc_member_session_uuid=CALLER,
    )  # fmt: skip


def user_leg(name: str, leg: str, ext: str, root: str = CALLER, **extra: str) -> dict[str, str]:
    return channel_event(name, leg, direction="outbound", user=ext, root=root, **extra)


def answered_by_alice() -> Iterator[dict[str, str]]:
    yield caller_create()
    yield cc_event("member-queue-start", CALLER)
    yield cc_event("agent-offering", CALLER, agent=ALICE)
    yield agent_leg("CHANNEL_CREATE", "leg-a", "1001")
    yield agent_leg("CHANNEL_PROGRESS", "leg-a", "1001")
    yield agent_leg("CHANNEL_ANSWER", "leg-a", "1001")
    yield cc_event("bridge-agent-start", CALLER, agent=ALICE, agent_uuid="leg-a")
    yield bridge_event(CALLER, "leg-a", variable_cc_side="member")


async def test_queued_then_answered(fs: FakeFreeSwitch, live: Desk) -> None:
    await play(fs, *answered_by_alice(), chunk=5)  # small writes: frames arrive in pieces
    await play(
        fs,
        cc_event("bridge-agent-end", CALLER, agent=ALICE),
        cc_event("member-queue-end", CALLER, agent=ALICE, cause="Terminated", **GONE),
        hangup(),
        agent_leg("CHANNEL_HANGUP_COMPLETE", "leg-a", "1001"),
    )
    await until(lambda: live.over(CALLER), "call ended")
    assert live.seen == {"alice": ["pop", "answered", "ended"]}
    assert live.pops[0].call.caller == "+12125551234"
    assert live.pops[0].call.queue == "support@default"


async def test_no_answer_then_the_next_agent_answers(fs: FakeFreeSwitch, live: Desk) -> None:
    await play(
        fs,
        caller_create(),
        cc_event("member-queue-start", CALLER),
        cc_event("agent-offering", CALLER, agent=ALICE),
        cc_event("bridge-agent-fail", CALLER, agent=ALICE, hangup_cause="NO_ANSWER"),
        cc_event("agent-offering", CALLER, agent=BOB),
        cc_event("bridge-agent-start", CALLER, agent=BOB, agent_uuid="leg-b"),
        cc_event("member-queue-end", CALLER, agent=BOB, cause="Terminated", **GONE),
        hangup(),
    )
    await until(lambda: live.over(CALLER), "call ended")
    assert live.seen == {"alice": ["pop", "missed"], "bob": ["pop", "answered", "ended"]}


async def test_ring_all_two_agents_one_answers(fs: FakeFreeSwitch, live: Desk) -> None:
    await play(
        fs,
        caller_create(),
        cc_event("member-queue-start", CALLER),
        cc_event("agent-offering", CALLER, agent=ALICE),
        cc_event("agent-offering", CALLER, agent=BOB),
        # bob wins the race; mod_callcenter cancels alice's leg before announcing the bridge
        cc_event("bridge-agent-fail", CALLER, agent=ALICE, hangup_cause="ORIGINATOR_CANCEL"),
        cc_event("bridge-agent-start", CALLER, agent=BOB, agent_uuid="leg-b"),
        cc_event("member-queue-end", CALLER, agent=BOB, cause="Terminated", **GONE),
        hangup(),
    )
    await until(lambda: live.over(CALLER), "call ended")
    assert live.seen == {
        "alice": ["pop", "answered_elsewhere"],
        "bob": ["pop", "answered", "ended"],
    }


async def test_caller_abandons(fs: FakeFreeSwitch, live: Desk) -> None:
    await play(
        fs,
        caller_create(),
        cc_event("member-queue-start", CALLER),
        cc_event("agent-offering", CALLER, agent=ALICE),
        cc_event("member-queue-end", CALLER, cause="Cancel", cancel_reason="NONE", **GONE),
        cc_event("bridge-agent-fail", CALLER, agent=ALICE, hangup_cause="ORIGINATOR_CANCEL"),
        hangup(),
    )
    await until(lambda: live.over(CALLER), "call abandoned")
    assert live.seen == {"alice": ["pop", "abandoned"]}
    assert live.tracker.get(CALLER).state.value == "abandoned"  # type: ignore[union-attr]


async def test_blind_transfer_to_another_agent(fs: FakeFreeSwitch, live: Desk) -> None:
    await play(fs, *answered_by_alice())
    await play(
        fs,
        # alice transfers the caller to 1002 (uuid_transfer): her leg goes, the caller's stays
        agent_leg("CHANNEL_HANGUP_COMPLETE", "leg-a", "1001"),
        cc_event("bridge-agent-end", CALLER, agent=ALICE),
        cc_event("member-queue-end", CALLER, agent=ALICE, cause="Terminated", **STILL_UP),
        user_leg("CHANNEL_CREATE", "leg-b", "1002"),
        user_leg("CHANNEL_PROGRESS", "leg-b", "1002"),
        user_leg("CHANNEL_ANSWER", "leg-b", "1002"),
        bridge_event(CALLER, "leg-b", variable_cc_side="member"),
        hangup(),
    )
    await until(lambda: live.over(CALLER), "call ended")
    assert live.seen == {
        "alice": ["pop", "answered", "transferred"],
        "bob": ["pop", "ended"],
    }
    assert [p.call.call_id for p in live.pops] == [CALLER, CALLER]  # the same card, same call


async def test_attended_transfer_bridges_the_caller_to_the_consulted_agent(
    fs: FakeFreeSwitch, live: Desk
) -> None:
    consult = "consult-leg-of-alice"
    await play(fs, *answered_by_alice())
    await play(
        fs,
        caller_create(consult, number="1001", caller_name="Alice"),
        user_leg("CHANNEL_CREATE", "leg-b", "1002", root=consult),
        user_leg("CHANNEL_ANSWER", "leg-b", "1002", root=consult),
        bridge_event(CALLER, "leg-b", variable_cc_side="member"),  # alice completes the transfer
        agent_leg("CHANNEL_HANGUP_COMPLETE", "leg-a", "1001"),
        hangup(consult),
        cc_event("member-queue-end", CALLER, agent=ALICE, cause="Terminated", **STILL_UP),
        hangup(),
    )
    await until(lambda: live.over(CALLER) and live.over(consult), "both calls ended")
    assert live.seen == {
        "alice": ["pop", "answered", "transferred"],
        # the consultation call pops too (alice calling bob), then bob gets the caller's card
        "bob": ["pop", "answered", "pop", "ended", "ended"],
    }


async def test_withheld_caller(fs: FakeFreeSwitch, live: Desk) -> None:
    hidden = {"Caller-Privacy-Hide-Number": "true"}
    await play(
        fs,
        caller_create(**hidden),
        cc_event("member-queue-start", CALLER, **hidden),
        cc_event("agent-offering", CALLER, agent=ALICE),
        cc_event("member-queue-end", CALLER, cause="Cancel", cancel_reason="NONE", **GONE),
    )
    await until(lambda: live.over(CALLER), "call over")
    assert live.seen == {"alice": ["pop", "abandoned"]}
    assert live.pops[0].call.caller == "anonymous"
    assert all(e.caller == "anonymous" for e in live.events)


async def test_direct_call_without_the_call_center(fs: FakeFreeSwitch, live: Desk) -> None:
    await play(
        fs,
        caller_create(),
        user_leg("CHANNEL_CREATE", "leg-c", "1003"),
        user_leg("CHANNEL_PROGRESS", "leg-c", "1003"),
        user_leg("CHANNEL_ANSWER", "leg-c", "1003"),
        bridge_event(CALLER, "leg-c"),
        user_leg("CHANNEL_HANGUP_COMPLETE", "leg-c", "1003", **{"Hangup-Cause": "NORMAL_CLEARING"}),
        hangup(),
    )
    await until(lambda: live.over(CALLER), "call ended")
    assert live.seen == {"carol": ["pop", "answered", "ended"]}


def _caller_row(uuid: str) -> dict[str, str]:
    return {"uuid": uuid, "direction": "inbound", "name": "sofia/external/+12125551234",
            "cid_num": "+12125551234", "cid_name": "Jane Doe", "call_uuid": uuid,
            "callstate": "ACTIVE"}  # fmt: skip


@pytest.mark.parametrize("how", ["disconnect-notice", "dropped"])
async def test_connection_lost_mid_call_then_resync(fs: FakeFreeSwitch, how: str) -> None:
    desk, source = Desk(AGENTS), make_source(fs)
    other = "3f1c2a9e-0000-4000-8000-000000000002"
    async with running(source, desk):
        await fs.wait_subscribed()
        await play(
            fs,
            caller_create(),
            cc_event("member-queue-start", CALLER),
            cc_event("agent-offering", CALLER, agent=ALICE),
            caller_create(other),
            user_leg("CHANNEL_CREATE", "leg-c", "1003", root=other),
        )
        await until(lambda: len(desk.pops) == 2, "both calls ring")
        # While we are away, alice answers the queued call and the direct call's caller gives up.
        fs.channels[CALLER] = _caller_row(CALLER)
        fs.add_member("support@default", CALLER, "+12125551234", "Jane Doe",
                      state="Answered", serving_agent=ALICE)  # fmt: skip
        await (fs.disconnect_notice() if how == "disconnect-notice" else fs.drop())
        await fs.wait_subscribed(2)
        await until(lambda: desk.over(other), "the vanished call ends on resync")
        await until(lambda: desk.seen["alice"] == ["pop", "answered"], "answer learned on resync")
        await play(fs, hangup())
        await until(lambda: desk.over(CALLER), "call ended")
    assert dict(desk.seen) == {
        "alice": ["pop", "answered", "ended"],
        "carol": ["pop", "abandoned"],
    }
    assert source.status.reconnects >= 1
    assert "api show channels as json" in fs.commands
    assert "api callcenter_config queue list members support@default" in fs.commands


async def test_bad_password_retries_with_backoff_and_logs_once(
    fs: FakeFreeSwitch, caplog: pytest.LogCaptureFixture
) -> None:
    desk, source = Desk(AGENTS), make_source(fs, password="wrong")
    caplog.set_level(logging.WARNING, logger="screenpop.telephony.freeswitch.source")
    async with running(source, desk):
        await until(lambda: fs.failed_logins >= 3, "three failed logins")
        assert not source.status.logged_in
        assert source.status.detail.startswith("login failed")
    warnings = [r for r in caplog.records if "login failed" in r.getMessage()]
    assert len(warnings) == 1  # logged on change, not on every retry
    assert "wrong" not in caplog.text  # the password never reaches the log
    assert fs.logins == 0 and desk.events == []


async def test_half_open_connection_is_noticed(fs: FakeFreeSwitch) -> None:
    desk, source = Desk(AGENTS), make_source(fs, ping_interval_s=0.1, ping_timeout_s=0.2)
    async with running(source, desk):
        await until(lambda: source.status.logged_in, "logged in")
        fs.mute = True  # the server keeps the socket open but never answers again
        await until(lambda: "half-open" in source.status.detail, "keep-alive timeout noticed")
        assert not source.status.connected
        fs.mute = False
        await fs.wait_subscribed(2)
        await until(lambda: source.status.logged_in, "logged in again")


async def test_malformed_frame_is_counted_and_the_next_event_still_pops(
    fs: FakeFreeSwitch,
) -> None:
    desk, source = Desk(AGENTS), make_source(fs)
    # the call is live on the PBX: the resync the dropped frames cause finds it there
    fs.channels[CALLER] = _caller_row(CALLER)
    fs.channels["leg-c"] = {**_caller_row("leg-c"), "direction": "outbound",
                            "call_uuid": CALLER, "callstate": "RINGING"}  # fmt: skip
    async with running(source, desk):
        await fs.wait_subscribed()
        await fs.send_raw(b"Content-Type: text/event-plain\nContent-Length: 3x\n\n")
        await fs.send_raw(b"Content-Type: text/event-plain\nContent-Length: 9\n\nno-colon\n")
        await play(fs, caller_create(), user_leg("CHANNEL_CREATE", "leg-c", "1003"))
        await until(lambda: desk.seen["carol"] == ["pop"], "carol pops")
        resync = "api show channels as json"
        await until(lambda: fs.commands.count(resync) >= 2, "a resync after the dropped frames")
        assert desk.seen["carol"] == ["pop"]  # the call goes on
    assert source.status.rejected == 2


async def test_check_reports_login_state(fs: FakeFreeSwitch) -> None:
    good = await make_source(fs).check()
    bad = await make_source(fs, password="nope").check()
    assert (good.connected, good.logged_in) == (True, True)
    assert (bad.connected, bad.logged_in) == (True, False)
    assert bad.detail.startswith("login failed")
    assert "exit" in fs.commands


async def test_inbound_acl_rejection_is_explained(fs: FakeFreeSwitch) -> None:
    fs.rude = True
    status = await make_source(fs).check()
    assert not status.logged_in and "apply-inbound-acl" in status.detail


def test_built_from_config_by_kind_and_strict_about_options() -> None:
    factory = find_source_kind("esl", "telephony.fs1")
    source = factory("fs1", {"password": "ClueCon", "port": 8021}, CONTEXT)
    assert isinstance(source, EslSource) and isinstance(source, Dialer)
    with pytest.raises(ConfigError, match="pasword"):
        factory("fs1", {"pasword": "typo"}, CONTEXT)


async def test_check_reports_a_refused_connection() -> None:
    async with FakeFreeSwitch() as gone:
        port = gone.port
    source = EslSource("fs1", {"host": "127.0.0.1", "port": port, "password": "x"}, CONTEXT)
    status = await source.check()
    assert not status.connected and "refused" in status.detail


async def test_originate_click_to_dial(fs: FakeFreeSwitch) -> None:
    desk, source = Desk(AGENTS), make_source(fs)
    async with running(source, desk):
        await fs.wait_subscribed()
        job = await source.originate("user/1001", "+12125551234", "alice")
    assert job
    sent = [c for c in fs.commands if c.startswith("bgapi originate")]
    assert sent == [
        "bgapi originate {origination_caller_id_number=+12125551234,screenpop_agent=alice,"
        "screenpop_outbound=true}user/1001 +12125551234 XML default"
    ]
