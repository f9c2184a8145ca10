"""ESL framing, byte by byte: every frame split at every boundary parses the same."""

from __future__ import annotations

import json

import pytest

from screenpop.errors import ProtocolError
from screenpop.telephony.freeswitch.protocol import (
    EslParser,
    Frame,
    command,
    parse_event,
    subscribe_command,
)
from screenpop.telephony.freeswitch.resync import channel_rows, parse_queue_names, parse_table
from tests.fakes.esl_server import DISCONNECT_TEXT, event_frame, frame

NAME = "Zoë Ångström-Nuñez"  # multi-byte UTF-8 characters
MEMBERS = (
    "queue|uuid|session_uuid|cid_number|cid_name|serving_agent|state\n"
    f"support@default|row-1|abc-1|+12125551234|{NAME}|1001@default|Trying\n"
    "+OK\n"
)
EVENT = {
    "Event-Name": "CUSTOM",
    "Event-Subclass": "callcenter::info",
    "Event-Date-Local": "2026-11-20 10:02:00",
    "CC-Action": "agent-offering",
    "CC-Agent": "1001@default",
    "CC-Member-CID-Number": "+12125551234",
    "CC-Member-CID-Name": NAME,
    "variable_note": "100% sure: a+b=c & d",
}

STREAM_FRAMES = [
    frame({"Content-Type": "auth/request"}),
    frame({"Content-Type": "command/reply", "Reply-Text": "+OK accepted"}),
    frame({"Content-Type": "api/response"}, MEMBERS.encode()),
    event_frame(EVENT),
    event_frame({"Event-Name": "MESSAGE", "to": "1001@default"}, body=f"hello {NAME}\n\nbye"),
    frame({"Content-Type": "text/disconnect-notice"}, DISCONNECT_TEXT.encode()),
]
STREAM = b"".join(STREAM_FRAMES)


def _parse_in(chunks: list[bytes]) -> tuple[list[Frame], int]:
    parser = EslParser()
    frames: list[Frame] = []
    for chunk in chunks:
        frames += parser.feed(chunk)
    return frames, parser.rejected


def test_whole_stream_parses_into_its_frames() -> None:
    frames, rejected = _parse_in([STREAM])
    assert rejected == 0
    assert [f.content_type for f in frames] == [
        "auth/request",
        "command/reply",
        "api/response",
        "text/event-plain",
        "text/event-plain",
        "text/disconnect-notice",
    ]
    assert frames[1].reply_text == "+OK accepted" and frames[1].ok
    assert frames[2].body.decode() == MEMBERS
    assert frames[5].body.decode() == DISCONNECT_TEXT


def test_every_split_boundary_gives_the_same_frames() -> None:
    expected, _ = _parse_in([STREAM])
    for cut in range(1, len(STREAM)):
        frames, rejected = _parse_in([STREAM[:cut], STREAM[cut:]])
        assert frames == expected, f"split at byte {cut}"
        assert rejected == 0


def test_byte_by_byte_gives_the_same_frames() -> None:
    expected, _ = _parse_in([STREAM])
    frames, rejected = _parse_in([bytes([b]) for b in STREAM])
    assert frames == expected and rejected == 0


def test_utf8_name_split_mid_character_comes_out_whole() -> None:
    data = frame({"Content-Type": "api/response"}, MEMBERS.encode())
    start = data.index("ë".encode())
    parser = EslParser()
    assert parser.feed(data[: start + 1]) == []  # the first byte of the two-byte "ë"
    (got,) = parser.feed(data[start + 1 :])
    assert parse_table(got.body.decode())[0]["cid_name"] == NAME


def test_event_headers_are_url_decoded() -> None:
    (got,) = EslParser().feed(event_frame(EVENT))
    event = parse_event(got)
    assert event.name == "CUSTOM"
    assert event.get("CC-Member-CID-Name") == NAME
    assert event.get("CC-Member-CID-Number") == "+12125551234"  # sent as %2B12125551234
    assert event.get("Event-Date-Local") == "2026-11-20 10:02:00"
    assert event.get("variable_note") == "100% sure: a+b=c & d"
    assert b"%2B12125551234" in got.body and b"Zo%C3%AB" in got.body


def test_a_bare_plus_stays_a_plus() -> None:
    body = b"Event-Name: CHANNEL_CREATE\nCaller-Caller-ID-Number: +4930123\n\n"
    (got,) = EslParser().feed(frame({"Content-Type": "text/event-plain"}, body))
    assert parse_event(got).get("Caller-Caller-ID-Number") == "+4930123"


def test_event_with_its_own_content_length_body() -> None:
    raw = event_frame({"Event-Name": "MESSAGE"}, body=f"hello {NAME}\n\nbye")
    (got,) = EslParser().feed(raw)
    event = parse_event(got)
    assert event.body == f"hello {NAME}\n\nbye"
    assert "Content-Length" not in event.headers


def test_crlf_line_endings_are_accepted() -> None:
    raw = b"Content-Type: command/reply\r\nReply-Text: -ERR invalid\r\n\r\n"
    (got,) = EslParser().feed(raw)
    assert got.reply_text == "-ERR invalid" and not got.ok


GOOD = frame({"Content-Type": "command/reply", "Reply-Text": "+OK"})
MALFORMED = [
    pytest.param(b"Content-Type: command/reply\nthis line has no colon\n\n", id="no-colon"),
    pytest.param(b"Content-Type: api/response\nContent-Length: 12x\n\n", id="bad-length"),
    pytest.param(b"Reply-Text: +OK\n\n", id="no-content-type"),
    pytest.param(b": value without a key\n\n", id="empty-key"),
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_frame_is_counted_and_the_next_one_parses(bad: bytes) -> None:
    stream = bad + GOOD
    for cut in range(0, len(stream) + 1):
        frames, rejected = _parse_in([stream[:cut], stream[cut:]])
        assert rejected == 1, f"split at byte {cut}"
        assert [f.reply_text for f in frames] == ["+OK"]


def test_runaway_header_block_is_dropped() -> None:
    parser = EslParser(max_header_bytes=64)
    frames = parser.feed(b"X-Garbage: " + b"a" * 200)
    frames += parser.feed(b"\n\n" + GOOD)
    assert parser.rejected == 1
    assert [f.reply_text for f in frames] == ["+OK"]


def test_oversized_content_length_is_rejected() -> None:
    parser = EslParser(max_body_bytes=10)
    frames = parser.feed(b"Content-Type: api/response\nContent-Length: 11\n\n" + GOOD)
    assert parser.rejected == 1 and [f.reply_text for f in frames] == ["+OK"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"Event-Subclass: x\n\n", id="no-event-name"),
        pytest.param(b"Event-Name: X\nbroken\n\n", id="no-colon"),
        pytest.param(b"Event-Name: X\nContent-Length: 50\n\nshort", id="short-body"),
    ],
)
def test_malformed_event_body_raises(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_event(Frame({"Content-Type": "text/event-plain"}, body))


def test_api_response_reply_text_and_ok() -> None:
    ok = Frame({"Content-Type": "api/response"}, b"+OK Job-UUID: 1\n")
    err = Frame({"Content-Type": "api/response"}, b"-ERR no such command\n")
    usage = Frame({"Content-Type": "api/response"}, b"-USAGE: originate <url>\n")
    assert ok.ok and not err.ok and not usage.ok
    assert err.reply_text == "-ERR no such command"


def test_command_serialization() -> None:
    assert command("auth ClueCon") == b"auth ClueCon\n\n"
    assert command("sendmsg", {"call-command": "hangup"}) == b"sendmsg\ncall-command: hangup\n\n"
    for bad in ("auth x\nevent plain ALL", "", "api status\r"):
        with pytest.raises(ProtocolError):
            command(bad)


def test_subscribe_command_puts_custom_subclasses_last() -> None:
    line = subscribe_command(["CHANNEL_CREATE", "CHANNEL_ANSWER"], ["callcenter::info"])
    assert line == "event plain CHANNEL_CREATE CHANNEL_ANSWER CUSTOM callcenter::info"


def test_tables_and_queue_names() -> None:
    assert parse_table(MEMBERS)[0]["serving_agent"] == "1001@default"
    assert parse_table("-ERR callcenter_config Command not found!\n") == []
    assert parse_table("+OK\n") == []
    listing = "name|strategy\nsupport@default|ring-all\nsales@default|longest-idle-agent\n+OK\n"
    assert parse_queue_names(listing) == ["support@default", "sales@default"]


def test_channel_rows() -> None:
    assert channel_rows('{"row_count":0}') == {}
    body = json.dumps({"row_count": 1, "rows": [{"uuid": "u1", "callstate": "RINGING"}]})
    assert channel_rows(body) == {"u1": {"uuid": "u1", "callstate": "RINGING"}}
    assert channel_rows("-ERR no reply\n") is None
    assert channel_rows("[]") is None
