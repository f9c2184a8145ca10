"""AMI traffic from installations nobody here built, replayed whole and cut at random reads.

The captures stay in `../shared/samples/peer/ami` (tests/peer.py); what each must produce is in
its PROVENANCE.md. Every flow goes through the real parser, mapper and CallTracker.
"""

from __future__ import annotations

import random

import pytest

from screenpop.calls import Call
from screenpop.events import EventKind
from screenpop.telephony.asterisk.formats import ami_messages, ami_stream_from
from screenpop.telephony.asterisk.mapper import AmiCallMapper
from screenpop.telephony.asterisk.protocol import AmiParser, Banner, Message
from tests.fakes.ami_desk import CACOFONISK_AGENTS, Desk, popped, replay
from tests.peer import peer_file

SEEDS = (1, 2, 3)

# file: (caller shown, or None where the table has none; agents popped in order; holder; final)
CACOFONISK = {
    "simple_ab_success_a_hangup": ("201", ["a2"], "a2", "ended"),
    "simple_ab_success_b_hangup": ("201", ["a2"], "a2", "ended"),
    "simple_ab_reject": ("201", ["a2"], None, "abandoned"),
    "simple_ab_dnd": ("201", [], None, "abandoned"),
    "simple_ab_a_cancel": ("201", ["a2"], None, "abandoned"),
    "simple_ab_callgroup": ("201", ["a2", "a3"], "a2", "ended"),
    "simple_ab_callgroup_no_answer": ("201", ["a2", "a3"], None, "abandoned"),
    "queue_queue_simple": ("+31150010001", ["a2"], "a2", "ended"),
    "queue_queue_group": (None, ["a3", "a2"], "a2", "ended"),
    "queue_queue_a_cancel": (None, ["a2"], None, "abandoned"),
    "queue_queue_blind_xfer": (None, ["a1", "a2"], "a2", "ended"),
    "queue_queue_attn_xfer": (None, ["a1", "a2"], "a2", "ended"),
    "xfer_blind_xfer_blind_abacbc": ("201", ["a2", "a3"], "a3", "ended"),
    "xfer_blind_xfer_blind_abbcac": ("201", ["a2", "a3"], "a3", "ended"),
    "xfer_attended_xfer_abbcac": ("201", ["a2", "a3"], "a3", "ended"),
    "xfer_attended_xfer_abacbc": ("201", ["a2", "a3"], "a3", "ended"),
    "xfer_attended_xfer_abbcac_anon": ("anonymous", ["a1", "a3"], "a3", "ended"),
    "xfer_misc_call_forwarding": ("+31260010001", ["a2"], "a2", "ended"),
}


def _stream(rel: str) -> bytes:
    stream = ami_stream_from(peer_file(rel).read_bytes())
    assert stream is not None, f"{rel} is no AMI format ami_formats knows"
    return stream


def _cuts(stream: bytes, seed: int, count: int = 25) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(1, len(stream)) for _ in range(count)]


def _calls(desk: Desk) -> list[Call]:
    ids = dict.fromkeys(e.call_id for e in desk.events)
    return [call for call in map(desk.tracker.get, ids) if call is not None]


def _check_flow(desk: Desk, expected: tuple[str | None, list[str], str | None, str]) -> None:
    caller, pops, holder, final = expected
    calls = _calls(desk)
    assert len(calls) == 1, "one customer call; consultation calls are nobody's customer call"
    call = calls[0]
    assert popped(desk) == pops
    assert call.agent == holder
    assert call.state == final
    if caller is not None:
        assert {e.caller for e in desk.events} == {caller}  # every event carries the shown caller
        assert {p.call.caller for p in desk.pops} <= {caller}


@pytest.mark.parametrize("name", sorted(CACOFONISK))
def test_cacofonisk_flow_whole_and_cut(name: str) -> None:
    stream = _stream(f"ami/cacofonisk/{name}.json")
    _check_flow(replay(stream, CACOFONISK_AGENTS), CACOFONISK[name])
    for seed in SEEDS:
        _check_flow(replay(stream, CACOFONISK_AGENTS, _cuts(stream, seed)), CACOFONISK[name])


def test_cacofonisk_rewritten_caller_id_is_on_the_ringing_event() -> None:
    stream = _stream("ami/cacofonisk/xfer_attended_xfer_abbcac.json")
    assert b"CallerIDNum: 150010001\r\n" in stream  # the Newchannel's number, before NewCallerid
    desk = replay(stream, CACOFONISK_AGENTS)
    ringing = [e for e in desk.events if e.kind is EventKind.RINGING]
    assert ringing and {e.caller for e in ringing} == {"201"}
    assert "150010001" not in {e.caller for e in desk.events}


def test_cacofonisk_withheld_caller_never_shows_the_number() -> None:
    stream = _stream("ami/cacofonisk/xfer_attended_xfer_abbcac_anon.json")
    desk = replay(stream, CACOFONISK_AGENTS)
    assert desk.events and all(e.withheld for e in desk.events)
    assert {e.caller for e in desk.events} == {"anonymous"}
    assert {e.caller_name for e in desk.events} == {None}
    shown = {e.caller for e in desk.events} | {p.call.caller for p in desk.pops}
    assert not any(n and n.startswith("+31260") for n in shown)


def test_cacofonisk_dnd_never_rang_so_nobody_pops() -> None:
    desk = replay(_stream("ami/cacofonisk/simple_ab_dnd.json"), CACOFONISK_AGENTS)
    assert [e.kind for e in desk.events] == [EventKind.ENDED]
    assert desk.log() == {}


def test_cacofonisk_attended_transfer_without_transfer_target_fields() -> None:
    stream = _stream("ami/cacofonisk/xfer_attended_xfer_abbcac.json")
    transfer = next(m for m in ami_messages(stream) if m.event == "AttendedTransfer")
    assert "TransferTargetChannel" not in transfer and "TransfereeLinkedid" not in transfer
    desk = replay(stream, CACOFONISK_AGENTS)
    call = transfer.get("OrigTransfererLinkedid")
    assert desk.log() == {
        "a2": [("pop", call), ("answered", call), ("transferred", call)],
        "a3": [("pop", call), ("ended", call)],
    }


@pytest.mark.parametrize("crlf", [False, True])
def test_callme_console_log_queue_call(crlf: bool) -> None:
    raw = peer_file("ami/callme_asterisk_cli_manager_debug.log").read_bytes()
    if crlf:
        raw = raw.replace(b"\n", b"\r\n")
    stream = ami_stream_from(raw)
    assert stream is not None
    messages = ami_messages(stream)
    sequence = [m.get("SequenceNumber") for m in messages]
    assert len(sequence) == len(set(sequence))  # the second session's copies are dropped
    for cuts in [None, *(_cuts(stream, seed) for seed in SEEDS)]:
        desk = replay(stream, {"a777": ["SIP/777"]}, cuts)
        call = "1514295827.372"
        assert desk.log() == {"a777": [("pop", call), ("answered", call), ("ended", call)]}
        assert desk.pops[0].call.caller == "123"
        assert desk.pops[0].call.caller_name == "Eugene R"
        assert desk.pops[0].call.queue == "Q1"


def test_goami2_freepbx_call_trunk_rings_then_the_caller_hangs_up() -> None:
    stream = _stream("ami/goami2_call_freepbx.ami")
    for cuts in [None, *(_cuts(stream, seed) for seed in SEEDS)]:
        desk = replay(stream, {"trunk": ["SIP/okon.ferry.sip.com"]}, cuts)
        kinds = [(e.kind, e.endpoint) for e in desk.events]
        assert kinds[0][0] is EventKind.RINGING
        assert (kinds[0][1] or "").startswith("SIP/okon.ferry.sip.com-")
        assert kinds[-1] == (EventKind.ENDED, None)
        assert desk.events[0].caller == "9170"


def test_pami_issue_events_case_insensitive_and_without_linkedid_create_no_call() -> None:
    stream = _stream("ami/pami_issue_events_ast18_11.txt")
    messages = ami_messages(stream)
    assert [m.event for m in messages] == ["AgentConnect", "Join", "AgentCalled"]
    assert messages[0].get("Queue") == "5001" and messages[0].get("Channel").startswith("Local/")
    assert messages[2].get("AgentCalled") == "SIP/203"
    mapper = AmiCallMapper("pbx")
    assert [e for m in messages for e in mapper.feed(m)] == []


def _server_side(rel: str) -> tuple[list[Banner | Message], AmiParser]:
    parser = AmiParser()
    items = parser.feed(peer_file(rel).read_bytes())
    return [i for i in items if isinstance(i, Banner) or not i.get("Action")], parser


def test_panoramisk_login_ok_and_failed() -> None:
    ok, _ = _server_side("ami/panoramisk/login_ok.yaml")
    assert [m.response or m.event for m in ok if isinstance(m, Message)] == [
        "Success",
        "FullyBooted",
    ]
    failed, _ = _server_side("ami/panoramisk/login_failed.yaml")
    assert isinstance(failed[0], Banner) and failed[0].version == "1.3"
    error = failed[1]
    assert isinstance(error, Message) and error.response == "Error"
    assert error.get("Message") == "Authentication failed"


def test_panoramisk_queue_status_list() -> None:
    items, parser = _server_side("ami/panoramisk/queue_status.yaml")
    events = [m.event for m in items if isinstance(m, Message) and m.event]
    assert events == ["QueueParams", *["QueueMember"] * 6, "QueueStatusComplete"]
    members = [m for m in items if isinstance(m, Message) and m.event == "QueueMember"]
    assert all(m.get("Location").startswith("Local/") for m in members)
    assert parser.rejected == 0


def test_panoramisk_capture_artefacts_are_dropped_or_held_back() -> None:
    items, parser = _server_side("ami/panoramisk/agent_loggued_in.yaml")
    assert parser.rejected == 2  # the two `[N bytes missing in capture file]` blocks
    assert not any(
        "missing in capture" in k for m in items if isinstance(m, Message) for k, _ in m.fields
    )
    for rel in (
        "ami/panoramisk/originate_with_events.yaml",
        "ami/panoramisk/pjsip_show_endpoint.yaml",
    ):
        items, parser = _server_side(rel)
        assert parser.rejected == 0 and parser.buffered > 0  # the cut last message waits
        mapper = AmiCallMapper("pbx")
        assert [e for m in items if isinstance(m, Message) for e in mapper.feed(m)] == []


@pytest.mark.parametrize(
    "rel",
    [
        "ami/panoramisk/asyncagi_get_var.yaml",
        "ami/panoramisk/command_core_show_version.yaml",
    ],
)
def test_panoramisk_other_fixtures_parse_clean(rel: str) -> None:
    items, parser = _server_side(rel)
    assert parser.rejected == 0 and parser.buffered == 0 and items
