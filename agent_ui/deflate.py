"""Compressing a frame once for every tab that gets it (permessage-deflate, RFC 7692).

A board snapshot goes to every supervisor of a role with the same body; only its ``"seq"``,
added last, differs per agent. Compressing the whole frame for each tab (what aiohttp's
``send_frame`` does) costs one deflate of a 100 KB board per supervisor tab, several times a
second. Here the body without its closing brace is deflated once, ended by a sync flush (so the
output stops on a byte boundary and refers to nothing after it), and each tab's frame is those
bytes followed by the seq tail in a stored (uncompressed) deflate block. Any permessage-deflate
inflater reads that as the one message, with or without the context it keeps between messages:
nothing here refers back to an earlier one.

The frame is written through aiohttp's frame writer with RSV1 set (a compressed message), the
one place this leans on aiohttp's private API; :data:`AVAILABLE` is False (and the tab falls back
to ``send_frame``) if that writer changes shape.
"""

from __future__ import annotations

import struct
import zlib
from collections import OrderedDict

from aiohttp import WSMsgType, web
from aiohttp._websocket.writer import WebSocketWriter

from screenpop.delivery.wire import Frame, seq_tail

SHARED_MIN_BYTES = 512  # smaller frames go through aiohttp's own compression
MIN_WBITS = 9  # zlib's smallest raw window; a peer asking for 8 gets aiohttp's path
KEPT = 16  # bodies whose deflated form is kept (the boards of a flush, a few large cards)
RSV1 = 0x40  # the frame header bit saying "compressed" (RFC 7692, 6)
AVAILABLE = hasattr(WebSocketWriter, "_write_websocket_frame")  # the private writer it calls


def deflate_body(body: bytes, wbits: int) -> bytes:
    """`body` without its closing brace, raw-deflated and sync-flushed (byte aligned)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, -wbits)
    return packer.compress(memoryview(body)[:-1]) + packer.flush(zlib.Z_SYNC_FLUSH)


def stored_tail(tail: bytes) -> bytes:
    """`tail` as a stored deflate block, then the header byte of the empty stored block whose
    ``00 00 ff ff`` the sender leaves out and the receiver adds back (RFC 7692, 7.2.1-2)."""
    return b"\x00" + struct.pack("<HH", len(tail), len(tail) ^ 0xFFFF) + tail + b"\x00"


class SharedDeflate:
    """The deflated bodies of the latest large frames, by body and window size."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._bodies: OrderedDict[tuple[int, int], tuple[bytes, bytes]] = OrderedDict()
        self.deflated = 0  # bodies deflated (once each, however many tabs got them)

    def payload(self, frame: Frame, wbits: int) -> bytes:
        """The compressed payload of `frame` for a peer with a window of `wbits`."""
        key = (id(frame.body), wbits)
        entry = self._bodies.get(key)
        if entry is not None and entry[0] is frame.body:
            self._bodies.move_to_end(key)
            deflated = entry[1]
        else:
            deflated = deflate_body(frame.body, wbits)
            self.deflated += 1
            self._bodies[key] = (frame.body, deflated)
            while len(self._bodies) > self._kept:
                self._bodies.popitem(last=False)
        return deflated + stored_tail(seq_tail(frame.body, frame.seq))


def shares(ws: web.WebSocketResponse, frame: Frame) -> int:
    """The peer's window bits when `frame` should go compressed by :class:`SharedDeflate`;
    0 when aiohttp's own ``send_frame`` should send it."""
    wbits = int(ws.compress)
    return wbits if AVAILABLE and wbits >= MIN_WBITS and frame.size >= SHARED_MIN_BYTES else 0


async def send_deflated(ws: web.WebSocketResponse, payload: bytes) -> None:
    """Write one compressed text frame whose payload is ready, with aiohttp's flow control."""
    writer = ws._writer  # aiohttp's private frame writer: see above
    if writer is None or ws.closed:
        raise ConnectionResetError("the websocket is closed")
    writer._write_websocket_frame(payload, WSMsgType.TEXT, RSV1)
    if writer._output_size > writer._limit:  # as send_frame does after a frame
        writer._output_size = 0
        if writer.protocol._paused:
            await writer.protocol._drain_helper()
