"""The one framer under the AMI and ESL parsers and `screenpop capture`: where blocks end."""

from __future__ import annotations

import pytest

from screenpop.telephony.framing import (
    AMI_BLANK_LINES,
    ESL_BLANK_LINES,
    BlockBuffer,
    declared_length,
    find_blank_line,
)


@pytest.mark.parametrize(
    ("data", "blank_lines", "expected"),
    [
        (b"Event: A\r\n\r\nEvent: B", AMI_BLANK_LINES, (9, 12)),
        (b"Event: A\n\nEvent: B", AMI_BLANK_LINES, (8, 10)),
        (b"Event: A\r\n", AMI_BLANK_LINES, None),
        (b"Content-Type: x\n\nbody", ESL_BLANK_LINES, (15, 17)),
        (b"Content-Type: x\r\n\r\nbody", ESL_BLANK_LINES, (15, 19)),
        (b"Content-Type: x\n\r\n", ESL_BLANK_LINES, None),
    ],
)
def test_the_first_blank_line_ends_a_block(
    data: bytes, blank_lines: tuple[bytes, ...], expected: tuple[int, int] | None
) -> None:
    assert find_blank_line(data, blank_lines) == expected


def test_blocks_are_taken_whole_with_separators_between_them_dropped() -> None:
    blocks = BlockBuffer(AMI_BLANK_LINES)
    blocks.add(b"\r\n\r\nEvent: A\r\n")
    blocks.drop_leading()
    assert blocks.block_end() is None
    blocks.add(b"\r\nEvent: B\r\n\r\n")
    end = blocks.block_end()
    assert end is not None
    assert blocks.take(end[1]) == b"Event: A\r\n\r\n"
    assert len(blocks) == len(b"Event: B\r\n\r\n")


@pytest.mark.parametrize(
    ("tail", "kept"),
    [(b"garbage\n", 1), (b"garbage\n\r", 2), (b"garbage", 0)],
)
def test_skipping_a_runaway_block_keeps_a_blank_line_cut_across_reads(
    tail: bytes, kept: int
) -> None:
    blocks = BlockBuffer(AMI_BLANK_LINES)
    blocks.add(tail)
    assert blocks.skip_past_blank_line() is False
    assert len(blocks) == kept
    blocks.add(b"\nEvent: next\r\n\r\n")
    assert blocks.skip_past_blank_line() is True
    assert bytes(blocks.data) == (b"Event: next\r\n\r\n" if kept else b"")


def test_declared_length() -> None:
    assert declared_length(b"Content-Type: api/response\nContent-Length: 12") == 12
    assert declared_length(b"content-length:\t7 \nContent-Type: x") == 7
    assert declared_length(b"Content-Type: x") == 0
    assert declared_length(b"Content-Length: twelve") == 0
