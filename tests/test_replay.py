"""`screenpop replay`: a recorded stream through the real parser, mapper and tracker, printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from screenpop.cli import main
from screenpop.replay import load_recording, own_agent, replay, sniff
from screenpop.telephony import recording

FIXTURES = Path(__file__).parent / "fixtures" / "ami"
ESL_SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples" / "esl"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["replay", *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def write_config(tmp_path: Path, region: str = "US") -> Path:
    path = tmp_path / "replay.toml"
    path.write_text(
        f"""
[phone]
default_region = "{region}"

[[agents]]
id = "one"
extensions = ["PJSIP/agent1"]
token = "t1"

[[agents]]
id = "two"
extensions = ["PJSIP/agent2"]
token = "t2"
""",
        encoding="utf-8",
    )
    return path


def test_answered_queue_call_pops_the_agent_then_answered_and_ended(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_json(capsys, str(FIXTURES / "a_answered.txt"))
    timeline = result["timeline"]
    assert [(e["agent"], e["type"], e["state"]) for e in timeline] == [
        ("PJSIP/agent1", "pop", "ringing"),
        ("PJSIP/agent1", "call", "answered"),
        ("PJSIP/agent1", "call", "ended"),
    ]
    pop = timeline[0]
    assert (pop["e164"], pop["queue"], pop["withheld"]) == ("+15551230001", "support", False)
    times = [e["t"] for e in timeline]
    assert times == sorted(times) and times[0] > 1.0  # the blocks' own timestamps
    assert result["calls"] == [
        {
            "call_id": "1795351021.53",
            "state": "ended",
            "holder": "PJSIP/agent1",
            "caller": pop["caller"],
            "withheld": False,
            "queue": "support",
            "popped": ["PJSIP/agent1"],
        }
    ]
    counts = result["counts"]
    assert counts["frames"] > 100 and counts["events"] >= 3 and counts["rejected"] == 0


def test_config_maps_endpoints_to_agents_and_unknown_ones_are_counted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(tmp_path)
    result = run_json(capsys, str(FIXTURES / "f_ringall_sales.txt"), "--config", str(config))
    pops = [e["agent"] for e in result["timeline"] if e["type"] == "pop"]
    assert sorted(pops) == ["one", "two"]  # agent3 is nobody's in this config
    states = {(e["agent"], e["state"]) for e in result["timeline"] if e["type"] == "call"}
    assert ("two", "answered") in states and ("one", "answered_elsewhere") in states
    assert result["calls"][0]["holder"] == "two"
    assert result["counts"]["unknown_endpoints"] >= 1


def test_region_decides_how_the_caller_is_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    us = run_json(capsys, str(FIXTURES / "a_answered.txt"))
    de = run_json(capsys, str(FIXTURES / "a_answered.txt"), "--region", "DE")
    assert us["timeline"][0]["caller"] == "(555) 123-0001"
    assert de["timeline"][0]["caller"] == "+15551230001"


def test_text_output_lists_each_agent_then_the_calls_and_counts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(tmp_path)
    code, out, _ = run(capsys, str(FIXTURES / "f_ringall_sales.txt"), "--config", str(config))
    assert code == 0
    lines = out.splitlines()
    assert "agent two" in lines and "agent one" in lines
    two = lines[lines.index("agent two") + 1 :]
    assert "pop" in two[0] and "ringing" in two[0] and "(555) 123-0007" in two[0]
    assert "answered" in two[1]
    assert any("1795351166.73" in line and "ended" in line and "two" in line for line in lines)
    assert lines[-1].startswith("AMI:") and "rejected frames" in lines[-1]


@pytest.mark.skipif(not ESL_SAMPLES.is_dir(), reason=f"no ESL samples at {ESL_SAMPLES}")
def test_esl_capture_is_sniffed_and_replayed(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, str(ESL_SAMPLES / "a_answered.txt"))
    assert result["protocol"] == "esl"
    assert [(e["agent"], e["state"]) for e in result["timeline"]] == [
        ("agent1", "ringing"),
        ("agent1", "answered"),
        ("agent1", "ended"),
    ]


@pytest.mark.parametrize(
    "content",
    [b"", b"hello world\n", b"\x00\xff\xfe garbage", b"### t=+0.1 recv len=5\nhello\n"],
)
def test_a_file_that_is_no_capture_exits_2_with_a_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    code, out, err = run(capsys, str(path))
    assert code == 2
    assert "no capture screenpop can read" in err and "Traceback" not in err + out


def test_a_missing_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, str(tmp_path / "nope.txt"))
    assert code == 2 and "cannot read" in err


def test_a_capture_cut_anywhere_replays_without_error(tmp_path: Path) -> None:
    content = (FIXTURES / "a_answered.txt").read_bytes()
    for cut in range(0, len(content), max(1, len(content) // 97)):
        rec = load_recording(content[:cut] + b"\x00garbage\r\n\r\nnot: an\nevent\r\n\r\n")
        if rec is not None:
            result = replay(rec)
            assert len(result.calls) <= 1


def test_a_raw_stream_without_timestamps_replays_with_null_times(tmp_path: Path) -> None:
    stream = recording.received(recording.read_blocks((FIXTURES / "a_answered.txt").read_bytes()))
    rec = load_recording(stream)
    assert rec is not None and rec.protocol == "ami"
    result = replay(rec)
    assert [e.state for e in result.timeline] == ["ringing", "answered", "ended"]
    assert all(e.t is None for e in result.timeline)


def test_sniff_and_own_agent() -> None:
    assert sniff(b"Asterisk Call Manager/11.0.0\r\n") == "ami"
    assert sniff(b"\r\nEvent: Newchannel\r\n") == "ami"
    assert sniff(b"Content-Type: auth/request\n\n") == "esl"
    assert sniff(b"{}") is None
    assert own_agent("SIP/150010002-0000000a") == "SIP/150010002"
    assert own_agent("Local/202@osvpi_route-0000001f;1") == "Local/202@osvpi_route"
    assert own_agent("agent1@default") == "agent1@default"
    assert own_agent("") is None
