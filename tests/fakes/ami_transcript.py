"""The recorded AMI transcripts in `tests/fixtures/ami/` as packets, read with the product's own
capture reader (:mod:`screenpop.telephony.recording`), so there is one reader of that format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from screenpop.telephony.recording import read_blocks, received

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ami"


@dataclass(frozen=True)
class Packet:
    """One packet as Asterisk sent it: `wire` is the exact bytes (CRLF)."""

    t: float
    banner: bool
    wire: bytes

    @property
    def lines(self) -> tuple[str, ...]:
        """The packet's lines, without line ends and the closing blank line."""
        text = self.wire.decode("utf-8").removesuffix("\r\n").removesuffix("\r\n")
        return tuple(text.split("\r\n"))

    def get(self, key: str) -> str | None:
        for line in self.lines:
            name, _, value = line.partition(": ")
            if name == key:
                return value
        return None


def load_transcript(name: str) -> list[Packet]:
    """The packets Asterisk sent in `tests/fixtures/ami/<name>`, in order."""
    blocks = read_blocks((FIXTURES / name).read_bytes())
    return [Packet(b.t, b.banner, b.data) for b in blocks if b.kind == "recv"]


def transcript_bytes(name: str) -> bytes:
    """The whole server side of a transcript as one byte string."""
    return received(read_blocks((FIXTURES / name).read_bytes()))
