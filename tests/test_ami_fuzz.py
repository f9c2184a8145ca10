"""Properties of the AMI parser, encoder and mapper (hypothesis), on made-up and real streams."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screenpop.telephony.asterisk.mapper import AmiCallMapper
from screenpop.telephony.asterisk.protocol import (
    AmiParser,
    Message,
    encode_action,
    encode_message,
    parse_block,
)
from tests.fakes.ami_transcript import transcript_bytes

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REAL = {name: transcript_bytes(name) for name in ("a_answered.txt", "f_ringall_sales.txt")}
WHOLE = {name: AmiParser().feed(data) for name, data in REAL.items()}

_KEY = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,15}", fullmatch=True)
_VALUE = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0xD7FF, blacklist_characters="\r\n"),
    max_size=40,
)
_FIELDS = st.lists(st.tuples(_KEY, _VALUE), max_size=8)


@FAST
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_arbitrary_bytes_never_raise(chunks: list[bytes]) -> None:
    parser = AmiParser()
    for chunk in chunks:
        parser.feed(chunk)


@FAST
@given(st.lists(st.sampled_from([b"Event: X\r\n", b"\r\n", b": \r\n", b"a b\n", b"\n\r"])))
def test_arbitrary_line_soup_never_raises(lines: list[bytes]) -> None:
    AmiParser().feed(b"".join(lines))


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(sorted(REAL)), st.lists(st.integers(min_value=0), max_size=30))
def test_real_capture_cut_anywhere_parses_the_same(name: str, cuts: list[int]) -> None:
    data = REAL[name]
    edges = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    parser = AmiParser()
    items = [item for a, b in itertools.pairwise(edges) for item in parser.feed(data[a:b])]
    assert items == WHOLE[name]
    assert parser.rejected == 0 and parser.buffered == 0


@FAST
@given(st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True), _VALUE, _FIELDS)
def test_encode_action_then_parse_is_the_identity(
    action: str, action_id: str, fields: list[tuple[str, str]]
) -> None:
    wire = encode_action(action, action_id, fields)
    msg = parse_block(wire.removesuffix(b"\r\n\r\n"))
    assert msg.fields == (("Action", action), ("ActionID", action_id), *fields)


@FAST
@given(st.from_regex(r"[A-Za-z]{1,16}", fullmatch=True), _FIELDS)
def test_encode_event_then_parse_is_the_identity(event: str, fields: list[tuple[str, str]]) -> None:
    pairs = [("Event", event), *fields]
    (msg,) = AmiParser().feed(encode_message(pairs))
    assert isinstance(msg, Message) and msg.fields == tuple(pairs)


@FAST
@given(st.lists(st.tuples(st.sampled_from(["Event", "Response"]), _FIELDS), max_size=6))
def test_encoded_stream_cut_in_two_parses_the_same(
    messages: list[tuple[str, list[tuple[str, str]]]],
) -> None:
    pairs = [[(first, "Follow" if first == "Response" else "E"), *f] for first, f in messages]
    data = b"".join(encode_message(p) for p in pairs)
    whole = AmiParser().feed(data)
    for cut in range(0, len(data), max(1, len(data) // 7)):
        parser = AmiParser()
        assert parser.feed(data[:cut]) + parser.feed(data[cut:]) == whole
    assert [m.fields for m in whole if isinstance(m, Message)] == [tuple(p) for p in pairs]


_EVENTS = [
    "Newchannel",
    "Newstate",
    "NewCallerid",
    "DialBegin",
    "DialState",
    "DialEnd",
    "Hangup",
    "QueueCallerJoin",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "BlindTransfer",
    "AttendedTransfer",
]
_IDS = st.sampled_from(["1.1", "1.2", "1.3", "", "x"])
_AMI_KEYS = st.sampled_from(
    [
        "Uniqueid",
        "Linkedid",
        "DestUniqueid",
        "DestChannel",
        "Channel",
        "ChannelState",
        "DestChannelState",
        "DialStatus",
        "CallerIDNum",
        "CID-CallingPres",
        "Result",
        "TransfereeLinkedid",
        "OrigTransfererLinkedid",
        "SecondTransfererLinkedid",
        "Reason",
        "TransfererUniqueid",
        "OrigTransfererUniqueid",
        "DestConnectedLineNum",
    ]
)
_EVENT = st.tuples(
    st.sampled_from(_EVENTS),
    st.lists(
        st.tuples(_AMI_KEYS, st.one_of(_IDS, st.sampled_from(["5", "6", "ANSWER", "33"]))),
        max_size=8,
    ),
)


@FAST
@given(st.lists(_EVENT, max_size=25))
def test_mapper_survives_any_sequence_of_call_events(
    events: list[tuple[str, list[tuple[str, str]]]],
) -> None:
    mapper = AmiCallMapper("pbx")
    for name, fields in events:
        for event in mapper.feed(Message((("Event", name), *fields))):
            assert event.call_id
            if event.withheld:
                assert event.caller == "anonymous" and event.caller_name is None


def test_a_follows_response_waits_for_its_end_marker() -> None:
    """Why the stream properties keep `Response` values off `Follows`: its block ends elsewhere."""
    data = encode_message([("Response", "Follows"), ("Privilege", "Command")]) + b"x\r\n"
    assert AmiParser().feed(data) == []  # waits for --END COMMAND--, as Asterisk 11 sends it
