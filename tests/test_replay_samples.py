"""`screenpop replay --json` on every shared capture, against the outcomes their READMEs give.

The AMI captures of tests/fixtures, the real FreeSWITCH captures of ../shared/samples/esl and
every peer capture of ../shared/samples/peer/ami and peer/esl (read where they are, never copied;
skipped with a reason where absent). Pops, the holder at the end and the final state are
PROVENANCE.md's table for the 18 cacofonisk flows and the READMEs' words for the rest.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from screenpop.cli import main
from screenpop.replay import Chunk, Recording, load_recording, replay
from tests.peer import PEER, REPO_ROOT, peer_file

FIXTURES = Path(__file__).parent / "fixtures" / "ami"
ESL = REPO_ROOT.parent / "shared" / "samples" / "esl"
FINAL = ("ended", "abandoned")

CONFIG = """
[phone]
default_region = "US"

[[agents]]
id = "a1"
extensions = ["SIP/150010001", "201"]
token = "t-a1"

[[agents]]
id = "a2"
extensions = ["SIP/150010002", "202"]
token = "t-a2"

[[agents]]
id = "a3"
extensions = ["SIP/150010003", "203"]
token = "t-a3"

[[agents]]
id = "a777"
extensions = ["SIP/777"]
token = "t-a777"

[[agents]]
id = "agent1"
extensions = ["PJSIP/agent1", "agent1", "agent1@default"]
token = "t-agent1"

[[agents]]
id = "agent2"
extensions = ["PJSIP/agent2", "agent2", "agent2@default"]
token = "t-agent2"

[[agents]]
id = "agent3"
extensions = ["PJSIP/agent3", "agent3", "agent3@default"]
token = "t-agent3"

[[agents]]
id = "u1002"
extensions = ["1002"]
token = "t-u1002"

[[agents]]
id = "docagent"
extensions = ["AgentNameHere"]
token = "t-doc"
"""


@dataclass(frozen=True)
class Flow:
    """What a capture must replay to: the agents popped (in order of first pop), who holds the
    main call at the end, its final state, and the caller of its first pop (None: unchecked;
    "withheld" for a withheld caller)."""

    pops: tuple[str, ...]
    holder: str | None
    final: str
    caller: str | None = None


CACOFONISK = {
    "simple_ab_success_a_hangup": Flow(("a2",), "a2", "ended", "201"),
    "simple_ab_success_b_hangup": Flow(("a2",), "a2", "ended", "201"),
    "simple_ab_reject": Flow(("a2",), None, "abandoned", "201"),
    "simple_ab_dnd": Flow((), None, "abandoned"),
    "simple_ab_a_cancel": Flow(("a2",), None, "abandoned", "201"),
    "simple_ab_callgroup": Flow(("a2", "a3"), "a2", "ended", "201"),
    "simple_ab_callgroup_no_answer": Flow(("a2", "a3"), None, "abandoned", "201"),
    "queue_queue_simple": Flow(("a2",), "a2", "ended", "+31150010001"),
    "queue_queue_group": Flow(("a3", "a2"), "a2", "ended"),
    "queue_queue_a_cancel": Flow(("a2",), None, "abandoned"),
    "queue_queue_blind_xfer": Flow(("a1", "a2"), "a2", "ended"),
    "queue_queue_attn_xfer": Flow(("a1", "a2"), "a2", "ended"),
    "xfer_blind_xfer_blind_abacbc": Flow(("a2", "a3"), "a3", "ended", "201"),
    "xfer_blind_xfer_blind_abbcac": Flow(("a2", "a3"), "a3", "ended", "201"),
    "xfer_attended_xfer_abbcac": Flow(("a2", "a3"), "a3", "ended", "201"),
    "xfer_attended_xfer_abacbc": Flow(("a2", "a3"), "a3", "ended", "201"),
    "xfer_attended_xfer_abbcac_anon": Flow(("a1", "a3"), "a3", "ended", "withheld"),
    "xfer_misc_call_forwarding": Flow(("a2",), "a2", "ended", "+31260010001"),
}

# Files whose outcome is "no call pops anybody" (login/listing fixtures, events of calls never
# seen, pre-Asterisk-12 events without Linkedid, a refused login).
PANORAMISK = [
    "agent_loggued_in",
    "asyncagi_get_var",
    "command_core_show_version",
    "login_failed",
    "login_ok",
    "originate_with_events",
    "pjsip_show_endpoint",
    "queue_status",
]
NO_POPS = [
    "ami/pami_issue_events_ast18_11.txt",
    *(f"ami/panoramisk/{n}.yaml" for n in PANORAMISK),
    "esl/cgrates_2014_channel_answer_inbound.plain",
    "esl/cgrates_2015_channel_hangup_complete.plain",
    "esl/cgrates_2018_channel_hangup_complete.plain",
    "esl/voipcallcenter_fs110_channel_progress_media_inbound.jsdump.txt",
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "samples.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def replay_json(capsys: pytest.CaptureFixture[str], path: Path, config: Path) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["replay", str(path), "--config", str(config), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def popped(result: dict[str, Any]) -> tuple[str, ...]:
    agents = [e["agent"] for e in result["timeline"] if e["type"] == "pop"]
    return tuple(dict.fromkeys(agents))


def main_call(result: dict[str, Any]) -> dict[str, Any]:
    """The call an agent got popped for first (else the first call seen)."""
    calls: list[dict[str, Any]] = result["calls"]
    assert calls, "no call at all"
    first_pop = next((e for e in result["timeline"] if e["type"] == "pop"), None)
    if first_pop is None:
        return calls[0]
    return next(c for c in calls if c["call_id"] == first_pop["call_id"])


def caller_shown(result: dict[str, Any], call_id: str) -> str | None:
    pop = next(e for e in result["timeline"] if e["type"] == "pop" and e["call_id"] == call_id)
    if pop["withheld"]:
        return "withheld"
    return pop["e164"] or pop["caller"]


def check(result: dict[str, Any], flow: Flow) -> None:
    assert popped(result) == flow.pops
    call = main_call(result)
    assert (call["holder"], call["state"]) == (flow.holder, flow.final)
    if flow.caller is not None:
        assert caller_shown(result, call["call_id"]) == flow.caller
    withheld_pops = [e for e in result["timeline"] if e["type"] == "pop" and e["withheld"]]
    if flow.caller == "withheld":
        assert all(e["caller"] == "withheld" and e["e164"] is None for e in withheld_pops)
    assert all(c["state"] in FINAL for c in result["calls"]), result["calls"]


# -- Asterisk 22 captures (tests/fixtures/ami) -----------------------------------------------


def test_ami_fixture_answered(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    result = replay_json(capsys, FIXTURES / "a_answered.txt", config)
    check(result, Flow(("agent1",), "agent1", "ended", "+15551230001"))
    assert main_call(result)["queue"] == "support"


def test_ami_fixture_ringall(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    result = replay_json(capsys, FIXTURES / "f_ringall_sales.txt", config)
    assert sorted(popped(result)) == ["agent1", "agent2", "agent3"]
    check(result, Flow(popped(result), "agent2", "ended", "+15551230007"))
    others = {(e["agent"], e["state"]) for e in result["timeline"] if e["type"] == "call"}
    assert {("agent1", "answered_elsewhere"), ("agent3", "answered_elsewhere")} <= others


# -- FreeSWITCH 1.10.12 captures (../shared/samples/esl) ---------------------------------------


def esl_sample(name: str) -> Path:
    path = ESL / name
    if not path.is_file():
        pytest.skip(f"FreeSWITCH capture {name} not found at {path}; needs ../shared/samples/esl")
    return path


def test_esl_answered(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    result = replay_json(capsys, esl_sample("a_answered.txt"), config)
    check(result, Flow(("agent1",), "agent1", "ended", "+15551230001"))


def test_esl_ringall(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    result = replay_json(capsys, esl_sample("f_ringall_sales.txt"), config)
    assert sorted(popped(result)) == ["agent1", "agent2", "agent3"]
    holder = main_call(result)["holder"]
    assert holder in ("agent1", "agent2", "agent3")
    check(result, Flow(popped(result), holder, "ended", "+15551230007"))
    elsewhere = {e["agent"] for e in result["timeline"] if e["state"] == "answered_elsewhere"}
    assert elsewhere == {"agent1", "agent2", "agent3"} - {holder}


def test_esl_resync_while_ringing(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    result = replay_json(capsys, esl_sample("r_resync_ringing.txt"), config)
    assert popped(result) == ("agent1",)
    assert main_call(result)["state"] == "ringing"  # the capture ends while agent1 rings


def test_esl_bad_password(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    result = replay_json(capsys, esl_sample("z_auth_badpassword.txt"), config)
    assert result["timeline"] == [] and result["calls"] == []


# -- peer captures (../shared/samples/peer) ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(CACOFONISK))
def test_cacofonisk_flow(capsys: pytest.CaptureFixture[str], config: Path, name: str) -> None:
    result = replay_json(capsys, peer_file(f"ami/cacofonisk/{name}.json"), config)
    check(result, CACOFONISK[name])


def test_callme_console_log_queue_call(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    result = replay_json(capsys, peer_file("ami/callme_asterisk_cli_manager_debug.log"), config)
    check(result, Flow(("a777",), "a777", "ended", "123"))
    assert main_call(result)["queue"] == "Q1"
    states = [e["state"] for e in result["timeline"] if e["agent"] == "a777"]
    assert states == ["ringing", "answered", "ended"]


def test_freepbx_call_rings_the_trunk_and_ends(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    result = replay_json(capsys, peer_file("ami/goami2_call_freepbx.ami"), config)
    assert result["timeline"] == []  # the trunk is nobody's
    assert [c["state"] for c in result["calls"]] in (["ended"], ["abandoned"])
    assert result["counts"]["unknown_endpoints"] >= 1


@pytest.mark.parametrize("rel", NO_POPS)
def test_peer_capture_pops_nobody(
    capsys: pytest.CaptureFixture[str], config: Path, rel: str
) -> None:
    result = replay_json(capsys, peer_file(rel), config)
    assert [e for e in result["timeline"] if e["type"] == "pop"] == []


def test_modesl_dump_rings_1002(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    rel = "esl/voipcallcenter_fs110_channel_create_outbound.jsdump.txt"
    result = replay_json(capsys, peer_file(rel), config)
    pops = [e for e in result["timeline"] if e["type"] == "pop"]
    assert [(p["agent"], p["state"]) for p in pops] == [("u1002", "ringing")]
    assert pops[0]["call_id"].startswith("77645a4f-")
    assert caller_shown(result, pops[0]["call_id"]) in ("02473001403", "+12473001403")


def test_mod_callcenter_doc_examples(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    result = replay_json(capsys, peer_file("esl/mod_callcenter_doc_examples.txt"), config)
    pops = [e for e in result["timeline"] if e["type"] == "pop"]
    offering = next(p for p in pops if p["call_id"].startswith("600165a4-"))
    assert (offering["agent"], offering["state"], offering["e164"]) == (
        "docagent",
        "ringing",
        "+14385551212",
    )


def test_every_peer_capture_is_covered() -> None:
    """A new file in peer/ami or peer/esl needs an expected outcome here."""
    if not PEER.is_dir():
        pytest.skip(f"peer captures not found at {PEER}; needs ../shared/samples/peer")
    found = {str(p.relative_to(PEER)) for p in PEER.glob("ami/**/*") if p.is_file()}
    found |= {str(p.relative_to(PEER)) for p in PEER.glob("esl/*") if p.is_file()}
    covered = {f"ami/cacofonisk/{n}.json" for n in CACOFONISK} | set(NO_POPS)
    covered |= {
        "ami/callme_asterisk_cli_manager_debug.log",
        "ami/goami2_call_freepbx.ami",
        "esl/voipcallcenter_fs110_channel_create_outbound.jsdump.txt",
        "esl/mod_callcenter_doc_examples.txt",
    }
    assert found - covered == set()


def _all_captures() -> list[Path]:
    files = sorted(FIXTURES.glob("*.txt")) + sorted(ESL.glob("*.txt"))
    if PEER.is_dir():
        files += sorted(p for p in PEER.glob("ami/**/*") if p.is_file())
        files += sorted(p for p in PEER.glob("esl/*") if p.is_file())
    return files


@pytest.mark.parametrize("path", _all_captures(), ids=lambda p: p.name)
def test_cut_at_random_reads_the_replay_is_the_same(path: Path) -> None:
    rec = load_recording(path.read_bytes())
    assert rec is not None, f"{path.name}: no format module reads it"
    stream = b"".join(chunk.data for chunk in rec.chunks)
    rng = random.Random(path.name)
    cuts = sorted(rng.sample(range(1, len(stream)), min(40, len(stream) - 1)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    whole = replay(Recording(rec.protocol, (Chunk(None, stream),)))
    cut = replay(Recording(rec.protocol, tuple(Chunk(None, p) for p in pieces)))
    assert cut.timeline == whole.timeline and cut.calls == whole.calls
    assert cut.counts == whole.counts
