"""Cutting a PBX's raw byte stream into its frames, byte for byte, for `screenpop capture`.

The parsers (:mod:`screenpop.telephony.asterisk.protocol`,
:mod:`screenpop.telephony.freeswitch.protocol`) decode frames; a capture must keep the exact bytes
of each one, so these framers only ask the shared framer (:mod:`screenpop.telephony.framing`)
where a frame ends and hand back the bytes up to there, untouched (leading blank lines
included). Sans-I/O: feed what was read, get the frames now complete; :meth:`rest` is what is
left when the connection closes.
"""

from __future__ import annotations

from typing import Protocol

from screenpop.telephony.asterisk.protocol import BANNER_PREFIX, block_span
from screenpop.telephony.framing import (
    AMI_BLANK_LINES,
    ESL_BLANK_LINES,
    BlockBuffer,
    declared_length,
)

MAX_FRAME_BYTES = 16 * 1024 * 1024  # beyond this a frame is garbage: it is cut where it stands


class Framer(Protocol):
    def feed(self, data: bytes) -> list[bytes]: ...

    def rest(self) -> bytes: ...


class _Cutter:
    """What both framers share: the buffer, the feed loop, the cut of a runaway frame."""

    def __init__(self, blocks: BlockBuffer) -> None:
        self._blocks = blocks

    def feed(self, data: bytes) -> list[bytes]:
        self._blocks.add(data)
        frames: list[bytes] = []
        while (frame := self._next()) is not None:
            frames.append(frame)
        return frames

    def _next(self) -> bytes | None:
        raise NotImplementedError

    def _oversized(self) -> bytes | None:
        blocks = self._blocks
        return blocks.take(len(blocks)) if len(blocks) > MAX_FRAME_BYTES else None

    def rest(self) -> bytes:
        return self._blocks.take(len(self._blocks))


class AmiFramer(_Cutter):
    """AMI: the banner line, then blocks ended by a blank line (`Response: Follows` command
    output up to `--END COMMAND--` and the blank line after it)."""

    def __init__(self) -> None:
        super().__init__(BlockBuffer(AMI_BLANK_LINES))
        self._want_banner = True

    def feed(self, data: bytes) -> list[bytes]:
        if not self._want_banner:
            return super().feed(data)
        self._blocks.add(data)
        frames: list[bytes] = []
        if not self._banner(frames):
            return frames
        return frames + super().feed(b"")

    def _banner(self, frames: list[bytes]) -> bool:
        """False while the banner line is incomplete."""
        buffer = self._blocks.data
        head = bytes(buffer[: len(BANNER_PREFIX)])
        if not BANNER_PREFIX.startswith(head):
            self._want_banner = False
            return True
        end = buffer.find(b"\n")
        if len(head) < len(BANNER_PREFIX) or end < 0:
            return False
        frames.append(self._blocks.take(end + 1))
        self._want_banner = False
        return True

    def _next(self) -> bytes | None:
        span = block_span(self._blocks, self._blocks.leading())  # leading newlines kept
        return self._oversized() if span is None else self._blocks.take(span[1])


class EslFramer(_Cutter):
    """Event socket: a header block ended by a blank line, then `Content-Length` bytes of body."""

    def __init__(self) -> None:
        super().__init__(BlockBuffer(ESL_BLANK_LINES))

    def _next(self) -> bytes | None:
        blocks = self._blocks
        start = blocks.leading()
        end = blocks.block_end(start)
        if end is None:
            return self._oversized()
        head_end, body_start = end
        length = min(declared_length(blocks.data[start:head_end]), MAX_FRAME_BYTES)
        total = body_start + length
        if len(blocks) < total:
            return None
        return blocks.take(total)
