"""Read the recorded AMI transcripts in `tests/fixtures/ami/` back into wire bytes.

A transcript is a series of blocks headed `### t=+<s> mono=<m> wall=<time>` (the banner's header
ends in `BANNER`), each holding one packet with CRLF turned into LF, then a blank line; a last
`### connection closed ...` line has no packet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ami"


@dataclass(frozen=True)
class Packet:
    """One packet as Asterisk sent it: `wire` is the exact bytes, CRLF restored."""

    t: float
    banner: bool
    lines: tuple[str, ...]

    @property
    def wire(self) -> bytes:
        if self.banner:
            return ("\r\n".join(self.lines) + "\r\n").encode("utf-8")
        return ("\r\n".join(self.lines) + "\r\n\r\n").encode("utf-8")

    def get(self, key: str) -> str | None:
        for line in self.lines:
            name, _, value = line.partition(": ")
            if name == key:
                return value
        return None


def load_transcript(name: str) -> list[Packet]:
    """The packets of `tests/fixtures/ami/<name>`, in order."""
    packets: list[Packet] = []
    header: str | None = None
    body: list[str] = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").split("\n"):
        if line.startswith("### "):
            _flush(packets, header, body)
            header, body = line, []
        elif header is not None:
            body.append(line)
    _flush(packets, header, body)
    return packets


def _flush(packets: list[Packet], header: str | None, body: list[str]) -> None:
    if header is None or not header.startswith("### t=+"):
        return
    while body and body[-1] == "":
        body.pop()
    if not body:
        return
    t = float(header.split()[1].removeprefix("t=+"))
    packets.append(Packet(t, header.rstrip().endswith("BANNER"), tuple(body)))


def transcript_bytes(name: str) -> bytes:
    """The whole server side of a transcript as one byte string."""
    return b"".join(packet.wire for packet in load_transcript(name))
