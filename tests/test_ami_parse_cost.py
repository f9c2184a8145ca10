"""Parsing costs work in proportion to the bytes read, whatever a read holds.

A daemon that falls behind reads a backlog of hundreds of events at once; if each event found
in that read rescans the rest of the buffer, every event gets dearer just when it is behind.
These tests count the bytes the framers look at (every `find` over the receive buffer) instead
of timing anything: a read of 400 events, or one large message arriving a few bytes per read,
is looked at no more than a small constant number of times per byte.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, SupportsIndex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screenpop.capture_framing import AmiFramer, EslFramer
from screenpop.telephony.asterisk.protocol import AmiParser, Message, encode_message
from screenpop.telephony.framing import (
    AMI_BLANK_LINES,
    ESL_BLANK_LINES,
    BlockBuffer,
    find_blank_line,
)
from screenpop.telephony.freeswitch.protocol import EslParser
from tests.fakes.esl_server import event_frame

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
PER_BYTE = 4  # each blank-line form is looked for once per byte, plus slack


class CountingBuffer(bytearray):
    """A receive buffer that counts how many bytes its `find` calls scan."""

    scanned = 0

    def find(
        self,
        sub: ReadableBuffer | SupportsIndex,
        start: SupportsIndex | None = None,
        end: SupportsIndex | None = None,
        /,
    ) -> int:
        lo = 0 if start is None else int(start)
        hi = len(self) if end is None else min(int(end), len(self))
        at = super().find(sub, lo, hi)
        width = len(sub) if isinstance(sub, bytes | bytearray) else 1
        self.scanned += max(0, (hi if at == -1 else at + width) - lo)
        return at


class _HasBlocks(Protocol):
    _blocks: BlockBuffer


def counting(owner: _HasBlocks) -> CountingBuffer:
    """Swap the receive buffer of a parser or framer for a counting one (before any feed)."""
    buffer = CountingBuffer()
    owner._blocks.data = buffer
    return buffer


def newchannel(i: int, newline: str = "\r\n") -> bytes:
    wire = encode_message(
        [
            ("Event", "Newchannel"),
            ("Privilege", "call,all"),
            ("Channel", f"PJSIP/alice-{i:08x}"),
            ("ChannelState", "4"),
            ("ChannelStateDesc", "Ring"),
            ("CallerIDNum", "+12125551234"),
            ("CallerIDName", "Zoë Ångström"),
            ("ConnectedLineNum", "<unknown>"),
            ("Context", "from-external"),
            ("Exten", "100"),
            ("Uniqueid", f"1700000000.{i}"),
            ("Linkedid", f"1700000000.{i}"),
        ]
    )
    return wire.replace(b"\r\n", newline.encode())


@pytest.mark.parametrize("newline", ["\r\n", "\n"], ids=["crlf", "lf"])
def test_a_read_of_400_ami_events_scans_each_byte_a_bounded_number_of_times(
    newline: str,
) -> None:
    parser = AmiParser()
    buffer = counting(parser)
    chunk = BANNER + b"".join(newchannel(i, newline) for i in range(400))
    items = parser.feed(chunk)
    messages = [item for item in items if isinstance(item, Message)]
    assert [m.get("Uniqueid") for m in messages] == [f"1700000000.{i}" for i in range(400)]
    assert messages[7].get("CallerIDName") == "Zoë Ångström"
    assert buffer.scanned <= PER_BYTE * len(chunk)


def test_the_work_per_ami_event_does_not_grow_with_the_events_in_a_read() -> None:
    per_event = []
    for n in (10, 100, 400):
        parser = AmiParser()
        buffer = counting(parser)
        assert len(parser.feed(b"".join(newchannel(i) for i in range(n)))) == n
        per_event.append(buffer.scanned / n)
    assert max(per_event) <= 1.1 * min(per_event)


def test_a_large_ami_message_arriving_a_few_bytes_per_read_is_scanned_once() -> None:
    variables = [("ChanVariable", f"var{i}=value{i}") for i in range(300)]
    wire = encode_message([("Event", "VarSet"), ("Channel", "PJSIP/a-1"), *variables])
    follows = (
        b"Response: Follows\r\nActionID: cmd-1\r\n"
        + b"".join(b"channel %d is up\n" % i for i in range(300))
        + b"--END COMMAND--\r\n\r\n"
    )
    stream = BANNER + wire + follows
    parser = AmiParser()
    buffer = counting(parser)
    items = []
    for at in range(0, len(stream), 5):
        items += parser.feed(stream[at : at + 5])
    event, response = items[1], items[2]
    assert isinstance(event, Message) and isinstance(response, Message)
    assert len(event.get_all("ChanVariable")) == 300
    assert response.output[-1] == "channel 299 is up"
    assert buffer.scanned <= 3 * PER_BYTE * len(stream)


def test_a_read_of_400_esl_events_scans_each_byte_a_bounded_number_of_times() -> None:
    parser = EslParser()
    buffer = counting(parser)
    chunk = b"".join(
        event_frame({"Event-Name": "CHANNEL_CREATE", "Unique-ID": f"uuid-{i}"}) for i in range(400)
    )
    frames = parser.feed(chunk)
    assert len(frames) == 400
    assert buffer.scanned <= PER_BYTE * len(chunk)


@pytest.mark.parametrize("kind", ["ami", "esl"])
def test_capture_framers_cut_a_read_of_400_frames_in_linear_work(kind: str) -> None:
    framer: AmiFramer | EslFramer
    if kind == "ami":
        framer = AmiFramer()
        chunk = BANNER + b"".join(newchannel(i) for i in range(400))
        expected = 401
    else:
        framer = EslFramer()
        chunk = b"".join(event_frame({"Event-Name": "HEARTBEAT", "N": str(i)}) for i in range(400))
        expected = 400
    buffer = counting(framer)
    frames = framer.feed(chunk)
    assert len(frames) == expected
    assert b"".join(frames) == chunk
    assert buffer.scanned <= PER_BYTE * len(chunk)


@pytest.mark.parametrize("blank_lines", [AMI_BLANK_LINES, ESL_BLANK_LINES], ids=["ami", "esl"])
def test_a_block_buffer_remembers_how_far_it_has_looked(blank_lines: tuple[bytes, ...]) -> None:
    blocks = BlockBuffer(blank_lines)
    buffer = CountingBuffer()
    blocks.data = buffer
    body = b"Key: value\n" * 2000
    for at in range(0, len(body), 3):
        blocks.add(body[at : at + 3])
        assert blocks.block_end() is None
    blocks.add(b"\n")
    assert blocks.block_end() == (len(body) - 1, len(body) + 1)
    assert buffer.scanned <= PER_BYTE * len(body)


# pieces of streams where both blank-line forms, stray separators and half blank lines abound
_PIECE = st.sampled_from([b"\r", b"\n", b"\r\n", b"\n\r\n", b"\n\n", b"Key: v", b"x", b"\x00"])
_STEPS = st.lists(
    st.tuples(st.lists(_PIECE, max_size=6).map(b"".join), st.integers(0, 3)), max_size=40
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([AMI_BLANK_LINES, ESL_BLANK_LINES]), _STEPS)
def test_a_remembering_block_buffer_finds_what_a_fresh_search_finds(
    blank_lines: tuple[bytes, ...], steps: list[tuple[bytes, int]]
) -> None:
    blocks = BlockBuffer(blank_lines, between=b"\r\n\x00")
    for data, action in steps:
        blocks.add(data)
        start = blocks.leading() if action == 1 else 0
        end = blocks.block_end(start)
        assert end == find_blank_line(bytes(blocks.data), blank_lines, start)
        if action == 2:
            blocks.drop_leading()
        elif action == 3 and end is not None:
            blocks.take(end[1])
        elif action == 0 and not blocks.skip_past_blank_line():
            assert blocks.block_end() is None
