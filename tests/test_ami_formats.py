"""ami_formats: every shape AMI traffic is kept in becomes the stream Asterisk sent."""

from __future__ import annotations

import json

from screenpop.telephony.asterisk.formats import ami_messages, ami_stream_from
from screenpop.telephony.recording import format_block
from tests.fakes.ami_transcript import FIXTURES, transcript_bytes

NEWCHANNEL = b"Event: Newchannel\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n"


def test_block_capture_gives_the_pbx_side() -> None:
    raw = (FIXTURES / "a_answered.txt").read_bytes()
    assert ami_stream_from(raw) == transcript_bytes("a_answered.txt")
    sized = format_block(0.1, 1.0, "x", "recv", NEWCHANNEL) + format_block(
        0.2, 1.1, "x", "sent", b"Action: Ping\r\nActionID: 1\r\n\r\n"
    )
    assert ami_stream_from(sized) == NEWCHANNEL


def test_raw_stream_as_it_is_after_comment_lines() -> None:
    banner = b"Asterisk Call Manager/11.0.0\r\n" + NEWCHANNEL
    assert ami_stream_from(banner) == banner
    assert ami_stream_from(b"# pasted from an issue\n\n" + NEWCHANNEL) == NEWCHANNEL
    assert ami_stream_from(b"event: Hangup\nuniqueid: 1\n\n") == b"event: Hangup\nuniqueid: 1\n\n"


def test_json_list_event_first_content_dropped_order_kept() -> None:
    data = [{"Channel": "SIP/1-1", "Event": "Hangup", "Uniqueid": "1.1", "content": ""}]
    stream = ami_stream_from(json.dumps(data).encode())
    assert stream == b"Event: Hangup\r\nChannel: SIP/1-1\r\nUniqueid: 1.1\r\n\r\n"
    (msg,) = ami_messages(stream)
    assert msg.event == "Hangup" and "content" not in msg


def test_console_log_first_copy_per_sequence_number() -> None:
    block = b"<-- Examining AMI event: -->\nEvent: Newchannel\nSequenceNumber: 7\nUniqueid: 1\n\n"
    other = b"<-- Examining AMI event: -->\nEvent: Hangup\nSequenceNumber: 8\nUniqueid: 1\n\n"
    log = b"  == Manager 'x' logged on\n" + block + b"    -- Executing [s@in:1]\n" + block + other
    stream = ami_stream_from(log)
    assert stream is not None
    assert [m.event for m in ami_messages(stream)] == ["Newchannel", "Hangup"]
    crlf = ami_stream_from(log.replace(b"\n", b"\r\n"))
    assert crlf is not None and [m.event for m in ami_messages(crlf)] == ["Newchannel", "Hangup"]


def test_anything_else_is_none() -> None:
    for content in (b"", b"hello world\n", b"[1, 2]", b'[{"no": "event"}]', b"{}", b"[oops"):
        assert ami_stream_from(content) is None, content
