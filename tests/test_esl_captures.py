"""The real FreeSWITCH 1.10.12 captures (tests/fixtures/esl), each a test: replayed whole and cut
at random boundaries through parser -> mapper -> CallTracker, and end to end against EslSource.

Expected outcomes are the ones tests/fixtures/esl/README.md gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from screenpop.events import EventKind
from screenpop.settings import AgentSettings
from screenpop.telephony.base import SourceContext
from screenpop.telephony.freeswitch.formats import esl_stream_from
from screenpop.telephony.freeswitch.mapper import EslCallMapper
from screenpop.telephony.freeswitch.protocol import (
    API_RESPONSE,
    EVENT_PLAIN,
    EslParser,
    Frame,
    parse_command,
    parse_event,
)
from screenpop.telephony.freeswitch.resync import channel_rows, parse_table
from screenpop.telephony.freeswitch.source import EslSource
from screenpop.telephony.recording import read_blocks
from tests.fakes.esl_desk import Desk
from tests.fakes.esl_replay import ReplayFreeSwitch
from tests.harness import until

FIXTURES = Path(__file__).parent / "fixtures" / "esl"
AGENTS = [AgentSettings(id=f"agent{n}", extensions=[f"agent{n}"], token=f"t{n}") for n in (1, 2, 3)]
CONTEXT = SourceContext(base_dir=Path("."), default_region="US", online_agents=lambda: ())
ALICE_CALL = "34a0a704-cd53-4d61-9223-6c94911219e9"
SALES_CALL = "51a0c320-1adb-4ff6-b10e-d3077cd42f27"
RITA_CALL = "8fbd6af2-01c0-424d-bfab-200ed90ca7db"


def capture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def cuts(stream: bytes, seed: int) -> list[bytes]:
    """`stream` in pieces cut at random places (1 to 2000 bytes)."""
    rng = random.Random(seed)
    pieces, pos = [], 0
    while pos < len(stream):
        step = rng.randint(1, 2000)
        pieces.append(stream[pos : pos + step])
        pos += step
    return pieces


def replay(pieces: list[bytes]) -> tuple[list[Frame], Desk]:
    parser, mapper, desk = EslParser(), EslCallMapper("fs1"), Desk(AGENTS)
    frames: list[Frame] = []
    for piece in pieces:
        for frame in parser.feed(piece):
            frames.append(frame)
            if frame.content_type == EVENT_PLAIN:
                for event in mapper.feed(parse_event(frame).headers):
                    desk.emit(event)
    assert parser.rejected == 0 and parser.buffered == 0
    return frames, desk


def stream_of(name: str) -> bytes:
    stream = esl_stream_from(capture(name))
    assert stream is not None
    return stream


SEEDS = [0, 1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("seed", [None, *SEEDS])
def test_a_answered_one_pop_answered_ended(seed: int | None) -> None:
    stream = stream_of("a_answered.txt")
    frames, desk = replay([stream] if seed is None else cuts(stream, seed))
    assert len(frames) == 23
    assert dict(desk.seen) == {"agent1": ["pop", "answered", "ended"]}
    call = desk.pops[0].call
    assert (call.call_id, call.caller, call.caller_name) == (
        ALICE_CALL,
        "+15551230001",
        "Alice Example",
    )
    assert call.queue == "support@default" and not call.active


@pytest.mark.parametrize("seed", [None, *SEEDS])
def test_f_ringall_three_pops_one_answers_the_others_answered_elsewhere(seed: int | None) -> None:
    stream = stream_of("f_ringall_sales.txt")
    _, desk = replay([stream] if seed is None else cuts(stream, seed))
    assert dict(desk.seen) == {
        "agent1": ["pop", "answered_elsewhere"],
        "agent2": ["pop", "answered", "ended"],
        "agent3": ["pop", "answered_elsewhere"],
    }
    assert {p.call.call_id for p in desk.pops} == {SALES_CALL}
    assert EventKind.MISSED not in [e.kind for e in desk.events]  # LOSE_RACE is no missed call


def _replies(name: str) -> dict[str, Frame]:
    """Each command the capture's client sent, with the reply frame FreeSWITCH gave it."""
    blocks = read_blocks(capture(name))
    parser, pending, out = EslParser(), [], {}
    for block in blocks:
        if block.kind == "sent":
            pending.append(parse_command(block.data)[0])
        for frame in parser.feed(block.data) if block.kind == "recv" else []:
            if frame.content_type in (API_RESPONSE, "command/reply") and pending:
                out[pending.pop(0)] = frame
    return out


def test_r_resync_real_replies_parse_and_the_ringing_call_is_relearned() -> None:
    replies = _replies("r_resync_ringing.txt")
    queues = replies["api callcenter_config queue list"]
    assert queues.headers["Content-Type"] == API_RESPONSE  # Content-Type before Content-Length
    rows = parse_table(queues.body.decode())
    assert [r["name"] for r in rows] == ["sales@default", "support@default"]
    assert all(len(r) == 19 for r in rows)
    members = {
        q: replies[f"api callcenter_config queue list members {q}"].body.decode()
        for q in ("sales@default", "support@default")
    }
    assert members["sales@default"] == "+OK\n" and parse_table(members["sales@default"]) == []
    channels = replies["api show channels as json"].body.decode()
    assert channel_rows(channels) is not None and len(channel_rows(channels) or {}) == 2
    desk = Desk(AGENTS)
    for event in EslCallMapper("fs1").resync(channels, members):
        desk.emit(event)
    assert dict(desk.seen) == {"agent1": ["pop"]}
    call = desk.pops[0].call
    assert (call.call_id, call.caller, call.caller_name, call.queue) == (
        RITA_CALL,
        "+15551230010",
        "Rita Example",
        "support@default",
    )
    assert replies["api status"].ok


def test_z_auth_bad_password_frames() -> None:
    frames, desk = replay([stream_of("z_auth_badpassword.txt")])
    assert [f.content_type for f in frames] == [
        "auth/request",
        "command/reply",
        "text/disconnect-notice",
    ]
    assert frames[1].reply_text == "-ERR invalid" and not frames[1].ok
    assert desk.events == []


# -- end to end: the capture's frames from a loopback FreeSWITCH to the real EslSource ------------


@contextlib.asynccontextmanager
async def source_on(
    fs: ReplayFreeSwitch, desk: Desk, password: str = "ClueCon"
) -> AsyncIterator[EslSource]:
    opts = {"port": fs.port, "password": password, "backoff_min_s": 0.05, "backoff_max_s": 0.1}
    source = EslSource("fs1", opts, CONTEXT)
    task = asyncio.create_task(source.run(desk.emit))
    try:
        yield source
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("seed", [0, 1])
async def test_a_answered_end_to_end(seed: int) -> None:
    desk = Desk(AGENTS)
    fs = ReplayFreeSwitch(read_blocks(capture("a_answered.txt")), seed)
    async with fs, source_on(fs, desk):
        await until(lambda: desk.seen["agent1"][-1:] == ["ended"], "agent1's call ended")
    assert dict(desk.seen) == {"agent1": ["pop", "answered", "ended"]}
    assert desk.pops[0].call.caller == "+15551230001"
    assert fs.commands[:2] == [
        "auth ClueCon",
        "event plain CHANNEL_CREATE CHANNEL_PROGRESS CHANNEL_ANSWER CHANNEL_BRIDGE "
        "CHANNEL_HANGUP_COMPLETE HEARTBEAT CUSTOM callcenter::info",
    ]  # exactly what the capturing client sent


async def test_f_ringall_end_to_end() -> None:
    desk = Desk(AGENTS)
    fs = ReplayFreeSwitch(read_blocks(capture("f_ringall_sales.txt")), 3)
    async with fs, source_on(fs, desk):
        await until(lambda: desk.seen["agent2"][-1:] == ["ended"], "agent2's call ended")
    assert dict(desk.seen) == {
        "agent1": ["pop", "answered_elsewhere"],
        "agent2": ["pop", "answered", "ended"],
        "agent3": ["pop", "answered_elsewhere"],
    }


async def test_z_auth_bad_password_end_to_end_logs_login_failed_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="screenpop.telephony")
    desk = Desk(AGENTS)
    fs = ReplayFreeSwitch(read_blocks(capture("z_auth_badpassword.txt")))
    async with fs, source_on(fs, desk, password="wrong-password") as source:
        await until(lambda: fs.connections >= 3, "retried twice")
        assert not source.status.logged_in and not source.status.connected
        assert source.status.detail.startswith("login failed")
        assert source.status.reconnects >= 2
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "login failed" in lines[0], lines
    assert "wrong-password" not in caplog.text
    assert desk.events == []
