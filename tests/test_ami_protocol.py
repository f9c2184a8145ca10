"""The AMI parser, byte by byte: real Asterisk 22 captures, every split, malformed input."""

from __future__ import annotations

import random

import pytest

from screenpop.errors import ProtocolError
from screenpop.telephony.asterisk.callstate import known, unescape_c
from screenpop.telephony.asterisk.protocol import AmiParser, Banner, Message, encode_action
from tests.fakes.ami_transcript import load_transcript, transcript_bytes

TRANSCRIPTS = ["a_answered.txt", "f_ringall_sales.txt"]


def _feed_all(parser: AmiParser, chunks: list[bytes]) -> list[Banner | Message]:
    out: list[Banner | Message] = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    return out


def _expected(name: str) -> list[tuple[bool, tuple[str, ...]]]:
    return [(p.banner, p.lines) for p in load_transcript(name)]


def _shape(items: list[Banner | Message]) -> list[tuple[bool, tuple[str, ...]]]:
    shaped: list[tuple[bool, tuple[str, ...]]] = []
    for item in items:
        if isinstance(item, Banner):
            shaped.append((True, (item.text,)))
        else:
            shaped.append((False, tuple(f"{k}: {v}" for k, v in item.fields)))
    return shaped


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_whole_transcript_in_one_read(name: str) -> None:
    parser = AmiParser()
    items = parser.feed(transcript_bytes(name))
    assert _shape(items) == _expected(name)
    assert parser.rejected == 0
    assert parser.buffered == 0
    banner = items[0]
    assert isinstance(banner, Banner) and banner.version == "11.0.0"


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_every_message_split_at_every_byte(name: str) -> None:
    packets = load_transcript(name)
    for packet in packets[:1] + [p for p in packets[1:] if not p.banner]:
        wire = packet.wire
        for cut in range(len(wire) + 1):
            parser = AmiParser()
            if not packet.banner:
                parser.feed(packets[0].wire)  # the banner first, as on a real connection
            items = _feed_all(parser, [wire[:cut], wire[cut:]])
            assert _shape(items) == [(packet.banner, packet.lines)], (cut, packet.lines[0])
            assert parser.rejected == 0


@pytest.mark.parametrize("name", TRANSCRIPTS)
@pytest.mark.parametrize("seed", range(8))
def test_random_chunkings(name: str, seed: int) -> None:
    data = transcript_bytes(name)
    rng = random.Random(seed)
    chunks, pos = [], 0
    while pos < len(data):
        size = rng.choice([1, 2, 3, 7, 64, 500, 4096])
        chunks.append(data[pos : pos + size])
        pos += size
    parser = AmiParser()
    assert _shape(_feed_all(parser, chunks)) == _expected(name)
    assert parser.rejected == 0


def test_one_byte_at_a_time() -> None:
    data = transcript_bytes("f_ringall_sales.txt")
    parser = AmiParser()
    items = _feed_all(parser, [data[i : i + 1] for i in range(len(data))])
    assert _shape(items) == _expected("f_ringall_sales.txt")


def test_utf8_name_split_mid_character() -> None:
    name = "Zoë Ñúñez 日本"
    wire = (
        "Event: Newchannel\r\nChannel: PJSIP/carrier-00000001\r\n"
        f"CallerIDName: {name}\r\nLinkedid: 1.1\r\n\r\n"
    ).encode()
    start = wire.index(name.encode())
    for offset in range(len(name.encode())):
        cut = start + offset
        parser = AmiParser()
        items = _feed_all(parser, [wire[:cut], wire[cut:]])
        assert len(items) == 1
        assert isinstance(items[0], Message) and items[0].get("CallerIDName") == name
        assert parser.rejected == 0


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    parser = AmiParser()
    items = parser.feed(b"Event: Newchannel\r\nCallerIDName: Bad \xff\xfe name\r\n\r\n")
    assert isinstance(items[0], Message)
    assert items[0].get("CallerIDName") == "Bad \ufffd\ufffd name"


def test_lf_only_line_endings_are_tolerated() -> None:
    parser = AmiParser()
    items = parser.feed(b"Asterisk Call Manager/5.0.1\nResponse: Success\nActionID: 1\n\n")
    assert isinstance(items[0], Banner) and items[0].version == "5.0.1"
    assert isinstance(items[1], Message) and items[1].response == "Success"
    assert items[1].action_id == "1"


@pytest.mark.parametrize(
    ("garbage", "reason"),
    [
        (b"Event: Newchannel\r\nthis line has no colon\r\n\r\n", "malformed"),
        (b"Channel: PJSIP/x\r\nUniqueid: 1.2\r\n\r\n", "without Event"),
        (b"Event: Big\r\nData: " + b"x" * (70 * 1024) + b"\r\n\r\n", "larger than"),
        (b"Event: Big\r\n" + b"Data: xxxxxxxxxx\r\n" * 5000 + b"\r\n", "larger than"),
    ],
)
def test_malformed_frames_are_rejected_counted_and_the_next_parses(
    garbage: bytes, reason: str
) -> None:
    good = b"Event: Hangup\r\nChannel: PJSIP/agent1-00000030\r\nCause-txt: Normal Clearing\r\n\r\n"
    for chunk_size in (len(garbage) + len(good), 1000, 7):
        data = b"Asterisk Call Manager/11.0.0\r\n" + garbage + good
        parser = AmiParser()
        chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
        items = _feed_all(parser, chunks)
        assert parser.rejected == 1, chunk_size
        assert reason in parser.last_error
        messages = [i for i in items if isinstance(i, Message)]
        assert [m.event for m in messages] == ["Hangup"]
        assert messages[0].get("Cause-txt") == "Normal Clearing"


def test_values_keep_unknown_and_empty_and_leading_spaces() -> None:
    parser = AmiParser()
    (msg,) = parser.feed(
        b"Event: VarSet\r\nConnectedLineNum: <unknown>\r\nAccountCode: \r\n"
        b"Value:   minrxlost=0;\r\n\r\n"
    )
    assert isinstance(msg, Message)
    assert msg.get("ConnectedLineNum") == "<unknown>"
    assert known(msg.get("ConnectedLineNum")) is None
    assert msg.get("AccountCode") == "" and "AccountCode" in msg
    assert msg.get("Value") == "  minrxlost=0;"
    assert msg.get("value") == msg.get("Value")  # keys are case-insensitive


def test_response_follows_command_output() -> None:
    wire = (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: cmd-1\r\n"
        b"Name/username             Host\r\n\r\n1001/1001    (Unspecified)\r\n"
        b"--END COMMAND--\r\n\r\nEvent: Ping\r\n\r\n"
    )
    for cut in range(len(wire) + 1):
        parser = AmiParser()
        items = _feed_all(parser, [wire[:cut], wire[cut:]])
        first, second = items
        assert isinstance(first, Message) and first.response == "Follows"
        assert first.action_id == "cmd-1"
        assert first.output == ("Name/username             Host", "", "1001/1001    (Unspecified)")
        assert isinstance(second, Message) and second.event == "Ping"


def test_command_output_as_asterisk_14_sends_it() -> None:
    (msg,) = AmiParser().feed(
        b"Response: Success\r\nActionID: c\r\nMessage: Command output follows\r\n"
        b"Output: line one\r\nOutput: line two\r\n\r\n"
    )
    assert isinstance(msg, Message) and msg.get_all("Output") == ["line one", "line two"]


def test_stream_without_banner_still_parses() -> None:
    items = AmiParser().feed(b"Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n")
    assert [type(i) for i in items] == [Message]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("Plain Name", "Plain Name"),
        ('O\\"Brien \\"Bob\\"', 'O"Brien "Bob"'),
        ("back\\\\slash", "back\\slash"),
        ("tab\\there", "tab\there"),
        ("it\\'s", "it's"),
        ("unknown \\q escape", "unknown \\q escape"),
        ("trailing\\", "trailing\\"),
    ],
)
def test_unescape_c(raw: str, text: str) -> None:
    assert unescape_c(raw) == text


def test_encode_action() -> None:
    wire = encode_action(
        "Originate",
        "originate-1",
        [("Channel", "PJSIP/1001"), ("Variable", "A=1"), ("Variable", "B=2")],
    )
    assert wire == (
        b"Action: Originate\r\nActionID: originate-1\r\nChannel: PJSIP/1001\r\n"
        b"Variable: A=1\r\nVariable: B=2\r\n\r\n"
    )
    (msg,) = AmiParser().feed(wire)
    assert isinstance(msg, Message) and msg.get_all("Variable") == ["A=1", "B=2"]


@pytest.mark.parametrize(
    "fields", [{"Secret": "a\r\nAction: Logoff"}, {"Exten": "1\n"}, {"Bad Key": "x"}]
)
def test_encode_action_refuses_injection(fields: dict[str, str]) -> None:
    with pytest.raises(ProtocolError):
        encode_action("Login", "1", fields)
