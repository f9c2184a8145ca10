"""`screenpop capture` against the fake Asterisk and the fake FreeSWITCH on loopback, read back
with the recording reader and replayed."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from screenpop.capture import capture
from screenpop.cli import main
from screenpop.settings import load_settings
from screenpop.telephony import recording
from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.esl_server import FakeFreeSwitch, cc_event, channel_event
from tests.harness import until

AMI_SECRET = "capture-s3cret-7Q"
ESL_PASSWORD = "Clue-capture-9Z"


def config(tmp_path: Path, **source: Any) -> Path:
    lines = ["[[telephony]]"] + [f"{k} = {json.dumps(v)}" for k, v in source.items()]
    lines += ["", "[[agents]]", 'id = "alice"', 'extensions = ["PJSIP/1001", "1001"]',
              'token = "ta"']  # fmt: skip
    path = tmp_path / "capture.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def capturing(path: Path, source: str, out: Path) -> AsyncIterator[asyncio.Task[int]]:
    """`screenpop capture` running in this loop, so the fake PBX serves it; stopped at the end."""
    stop = asyncio.Event()
    err = io.StringIO()
    task = asyncio.create_task(capture(load_settings(path), source, out, None, stop, err))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def replay_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["replay", *args, "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


async def test_ami_capture_holds_the_stream_the_commands_and_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeAsterisk(secret=AMI_SECRET)
    port = await fake.start()
    path = config(tmp_path, name="pbx1", kind="ami", port=port, username="screenpop",
                  secret=AMI_SECRET, ping_interval_s=0.2)  # fmt: skip
    out = tmp_path / "pbx1.cap"
    pbx = fake.pbx
    try:
        async with capturing(path, "pbx1", out) as task:
            await until(lambda: fake.resyncs >= 1, "login and resync")
            call, steps = pbx.inbound("+12125551234", "Jane Doe")
            steps += pbx.join(call, "support") + pbx.ring(call, "PJSIP/1001", "1001", "Alice")
            steps += pbx.answer(call, "PJSIP/1001") + pbx.complete(call, "PJSIP/1001")
            await fake.send(steps)
            await until(lambda: fake.pings >= 1, "a keep-alive Ping")
            await fake.drop()
            assert await asyncio.wait_for(task, 10) == 0  # the PBX closing ends the capture
    finally:
        await fake.stop()
    content = out.read_bytes()
    assert AMI_SECRET.encode() not in content
    blocks = recording.read_blocks(content)
    sent = [b.data for b in blocks if b.kind == "sent"]
    assert sent[0].startswith(b"Action: Login\r\n") and b"Secret: <redacted>\r\n" in sent[0]
    assert any(b"Action: CoreShowChannels" in s for s in sent)
    assert any(b"Action: QueueStatus" in s for s in sent)
    assert any(b"Action: Ping" in s for s in sent)
    received = recording.received(blocks)
    assert received.startswith(b"Asterisk Call Manager/11.0.0\r\n")
    assert b"Event: AgentConnect" in received and b"+12125551234" in received
    assert blocks[-1].kind == "closed"
    times = [b.t for b in blocks]
    assert times == sorted(times) and all(b.wall[-6] in "+-" for b in blocks[:-1])
    result = replay_json(capsys, str(out), "--config", str(path))
    assert [(e["agent"], e["type"], e["state"]) for e in result["timeline"]] == [
        ("alice", "pop", "ringing"),
        ("alice", "call", "answered"),
        ("alice", "call", "ended"),
    ]
    assert result["timeline"][0]["e164"] == "+12125551234"


async def test_esl_capture_holds_events_and_commands_but_not_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeFreeSwitch(ESL_PASSWORD) as fs:
        fs.add_member("support@default", "caller-1", "+12125551234", "Jane Doe")
        path = config(tmp_path, name="fs1", kind="esl", port=fs.port, password=ESL_PASSWORD)
        out = tmp_path / "fs1.cap"
        async with capturing(path, "fs1", out):
            await fs.wait_subscribed()
            await until(lambda: any("list members" in c for c in fs.commands), "resync")
            caller = {"number": "+12125551234", "caller_name": "Jane Doe"}
            gone = {"state": "CS_REPORTING", **caller}
            for event in [
                channel_event("CHANNEL_CREATE", "caller-1", direction="inbound", **caller),
                cc_event("member-queue-start", "caller-1"),
                cc_event("agent-offering", "caller-1", agent="1001@default"),
                cc_event("bridge-agent-start", "caller-1", agent="1001@default", agent_uuid="l1"),
                channel_event("CHANNEL_HANGUP_COMPLETE", "caller-1", direction="inbound", **gone),
            ]:
                await fs.send_event(event)
            await until(lambda: out.read_bytes().count(b"CHANNEL_HANGUP_COMPLETE") > 0, "events")
    content = out.read_bytes()
    assert ESL_PASSWORD.encode() not in content
    blocks = recording.read_blocks(content)
    sent = [b.data for b in blocks if b.kind == "sent"]
    assert sent[0] == b"auth <redacted>\n\n"
    assert sent[1].startswith(b"event plain CHANNEL_CREATE")
    assert sent[1].endswith(b" CUSTOM callcenter::info\n\n")
    assert b"api show channels as json\n\n" in sent
    assert b"api callcenter_config queue list members support@default\n\n" in sent
    assert sent[-1] == b"exit\n\n"  # stopped: said goodbye as the live source does
    recv = [b.data for b in blocks if b.kind == "recv"]
    assert recv[0] == b"Content-Type: auth/request\n\n"
    assert sum(b"text/event-plain" in r for r in recv) == 5  # one block per frame
    result = replay_json(capsys, str(out), "--config", str(path))
    pops = [e for e in result["timeline"] if e["type"] == "pop"]
    assert [(p["agent"], p["call_id"], p["e164"]) for p in pops] == [
        ("alice", "caller-1", "+12125551234")
    ]
    assert result["calls"][0]["state"] == "ended"


async def test_a_wrong_secret_exits_1_and_the_file_shows_the_refusal(tmp_path: Path) -> None:
    fake = FakeAsterisk(secret="right")
    port = await fake.start()
    path = config(tmp_path, name="pbx1", kind="ami", port=port, username="screenpop",
                  secret="wrong")  # fmt: skip
    out = tmp_path / "refused.cap"
    err = io.StringIO()
    try:
        code = await capture(load_settings(path), "pbx1", out, 5, asyncio.Event(), err)
    finally:
        await fake.stop()
    assert code == 1 and "login failed: Authentication failed" in err.getvalue()
    assert b"Authentication failed" in recording.received(recording.read_blocks(out.read_bytes()))


async def test_duration_ends_the_capture(tmp_path: Path) -> None:
    fake = FakeAsterisk()
    port = await fake.start()
    path = config(tmp_path, name="pbx1", kind="ami", port=port, username="screenpop",
                  secret="s3cret")  # fmt: skip
    out = tmp_path / "short.cap"
    try:
        code = await capture(load_settings(path), "pbx1", out, 0.3, asyncio.Event(), io.StringIO())
    finally:
        await fake.stop()
    assert code == 0
    sent = [b.data for b in recording.read_blocks(out.read_bytes()) if b.kind == "sent"]
    assert sent[-1].startswith(b"Action: Logoff")


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ({"name": "hook", "kind": "webhook", "flavor": "json", "secret": "x"}, "only AMI and ESL"),
        ({"name": "sim", "kind": "simulator"}, "only AMI and ESL"),
    ],
)
def test_sources_without_a_link_cannot_be_captured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: dict[str, str], why: str
) -> None:
    path = config(tmp_path, **source)
    code = main(["capture", "--config", str(path), "--source", source["name"],
                 "--out", str(tmp_path / "x.cap")])  # fmt: skip
    assert code == 2 and why in capsys.readouterr().err
    assert not (tmp_path / "x.cap").exists()


def test_an_unknown_source_name_exits_2_naming_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, name="pbx1", kind="ami", username="u", secret="s")
    code = main(["capture", "--config", str(path), "--source", "nope", "--out", "x.cap"])
    assert code == 2 and "the config has: pbx1" in capsys.readouterr().err


async def test_an_unreachable_pbx_exits_1(tmp_path: Path) -> None:
    fake = FakeAsterisk()
    port = await fake.start()
    await fake.stop()  # nothing listens on that port any more
    path = config(tmp_path, name="pbx1", kind="ami", port=port, username="u", secret="s",
                  connect_timeout_s=2)  # fmt: skip
    err = io.StringIO()
    code = await capture(load_settings(path), "pbx1", tmp_path / "x.cap", 1, asyncio.Event(), err)
    assert code == 1 and "connection refused" in err.getvalue()
