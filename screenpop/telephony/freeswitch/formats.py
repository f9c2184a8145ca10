"""FreeSWITCH event data as people have it, turned back into what mod_event_socket sends.

:func:`esl_stream_from` sniffs one file's content and returns the byte stream an ESL client
would have read, ready for :class:`~screenpop.telephony.freeswitch.protocol.EslParser`:

* a capture in the block format (:mod:`screenpop.telephony.recording`): the `recv` blocks;
* a raw ESL stream (`Content-Type: ...` / `Content-Length: ...` frames): as it is;
* bare `text/event-plain` bodies (URL-encoded `Event-Name: ...` header blocks, as logged or
  pasted into tests): each framed with `Content-Length` / `Content-Type: text/event-plain` as
  mod_event_socket writes it;
* decoded event blocks (`Header: value` lines as the documentation, `fs_cli` or a log print
  them, values not URL-encoded; `#` lines are comments, trailing spaces are dropped): each block
  with an `Event-Name` re-encoded as event-plain;
* decoded event dumps (Node's `util.inspect` of a modesl event: `{ 'Event-Name': 'X', ... }`):
  the single-line entries re-encoded as event-plain (multi-line values such as SDP are skipped).

Anything else gives None. Free of I/O: `screenpop replay` and the tests read the file.
"""

from __future__ import annotations

import re

from screenpop.errors import ProtocolError
from screenpop.telephony.freeswitch.protocol import event_frame
from screenpop.telephony.recording import is_capture, read_blocks, received

_FRAME_START = re.compile(rb"^(Content-Type|Content-Length):", re.IGNORECASE)
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
_HEADER_LINE = re.compile(r"^[A-Za-z0-9_][^:\s]*: ?.*$")
_DUMP_ENTRY = re.compile(r"^\s*(?:'(?P<quoted>[^']+)'|(?P<bare>[A-Za-z0-9_$-]+)): '(?P<v>.*)',?$")
_JS_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)")
_JS_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "b": "\b", "f": "\f", "v": "\v"}


def esl_stream_from(content: bytes) -> bytes | None:
    """The mod_event_socket byte stream `content` stands for, or None if it is no ESL data."""
    if is_capture(content):
        stream = received(read_blocks(content))
        return stream or None
    text = content.lstrip(b"\r\n\t ")
    if _FRAME_START.match(text):
        return text
    if text.startswith(b"{"):
        return _from_dump(text.decode("utf-8", errors="replace"))
    return _from_plain_bodies(text)


def _from_plain_bodies(text: bytes) -> bytes | None:
    """Frame each header block that has an `Event-Name` (URL-encoded as is, decoded re-encoded)."""
    out: list[bytes] = []
    normalized = text.replace(b"\r\n", b"\n")
    for block in re.split(rb"\n[ \t]*\n", normalized):
        lines = [
            line
            for line in block.decode("utf-8", "replace").split("\n")
            if line.strip() and not line.startswith("#")
        ]
        if not lines:
            continue
        if not all(_HEADER_LINE.match(line) for line in lines):
            return None
        if not any(line.startswith("Event-Name:") for line in lines):
            continue
        out += _block_frame(lines)
    return b"".join(out) or None


def _block_frame(lines: list[str]) -> list[bytes]:
    """One frame for one header block: a body with %XX escapes and no bare spaces in values is
    already what FreeSWITCH writes; anything else is decoded text and is encoded first."""
    values = [line.partition(":")[2].strip() for line in lines]
    if any(_ENCODED.search(v) for v in values) or not any(" " in v for v in values):
        return [_plain_frame(("\n".join(lines) + "\n\n").encode("utf-8"))]
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return _dump_frame(headers)


def _plain_frame(body: bytes) -> bytes:
    head = f"Content-Length: {len(body)}\nContent-Type: text/event-plain\n\n"
    return head.encode("ascii") + body


def _from_dump(text: str) -> bytes | None:
    """Re-encode every `{ ... }` dump in `text` as one event-plain frame each."""
    out: list[bytes] = []
    headers: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("}"):
            out += _dump_frame(headers)
            headers = {}
            continue
        match = _DUMP_ENTRY.match(line)
        if match is None:
            continue  # `{`, or part of a multi-line value (`'v=0\r\n' +`): skipped
        key = match["quoted"] or match["bare"]
        headers[key] = _js_unescape(match["v"])
    out += _dump_frame(headers)
    return b"".join(out) or None


def _dump_frame(headers: dict[str, str]) -> list[bytes]:
    if "Event-Name" not in headers:
        return []
    try:
        return [event_frame(headers)]
    except ProtocolError:
        return []


def _js_unescape(value: str) -> str:
    """The text of a JavaScript single-quoted string literal's inside."""

    def one(match: re.Match[str]) -> str:
        esc = match.group(1)
        if esc[0] in "xu" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        return _JS_SIMPLE.get(esc, esc)

    return _JS_ESCAPE.sub(one, value)
