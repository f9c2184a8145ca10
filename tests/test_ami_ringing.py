"""Who the AMI mapper says rings, and with which caller: only phones that ring, the caller id
the ringing phone is shown, a withheld caller withheld for good (issue 9, findings 1, 2 and 4)."""

from __future__ import annotations

import random

import pytest

from screenpop.events import EventKind
from screenpop.telephony.asterisk.mapper import AmiCallMapper
from screenpop.telephony.asterisk.protocol import AmiParser, Message
from tests.fakes.ami_desk import AGENTS, Desk, popped, replay
from tests.fakes.ami_scenarios import Pbx, packet, snapshot
from tests.fakes.ami_transcript import transcript_bytes

R, A, M = EventKind.RINGING, EventKind.ANSWERED, EventKind.MISSED
AGENTS3 = ["agent3", "agent2", "agent1"]  # the order Asterisk rang them in


def _run(steps: list[bytes]) -> Desk:
    desk, mapper = Desk(), AmiCallMapper("pbx1")
    for item in AmiParser().feed(b"".join(steps)):
        if isinstance(item, Message):
            for event in mapper.feed(item):
                desk(event)
    return desk


@pytest.mark.parametrize("status", ["BUSY", "CANCEL", "CHANUNAVAIL"])
def test_a_phone_that_never_rang_gets_no_pop(status: str) -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("+15551230020", "Busy Line")
    steps += pbx.never_rings(call, "PJSIP/1001", "1001", "Alice", status)  # DND / busy
    steps += pbx.ring(call, "PJSIP/1003", "1003", "Carol") + pbx.answer(call, "PJSIP/1003")
    desk = _run(steps)
    cid = call.caller.linkedid
    assert desk.log() == {"carol": [("pop", cid), ("answered", cid)]}


def test_pop_comes_at_the_first_ringing_evidence_before_the_answer() -> None:
    data = transcript_bytes("a_answered.txt")
    desk, mapper = Desk(), AmiCallMapper("pbx1")
    first_ring = None
    for item in AmiParser().feed(data):
        if isinstance(item, Message):
            events = mapper.feed(item)
            if any(e.kind is R for e in events) and first_ring is None:
                first_ring = item
            for event in events:
                desk(event)
    assert first_ring is not None
    assert (first_ring.event, first_ring.get("ChannelState")) == ("Newstate", "5")
    assert [e.kind for e in desk.events].index(R) < [e.kind for e in desk.events].index(A)


def _dial(pbx: Pbx, dest_state: str) -> tuple[str, list[bytes], list[tuple[str, str]]]:
    call, steps = pbx.inbound("+15551230021", "Evidence")
    leg = [
        ("DestChannel", "PJSIP/1001-00000099"),
        ("DestChannelState", dest_state),
        ("DestUniqueid", "leg-1"),
        ("DestLinkedid", call.caller.linkedid),
    ]
    fields = [*snapshot(call.caller), *leg]
    steps.append(packet([("Event", "DialBegin"), *fields]))
    return call.caller.linkedid, steps, fields


def test_dial_state_ringing_or_progress_is_evidence_enough() -> None:
    for status in ("RINGING", "PROGRESS"):
        cid, steps, fields = _dial(Pbx(), "0")
        assert _run(steps).log() == {}
        steps.append(packet([("Event", "DialState"), *fields, ("DialStatus", status)]))
        assert _run(steps).log() == {"alice": [("pop", cid)]}


def test_a_dial_to_a_channel_already_ringing_pops_at_once() -> None:
    cid, steps, _fields = _dial(Pbx(), "5")
    assert _run(steps).log() == {"alice": [("pop", cid)]}


def test_answer_without_any_ringing_event_still_pops_the_agent() -> None:
    cid, steps, fields = _dial(Pbx(), "0")
    steps.append(packet([("Event", "DialEnd"), *fields, ("DialStatus", "ANSWER")]))
    assert _run(steps).log() == {"alice": [("pop", cid), ("answered", cid)]}


def test_caller_id_rewritten_by_the_dialplan_is_the_one_that_rings() -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("150010001", "Phone Account")
    steps += pbx.caller_id(call, "201", "Andrew")
    steps += pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    desk = _run(steps)
    ringing = [e for e in desk.events if e.kind is R]
    assert [(e.caller, e.caller_name) for e in ringing] == [("201", "Andrew")]
    assert desk.pops[0].call.caller == "201"


@pytest.mark.parametrize("pres", ["33", "67"])  # prohibited; number unavailable
def test_withheld_presentation_is_sticky_and_the_number_never_shows(pres: str) -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("+31260010001", "Secret Caller")
    steps += pbx.caller_id(call, "+31260xxxxxx", "Secret Caller", pres)
    steps += pbx.caller_id(call, "+31260010001", "Secret Caller")  # a later event: still withheld
    steps += pbx.join(call, "support") + pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    steps += pbx.answer(call, "PJSIP/1001") + pbx.complete(call, "PJSIP/1001")
    desk = _run(steps)
    assert [e.kind for e in desk.events][-1] is EventKind.ENDED
    assert all(e.withheld for e in desk.events)
    assert {(e.caller, e.caller_name) for e in desk.events} == {("anonymous", None)}
    assert desk.pops[0].call.caller == "anonymous"


def test_allowed_presentation_is_not_withheld() -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("+15551230022", "Open")
    steps += pbx.caller_id(call, "+15551230022", "Open", "1")
    steps += pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    desk = _run(steps)
    assert desk.events and not any(e.withheld for e in desk.events)
    assert desk.pops[0].call.caller == "+15551230022"


def test_missed_only_for_phones_that_rang() -> None:
    pbx = Pbx()
    call, steps = pbx.direct("+15551230023", "Nobody", "PJSIP/1001", "1001", "Alice")
    steps += pbx.no_answer(call, "PJSIP/1001")
    assert [e.kind for e in _run(steps).events] == [R, M]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_real_asterisk_22_captures_cut_at_random_reads_pop_the_same(seed: int) -> None:
    rng = random.Random(seed)
    for name, agents in (("a_answered.txt", ["agent1"]), ("f_ringall_sales.txt", AGENTS3)):
        stream = transcript_bytes(name)
        whole = replay(stream, AGENTS)
        cut = replay(stream, AGENTS, [rng.randrange(1, len(stream)) for _ in range(40)])
        assert cut.log() == whole.log()
        assert popped(whole) == agents
