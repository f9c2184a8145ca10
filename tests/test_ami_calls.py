"""AMI events to CallEvents: the real Asterisk 22 captures replayed, then documented scenarios."""

from __future__ import annotations

from collections.abc import Iterable

from screenpop.events import CallEvent, EventKind
from screenpop.telephony.asterisk.mapper import AmiCallMapper
from screenpop.telephony.asterisk.protocol import AmiParser, Message
from tests.fakes.ami_desk import Desk
from tests.fakes.ami_scenarios import Pbx, packet, snapshot
from tests.fakes.ami_transcript import transcript_bytes

Q, R, A, M = EventKind.QUEUED, EventKind.RINGING, EventKind.ANSWERED, EventKind.MISSED
T, E, X = EventKind.TRANSFERRED, EventKind.ENDED, EventKind.ABANDONED


def _messages(data: bytes) -> list[Message]:
    return [m for m in AmiParser().feed(data) if isinstance(m, Message)]


def _map(mapper: AmiCallMapper, packets: Iterable[bytes]) -> list[CallEvent]:
    out: list[CallEvent] = []
    for msg in _messages(b"".join(packets)):
        out.extend(mapper.feed(msg))
    return out


def _brief(events: list[CallEvent]) -> list[tuple[EventKind, str | None]]:
    return [(e.kind, e.endpoint) for e in events]


def test_real_capture_queued_and_answered() -> None:
    events = _map(AmiCallMapper("pbx1"), [transcript_bytes("a_answered.txt")])
    assert _brief(events) == [
        (Q, None),
        (R, "PJSIP/agent1-00000030"),
        (A, "PJSIP/agent1-00000030"),
        (E, None),
    ]
    assert {e.call_id for e in events} == {"1795351021.53"}
    assert {e.caller for e in events} == {"+15551230001"}
    assert {e.caller_name for e in events} == {"Alice Example"}
    assert {e.queue for e in events} == {"support"}
    assert {e.source for e in events} == {"pbx1"}


def test_real_capture_ring_all_pops_three_and_answers_one() -> None:
    desk = Desk()
    for event in _map(AmiCallMapper("pbx1"), [transcript_bytes("f_ringall_sales.txt")]):
        desk(event)
    kinds = [e.kind for e in desk.events]
    assert kinds == [Q, R, R, R, A, E]
    assert M not in kinds  # CANCEL after the answer is not a missed call
    call = "1795351166.73"
    assert desk.log() == {
        "agent3": [("pop", call), ("answered_elsewhere", call)],
        "agent2": [("pop", call), ("answered", call), ("ended", call)],
        "agent1": [("pop", call), ("answered_elsewhere", call)],
    }


def _run(pbx_steps: list[bytes], mapper: AmiCallMapper | None = None) -> Desk:
    desk = Desk()
    for event in _map(mapper or AmiCallMapper("pbx1"), pbx_steps):
        desk(event)
    return desk


def test_ring_no_answer_then_next_agent_answers() -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("+15551230002", "Bob Caller")
    steps += pbx.join(call, "support")
    steps += pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    steps += pbx.no_answer(call, "PJSIP/1001")
    steps += pbx.ring(call, "PJSIP/1003", "1003", "Carol")
    steps += pbx.answer(call, "PJSIP/1003")
    steps += pbx.complete(call, "PJSIP/1003")
    desk = _run(steps)
    cid = call.caller.linkedid
    assert [e.kind for e in desk.events] == [Q, R, M, R, A, E]
    assert desk.log() == {
        "alice": [("pop", cid), ("missed", cid)],
        "carol": [("pop", cid), ("answered", cid), ("ended", cid)],
    }


def test_caller_abandons_while_ringing() -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("+15551230003", "Impatient")
    steps += pbx.join(call, "support") + pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    steps += pbx.abandon(call)
    desk = _run(steps)
    cid = call.caller.linkedid
    assert [e.kind for e in desk.events] == [Q, R, X]
    assert desk.log() == {"alice": [("pop", cid), ("abandoned", cid)]}


def test_queue_leave_without_answer_withdraws_the_ring() -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("+15551230004", "Timeout")
    steps += pbx.join(call, "support") + pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    leave = [*snapshot(call.caller), ("Queue", "support"), ("Count", "0"), ("Position", "1")]
    steps.append(packet([("Event", "QueueCallerLeave"), *leave]))
    desk = _run(steps)
    assert [(e.kind, e.endpoint is not None) for e in desk.events] == [
        (Q, False),
        (R, True),
        (M, True),
    ]


def test_direct_call_without_queue() -> None:
    pbx = Pbx()
    call, steps = pbx.direct("+15551230005", "Direct", "PJSIP/1001", "1001", "Alice")
    steps += pbx.answer(call, "PJSIP/1001") + pbx.complete(call, "PJSIP/1001")
    desk = _run(steps)
    cid = call.caller.linkedid
    assert [e.kind for e in desk.events] == [R, A, E]
    assert desk.events[0].queue is None and desk.events[0].caller == "+15551230005"
    assert desk.log() == {"alice": [("pop", cid), ("answered", cid), ("ended", cid)]}


def test_direct_call_not_answered_is_missed_then_abandoned() -> None:
    pbx = Pbx()
    call, steps = pbx.direct("+15551230006", "Nobody", "PJSIP/1001", "1001", "Alice")
    steps += pbx.no_answer(call, "PJSIP/1001") + pbx.hangup_caller(call)
    desk = _run(steps)
    cid = call.caller.linkedid
    assert desk.log() == {"alice": [("pop", cid), ("missed", cid)]}
    assert desk.tracker.get(cid).state == "abandoned"  # type: ignore[union-attr]


def test_freepbx_local_channels() -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("+15551230008", "Local Caller")
    steps += pbx.join(call, "support") + pbx.ring(call, "Local/1002@from-internal", "1002", "Bob")
    steps += pbx.answer(call, "Local/1002@from-internal")
    steps += pbx.complete(call, "Local/1002@from-internal")
    desk = _run(steps)
    cid = call.caller.linkedid
    ringing = [e.endpoint for e in desk.events if e.kind is R]
    assert ringing[0] is not None and ringing[0].startswith("Local/1002@from-internal-")
    assert ringing[0].endswith(";1")
    assert desk.log() == {"bob": [("pop", cid), ("answered", cid), ("ended", cid)]}


def test_withheld_caller_is_passed_through_raw() -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("<unknown>", "<unknown>")
    steps += pbx.join(call, "support") + pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    desk = _run(steps)
    assert {e.caller for e in desk.events} == {"<unknown>"}
    assert {e.caller_name for e in desk.events} == {None}
    pbx2 = Pbx()
    _call2, steps2 = pbx2.direct("anonymous", "Anonymous", "PJSIP/1001", "1001", "Alice")
    assert {e.caller for e in _run(steps2).events} == {"anonymous"}


def test_escaped_caller_name_is_decoded() -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("+15551230009", 'O\\"Hara \\\\ Sons')
    steps += pbx.join(call, "support")
    desk = _run(steps)
    assert desk.events[0].caller_name == 'O"Hara \\ Sons'


def test_blind_transfer_pops_the_new_agent() -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("+15551230010", "Transferred")
    steps += pbx.join(call, "support") + pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    steps += pbx.answer(call, "PJSIP/1001")
    steps += pbx.blind_transfer(call, "PJSIP/1001", "1003")
    call.queue = None  # the transferee now runs Dial(PJSIP/1003) in from-internal
    steps += pbx.ring(call, "PJSIP/1003", "1003", "Carol") + pbx.answer(call, "PJSIP/1003")
    steps += pbx.hangup_caller(call)
    desk = _run(steps)
    cid = call.caller.linkedid
    assert desk.log() == {
        "alice": [("pop", cid), ("answered", cid), ("transferred", cid)],
        "carol": [("pop", cid), ("ended", cid)],
    }


def test_attended_transfer_with_the_phone_s_own_consultation_call() -> None:
    pbx = Pbx()
    call, steps = pbx.inbound("+15551230011", "Consulted")
    steps += pbx.join(call, "support") + pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    steps += pbx.answer(call, "PJSIP/1001")
    consult, more = pbx.consult("PJSIP/1001", "1001", "Alice", "PJSIP/1003", "1003", "Carol")
    steps += more + pbx.answer(consult, "PJSIP/1003")
    steps += pbx.attended_transfer(call, "PJSIP/1001", consult, "PJSIP/1003")
    steps += pbx.hangup_caller(call)
    desk = _run(steps)
    cid, kid = call.caller.linkedid, consult.caller.linkedid
    # the consultation call (Alice's phone calling Carol) is no customer call: no pop of its own
    assert desk.log() == {
        "alice": [("pop", cid), ("answered", cid), ("transferred", cid)],
        "carol": [("pop", cid), ("ended", cid)],
    }
    assert kid not in {e.call_id for e in desk.events}
    transferred = [e for e in desk.events if e.kind is T]
    assert transferred[0].call_id == cid and transferred[0].caller == "+15551230011"


def test_a_second_queued_call_from_the_same_number_pops_while_the_first_is_answered() -> None:
    # A company calling from its one main number: two callers on the same trunk at once. The
    # second is a customer call too, not a consultation placed from the first.
    pbx = Pbx()
    first, steps = pbx.inbound("+15551230077", "Acme Corp")
    steps += pbx.join(first, "support") + pbx.ring(first, "PJSIP/1001", "1001", "Alice")
    steps += pbx.answer(first, "PJSIP/1001")
    second, more = pbx.inbound("+15551230077", "Acme Corp")
    steps += more + pbx.join(second, "support") + pbx.ring(second, "PJSIP/1002", "1002", "Bob")
    steps += pbx.answer(second, "PJSIP/1002")
    desk = _run(steps)
    one, two = first.caller.linkedid, second.caller.linkedid
    assert desk.log() == {
        "alice": [("pop", one), ("answered", one)],
        "bob": [("pop", two), ("answered", two)],
    }


def test_uniqueid_with_system_name_prefix_is_an_opaque_key() -> None:
    pbx = Pbx(system="pbx-eu1")
    call, steps = pbx.inbound("+15551230012", "Prefixed")
    steps += pbx.join(call, "support") + pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    desk = _run(steps)
    assert {e.call_id for e in desk.events} == {call.caller.linkedid}
    assert call.caller.linkedid.startswith("pbx-eu1-")


def _items(rows: list[list[tuple[str, str]]], event: str) -> list[Message]:
    return _messages(b"".join(packet([("Event", event), ("ActionID", "r"), *r]) for r in rows))


def test_resync_relearns_ringing_and_queued_calls_without_duplicates() -> None:
    pbx = Pbx()
    mapper = AmiCallMapper("pbx1")
    call, steps = pbx.inbound("+15551230013", "Ringing")
    steps += pbx.join(call, "support") + pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    desk = _run(steps, mapper)
    # the connection drops; meanwhile Alice stops ringing and Carol rings; another caller queues
    pbx.no_answer(call, "PJSIP/1001")
    pbx.ring(call, "PJSIP/1003", "1003", "Carol")
    waiting, _ = pbx.inbound("+15551230014", "Waiting")
    pbx.join(waiting, "sales")
    ivr, _ = pbx.inbound("+15551230015", "In the IVR")
    for event in mapper.resync_channels(_items(pbx.core_show_channels(), "CoreShowChannel")):
        desk(event)
    for event in mapper.resync_queues(_items(pbx.queue_entries(), "QueueEntry")):
        desk(event)
    cid = call.caller.linkedid
    assert desk.log() == {
        "alice": [("pop", cid), ("missed", cid)],
        "carol": [("pop", cid)],
    }
    queued = [e for e in desk.events if e.kind is Q and e.call_id == waiting.caller.linkedid]
    assert queued and queued[0].caller == "+15551230014" and queued[0].queue == "sales"
    assert ivr.caller.linkedid not in {e.call_id for e in desk.events if e.kind is not Q}
    # a second resync with nothing changed adds nothing anybody sees
    before = desk.log()
    for event in mapper.resync_channels(_items(pbx.core_show_channels(), "CoreShowChannel")):
        desk(event)
    assert desk.log() == before


def test_resync_ends_calls_that_finished_while_away() -> None:
    pbx = Pbx()
    mapper = AmiCallMapper("pbx1")
    call, steps = pbx.inbound("+15551230016", "Finished")
    steps += pbx.join(call, "support") + pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    steps += pbx.answer(call, "PJSIP/1001")
    desk = _run(steps, mapper)
    pbx.complete(call, "PJSIP/1001")  # missed while disconnected
    for event in mapper.resync_channels(_items(pbx.core_show_channels(), "CoreShowChannel")):
        desk(event)
    cid = call.caller.linkedid
    assert desk.log() == {"alice": [("pop", cid), ("answered", cid), ("ended", cid)]}


def test_resync_learns_a_call_answered_before_we_connected() -> None:
    pbx = Pbx()
    call, _ = pbx.inbound("+15551230017", "Early")
    pbx.join(call, "support")
    pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    pbx.answer(call, "PJSIP/1001")
    mapper = AmiCallMapper("pbx1")
    desk = Desk()
    for event in mapper.resync_channels(_items(pbx.core_show_channels(), "CoreShowChannel")):
        desk(event)
    cid = call.caller.linkedid
    assert desk.log() == {"alice": [("pop", cid), ("answered", cid)]}
    assert desk.events[0].caller == "+15551230017"


def test_originated_call_pops_outbound() -> None:
    mapper = AmiCallMapper("pbx1")
    mapper.expect_originate("sp-abc", "+15557654321", "alice")
    ch = [
        ("Channel", "PJSIP/1001-00000040"),
        ("ChannelState", "0"),
        ("CallerIDNum", "+15557654321"),
        ("CallerIDName", "<unknown>"),
        ("Uniqueid", "sp-abc"),
        ("Linkedid", "sp-abc"),
    ]
    up = [(k, "6" if k == "ChannelState" else v) for k, v in ch]
    desk = _run(
        [
            packet([("Event", "Newchannel"), *ch]),
            packet([("Event", "Newstate"), *up]),
            packet([("Event", "Hangup"), *up, ("Cause", "16")]),
        ],
        mapper,
    )
    assert [(e.kind, e.outbound, e.caller) for e in desk.events] == [
        (R, True, "+15557654321"),
        (A, True, "+15557654321"),
        (E, True, "+15557654321"),
    ]
    assert desk.log() == {"alice": [("pop", "sp-abc"), ("answered", "sp-abc"), ("ended", "sp-abc")]}


def test_events_after_the_end_are_ignored() -> None:
    pbx = Pbx()
    mapper = AmiCallMapper("pbx1")
    call, steps = pbx.inbound("+15551230018", "Late")
    steps += pbx.join(call, "support") + pbx.abandon(call)
    events = _map(mapper, steps)
    late = _map(mapper, pbx.ring(call, "PJSIP/1001", "1001", "Alice"))
    assert [e.kind for e in events] == [Q, X]
    assert late == []
