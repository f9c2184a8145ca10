"""The shapes AMI traffic is kept in, turned back into the byte stream Asterisk sends. No I/O.

:func:`ami_stream_from` sniffs one file's content and converts it:

* a capture in the block format (:mod:`screenpop.telephony.recording`, what `screenpop capture`
  writes): the PBX's side of it;
* a raw AMI stream (the banner `Asterisk Call Manager/...`, or `Event:`/`Response:`/`Action:`
  lines first; leading blank and `#` comment lines are dropped): as it is;
* a JSON list of AMI message objects (as panoramisk-based tools such as cacofonisk store them):
  each re-serialized with `Event` (or `Response`) first and the other keys in stored order, the
  empty `content` key panoramisk adds dropped;
* an Asterisk console log with `manager debug on`: the message after each
  `<-- Examining AMI event: -->` line, the first copy per `SequenceNumber` (a log holds one copy
  per logged-in manager session), joined as one session's stream.

It returns None when the content is none of these. :func:`ami_messages` parses a stream.
"""

from __future__ import annotations

import json
import re
from typing import Any

from screenpop.errors import ProtocolError
from screenpop.telephony.asterisk.protocol import AmiParser, Message, encode_message
from screenpop.telephony.recording import is_capture, read_blocks, received

CONSOLE_MARKER = b"<-- Examining AMI event: -->"
_FIRST_KEYS = ("event", "response", "action")
_RAW_START = re.compile(rb"^(Asterisk Call Manager/|(Event|Response|Action):)", re.IGNORECASE)
_SEQUENCE = re.compile(rb"^SequenceNumber:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
_BLOCK_END = re.compile(rb"\r?\n[ \t]*\r?\n")


def ami_stream_from(content: bytes) -> bytes | None:
    """The AMI byte stream `content` holds (see the module doc), or None if it holds none."""
    if is_capture(content):
        return received(read_blocks(content))
    if CONSOLE_MARKER in content:
        return _from_console_log(content)
    stripped = content.lstrip()
    if stripped.startswith(b"["):
        return _from_json(content)
    body = _drop_comment_lines(content)
    if _RAW_START.match(body):
        return body
    return None


def ami_messages(stream: bytes) -> list[Message]:
    """Every message in an AMI stream, in order (banner and malformed blocks left out)."""
    return [m for m in AmiParser().feed(stream) if isinstance(m, Message)]


def _drop_comment_lines(content: bytes) -> bytes:
    """`content` without its leading blank and `#` lines."""
    pos = 0
    while pos < len(content):
        end = content.find(b"\n", pos)
        end = len(content) if end < 0 else end + 1
        line = content[pos:end].strip()
        if line and not line.startswith(b"#"):
            break
        pos = end
    return content[pos:]


def _from_json(content: bytes) -> bytes | None:
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        return None
    out: list[bytes] = []
    for item in data:
        encoded = _encode_dict(item)
        if encoded is None:
            return None
        out.append(encoded)
    return b"".join(out)


def _encode_dict(item: dict[str, Any]) -> bytes | None:
    """One stored message as wire bytes: its `Event`/`Response`/`Action` key first."""
    first = next((k for k in item if k.lower() in _FIRST_KEYS), None)
    if first is None:
        return None
    pairs: list[tuple[str, str]] = [(first, str(item[first]))]
    for key, value in item.items():
        if key == first or key == "content":
            continue
        values = value if isinstance(value, list) else [value]
        pairs.extend((key, str(v)) for v in values)
    try:
        return encode_message(pairs)
    except ProtocolError:
        return None


def _from_console_log(content: bytes) -> bytes:
    seen: set[bytes] = set()
    out: list[bytes] = []
    for chunk in content.split(CONSOLE_MARKER)[1:]:
        block = _console_block(chunk)
        if block is None:
            continue
        sequence = _SEQUENCE.search(block)
        if sequence is not None:
            if sequence.group(1) in seen:
                continue
            seen.add(sequence.group(1))
        out.append(block)
    return b"".join(out)


def _console_block(chunk: bytes) -> bytes | None:
    """The message printed after one marker, up to its blank line, with its line ends kept."""
    body = chunk.lstrip(b" \t").removeprefix(b"\r\n").removeprefix(b"\n")
    end = _BLOCK_END.search(body)
    if end is None:
        return None  # the log stops inside the message
    text = body[: end.start()]
    newline = b"\r\n" if b"\r\n" in body[: end.end()] else b"\n"
    if not text.strip():
        return None
    return text + newline + newline
