"""Cutting a PBX's raw byte stream into its frames, byte for byte, for `screenpop capture`.

The parsers (:mod:`screenpop.telephony.asterisk.protocol`,
:mod:`screenpop.telephony.freeswitch.protocol`)
decode frames; a capture must keep the exact bytes of each one, so these framers only find where
a frame ends and hand back the bytes up to there, untouched (leading blank lines included).
Sans-I/O: feed what was read, get the frames now complete; :meth:`rest` is what is left when
the connection closes.
"""

from __future__ import annotations

import re
from typing import Protocol

from screenpop.telephony.asterisk.protocol import BANNER_PREFIX, END_COMMAND

_AMI_END = re.compile(rb"\r?\n\r?\n")
_FOLLOWS = re.compile(rb"^[\r\n]*Response:[ \t]*Follows\r?\n", re.IGNORECASE)
_CONTENT_LENGTH = re.compile(rb"^Content-Length:[ \t]*([0-9]+)[ \t]*$", re.IGNORECASE | re.M)
MAX_FRAME_BYTES = 16 * 1024 * 1024  # beyond this a frame is garbage: it is cut where it stands


class Framer(Protocol):
    def feed(self, data: bytes) -> list[bytes]: ...

    def rest(self) -> bytes: ...


class AmiFramer:
    """AMI: the banner line, then blocks ended by a blank line (`Response: Follows` command
    output up to `--END COMMAND--` and the blank line after it)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._want_banner = True

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        if self._want_banner and not self._banner(frames):
            return frames
        while (frame := self._next()) is not None:
            frames.append(frame)
        return frames

    def _banner(self, frames: list[bytes]) -> bool:
        """False while the banner line is incomplete."""
        head = bytes(self._buffer[: len(BANNER_PREFIX)])
        if not BANNER_PREFIX.startswith(head):
            self._want_banner = False
            return True
        end = self._buffer.find(b"\n")
        if len(head) < len(BANNER_PREFIX) or end < 0:
            return False
        frames.append(self._take(end + 1))
        self._want_banner = False
        return True

    def _next(self) -> bytes | None:
        start = len(self._buffer) - len(self._buffer.lstrip(b"\r\n"))  # kept with the frame
        if _FOLLOWS.match(self._buffer):
            start = self._buffer.find(END_COMMAND)
            if start < 0:
                return self._oversized()
        found = _AMI_END.search(self._buffer, start)
        if found is None:
            return self._oversized()
        return self._take(found.end())

    def _oversized(self) -> bytes | None:
        return self._take(len(self._buffer)) if len(self._buffer) > MAX_FRAME_BYTES else None

    def _take(self, end: int) -> bytes:
        frame = bytes(self._buffer[:end])
        del self._buffer[:end]
        return frame

    def rest(self) -> bytes:
        return self._take(len(self._buffer))


class EslFramer:
    """Event socket: a header block ended by a blank line, then `Content-Length` bytes of body."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        while (frame := self._next()) is not None:
            frames.append(frame)
        return frames

    def _next(self) -> bytes | None:
        start = len(self._buffer) - len(self._buffer.lstrip(b"\r\n"))
        end = self._buffer.find(b"\n\n", start)
        if end < 0:
            return self._take(len(self._buffer)) if len(self._buffer) > MAX_FRAME_BYTES else None
        found = _CONTENT_LENGTH.search(self._buffer, start, end)
        length = min(int(found.group(1)), MAX_FRAME_BYTES) if found else 0
        total = end + 2 + length
        if len(self._buffer) < total:
            return None
        return self._take(total)

    def _take(self, end: int) -> bytes:
        frame = bytes(self._buffer[:end])
        del self._buffer[:end]
        return frame

    def rest(self) -> bytes:
        return self._take(len(self._buffer))
