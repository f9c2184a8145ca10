"""Agent pauses read off the wire: AMI queue member events and mod_callcenter status changes.

The AMI frames are the real `QueueMemberStatus` packets of the Asterisk 22 capture
(`a_answered.txt`: agent1 in `support` and `sales`), and `QueueMemberPause` packets made from
them in Asterisk's documented shape (the same fields; `Paused: 1`, `PausedReason`): a pause
from `QueuePause` without `Queue` is one such event per queue. The ESL frame is the capture's
real `agent-state-change` frame (fired by the same `cc_agent_update`), its action turned into
`agent-status-change` as mod_callcenter writes it. Each stream is split at every byte boundary.
"""

from __future__ import annotations

import itertools

from screenpop.events import AgentStatusEvent
from screenpop.telephony.asterisk.members import AmiMemberMapper
from screenpop.telephony.asterisk.protocol import AmiParser, Message
from screenpop.telephony.freeswitch.agents import agent_status
from screenpop.telephony.freeswitch.protocol import EslParser, parse_event
from screenpop.telephony.recording import read_blocks
from tests.fakes.ami_transcript import FIXTURES, load_transcript

ESL_FIXTURES = FIXTURES.parent / "esl"


def _member_status() -> list[bytes]:
    """The capture's real QueueMemberStatus packets of agent1 (support, then sales)."""
    packets = [
        p for p in load_transcript("a_answered.txt") if p.get("Event") == "QueueMemberStatus"
    ]
    return [p.wire for p in packets[:2]]


def _as_pause(wire: bytes, paused: bool, reason: str = "") -> bytes:
    """A real QueueMemberStatus packet as the QueueMemberPause Asterisk sends for a pause."""
    out = wire.replace(b"Event: QueueMemberStatus", b"Event: QueueMemberPause")
    out = out.replace(b"Paused: 0\r\n", b"Paused: %d\r\n" % int(paused))
    return out.replace(b"PausedReason: \r\n", f"PausedReason: {reason}\r\n".encode())


def _statuses(stream: bytes, cuts: list[int]) -> list[AgentStatusEvent]:
    parser, mapper = AmiParser(), AmiMemberMapper("pbx", clock=lambda: 5.0)
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    out: list[AgentStatusEvent] = []
    for start, end in itertools.pairwise([0, *cuts, len(stream)]):
        for item in parser.feed(stream[start:end]):
            assert isinstance(item, Message)
            out += mapper.feed(item)
    return out


def test_real_member_status_unpaused_says_nothing() -> None:
    assert _statuses(b"".join(_member_status()), []) == []


def test_pause_in_every_queue_then_unpause_split_at_every_byte() -> None:
    support, sales = _member_status()
    stream = b"".join(
        [
            support,
            _as_pause(support, True, "lunch"),  # paused in support only: still offered sales
            _as_pause(sales, True, "lunch"),  # now in every queue
            sales,  # a device state change repeats the pause: nothing new
            _as_pause(sales, True, "lunch").replace(b"QueueMemberPause", b"QueueMemberStatus"),
            _as_pause(support, False),  # offered support calls again: available
        ]
    )
    paused = AgentStatusEvent(
        "pbx", "PJSIP/agent1", True, "lunch", state_endpoint="PJSIP/agent1", at=5.0
    )
    available = AgentStatusEvent(
        "pbx", "PJSIP/agent1", False, "", state_endpoint="PJSIP/agent1", at=5.0
    )
    # `sales` (real, Paused: 0) between them unpauses sales: available, then paused again
    expected = [paused, available, paused, available]
    assert _statuses(stream, []) == expected
    for cut in range(1, len(stream)):
        assert _statuses(stream, [cut]) == expected, f"split at byte {cut}"


def test_member_status_paused_1_with_reason_is_a_pause() -> None:
    support, _ = _member_status()
    status = _as_pause(support, True, "training").replace(b"QueueMemberPause", b"QueueMemberStatus")
    [event] = _statuses(status, [])
    assert (event.endpoint, event.paused, event.reason) == ("PJSIP/agent1", True, "training")


def test_asterisk_11_queue_member_paused_names_the_location() -> None:
    packet = (
        b"Event: QueueMemberPaused\r\nPrivilege: agent,all\r\nQueue: support\r\n"
        b"Location: SIP/1001\r\nMemberName: Alice\r\nPaused: 1\r\nReason: break\r\n\r\n"
    )
    [event] = _statuses(packet, [])
    assert (event.endpoint, event.paused, event.reason) == ("SIP/1001", True, "break")


def test_resync_queue_member_items_relearn_a_pause_made_while_away() -> None:
    mapper = AmiMemberMapper("pbx", clock=lambda: 1.0)
    item = Message(
        (
            ("Event", "QueueMember"),
            ("Queue", "support"),
            ("Name", "Agent One"),
            ("Location", "PJSIP/agent1"),
            ("StateInterface", "PJSIP/agent1"),
            ("Paused", "1"),
            ("PausedReason", "lunch"),
        )
    )
    [event] = mapper.resync([item])
    assert (event.endpoint, event.paused, event.reason) == ("PJSIP/agent1", True, "lunch")
    assert mapper.resync([item]) == []  # the same again: nothing new
    [back] = mapper.resync([])  # gone from every queue: forgotten, nothing to say
    assert back.paused is False


def _esl_status_change(status: str) -> bytes:
    blocks = read_blocks((ESL_FIXTURES / "a_answered.txt").read_bytes())
    real = next(b.data for b in blocks if b.kind == "recv" and b"agent-state-change" in b.data)
    head, _, body = real.partition(b"\n\n")
    body = body.replace(
        b"CC-Action: agent-state-change\nCC-Agent-State: Receiving",
        b"CC-Action: agent-status-change\nCC-Agent-Status: " + status.replace(" ", "%20").encode(),
    )
    length = next(line for line in head.split(b"\n") if line.startswith(b"Content-Length"))
    return (
        real.partition(b"\n\n")[0].replace(length, b"Content-Length: %d" % len(body))
        + b"\n\n"
        + body
    )


def _esl_statuses(stream: bytes, cut: int | None = None) -> list[AgentStatusEvent]:
    parser = EslParser()
    parts = [stream] if cut is None else [stream[:cut], stream[cut:]]
    out: list[AgentStatusEvent] = []
    for part in parts:
        for frame in parser.feed(part):
            out += agent_status("fs1", parse_event(frame).headers, clock=lambda: 7.0)
    return out


def test_esl_real_agent_state_change_is_no_status() -> None:
    blocks = read_blocks((ESL_FIXTURES / "a_answered.txt").read_bytes())
    real = next(b.data for b in blocks if b.kind == "recv" and b"agent-state-change" in b.data)
    assert _esl_statuses(real) == []


def test_esl_agent_status_change_split_at_every_byte() -> None:
    stream = b"".join(
        _esl_status_change(s)
        for s in ("On Break", "Available", "Logged Out", "Available (On Demand)")
    )
    expected = [
        AgentStatusEvent("fs1", "agent1", True, at=7.0),
        AgentStatusEvent("fs1", "agent1", False, at=7.0),
        AgentStatusEvent("fs1", "agent1", True, "logged out", logged_out=True, at=7.0),
        AgentStatusEvent("fs1", "agent1", False, at=7.0),
    ]
    assert _esl_statuses(stream) == expected
    for cut in range(1, len(stream)):
        assert _esl_statuses(stream, cut) == expected, f"split at byte {cut}"
