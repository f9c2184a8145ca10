"""The capture file format: a PBX link's raw stream as timestamped blocks, read and written.

One block per packet or frame, headed ``### t=+<seconds> mono=<monotonic> wall=<local time>``
and then:

* AMI style (what Asterisk captures look like): the header may end in ``BANNER``; the packet
  follows with CRLF turned into LF, then one blank line. Packets are restored to CRLF on reading.
* Sized style (FreeSWITCH captures, and anything whose frames hold blank lines): the header ends
  in ``<kind> len=<N>`` with `kind` one of ``recv`` (from the PBX), ``sent`` (from us) or
  ``closed``; exactly N bytes follow byte for byte, then a blank line.

A line ``### connection closed ...`` ends an AMI-style capture. Both styles may be mixed in one
file. The reader is forgiving about the end of the file (a last block cut short keeps what is
there) and strict about nothing else: a header it cannot read is skipped with its body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

BlockKind = Literal["recv", "sent", "closed"]

_HEADER = re.compile(
    rb"^### t=\+(?P<t>[0-9.]+)(?: mono=(?P<mono>[0-9.]+))?(?: wall=(?P<wall>\S+))?"
    rb"(?: (?P<banner>BANNER)| (?P<kind>recv|sent|closed) len=(?P<len>[0-9]+))?[ \t]*$"
)


@dataclass(frozen=True, slots=True)
class Block:
    """One captured packet. `data` is the exact bytes (CRLF restored for AMI-style blocks)."""

    t: float
    kind: BlockKind
    data: bytes
    wall: str = ""
    banner: bool = False


def read_blocks(content: bytes) -> list[Block]:
    """Every block of a capture file, in order."""
    blocks: list[Block] = []
    pos = 0
    size = len(content)
    while pos < size:
        end = content.find(b"\n", pos)
        end = size if end < 0 else end
        line = content[pos:end].rstrip(b"\r")
        pos = end + 1
        match = _HEADER.match(line)
        if match is None:
            if line.startswith(b"### connection closed"):
                blocks.append(Block(blocks[-1].t if blocks else 0.0, "closed", b""))
            continue
        t = float(match["t"])
        wall = (match["wall"] or b"").decode("ascii", "replace")
        if match["len"] is not None:
            length = int(match["len"])
            data = content[pos : pos + length]
            pos = min(size, pos + length)
            if content.startswith(b"\n", pos):
                pos += 1
            kind: BlockKind = match["kind"].decode("ascii")  # type: ignore[assignment]
            blocks.append(Block(t, kind, data, wall))
            continue
        body_end = _next_header(content, pos)
        lines = content[pos:body_end].split(b"\n")
        pos = body_end
        while lines and lines[-1].strip() == b"":
            lines.pop()
        if not lines:
            continue
        banner = match["banner"] is not None
        data = b"\r\n".join(lines) + (b"\r\n" if banner else b"\r\n\r\n")
        blocks.append(Block(t, "recv", data, wall, banner))
    return blocks


def _next_header(content: bytes, pos: int) -> int:
    """Where the next `### ` line starts (AMI packets never start a line with `###`)."""
    found = content.find(b"\n### ", pos - 1)  # pos - 1 is the newline that ended the header
    return len(content) if found < 0 else found + 1


def received(blocks: list[Block]) -> bytes:
    """What the PBX sent, as one byte string: the stream a parser would have read."""
    return b"".join(b.data for b in blocks if b.kind == "recv")


def is_capture(content: bytes) -> bool:
    """True when `content` starts (after blank lines) with a block header."""
    first = content.lstrip(b"\r\n").split(b"\n", 1)[0].rstrip(b"\r")
    return _HEADER.match(first) is not None


def format_block(t: float, mono: float, wall: str, kind: BlockKind, data: bytes) -> bytes:
    """One block in the sized style: exact bytes, safe for any protocol."""
    header = f"### t=+{t:.6f} mono={mono:.6f} wall={wall} {kind} len={len(data)}\n"
    return header.encode("ascii") + data + b"\n"
