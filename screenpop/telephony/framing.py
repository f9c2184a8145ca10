"""One framer for the two line protocols, free of I/O: Asterisk's manager (AMI) and FreeSWITCH's
event socket (ESL).

Both send header blocks of `Key: value` lines ended by a blank line; an ESL block may announce
`Content-Length` bytes of body that follow it. A :class:`BlockBuffer` holds the bytes received
so far and says where the next block ends; the AMI and ESL parsers decode what it cuts, and
`screenpop capture` keeps those bytes exactly as they came. The protocols differ only in what a
blank line may look like (:data:`AMI_BLANK_LINES`, :data:`ESL_BLANK_LINES`) and in the bytes they
skip between blocks.
"""

from __future__ import annotations

import re

AMI_BLANK_LINES = (b"\n\n", b"\n\r\n")  # Asterisk writes CRLF; a bare LF is tolerated
ESL_BLANK_LINES = (b"\n\n", b"\r\n\r\n")  # mod_event_socket writes LF; CRLF is tolerated
_CONTENT_LENGTH = re.compile(rb"^Content-Length:[ \t]*([0-9]+)[ \t]*$", re.IGNORECASE | re.M)


class BlockBuffer:
    """Received bytes, cut into blocks ended by a blank line. One per connection (or capture).

    :meth:`add` what was read, then ask :meth:`block_end` where the next block ends and
    :meth:`take` it; nothing is decoded here, so a UTF-8 character split across two reads is
    whole by the time a block is taken.

    The work is linear in the bytes received: :meth:`find` remembers, for each pattern, how far
    it has already looked, so neither a read holding many blocks nor a block arriving over many
    reads makes it rescan bytes it has seen. Read :attr:`data` freely, but change it only
    through these methods (they keep that memory true).
    """

    def __init__(self, blank_lines: tuple[bytes, ...], between: bytes = b"\r\n") -> None:
        self.data = bytearray()
        self._blank_lines = blank_lines
        self._between = frozenset(between)  # bytes that may separate blocks (stray newlines)
        self._scans: dict[bytes, _Scan] = {}

    def __len__(self) -> int:
        return len(self.data)

    def add(self, data: bytes) -> None:
        self.data += data

    def leading(self) -> int:
        """How many bytes before the next block are separators (newlines between blocks)."""
        data, between = self.data, self._between
        n = 0
        while n < len(data) and data[n] in between:
            n += 1
        return n

    def drop_leading(self) -> None:
        """Forget the separators before the next block."""
        if self.data and self.data[0] in self._between:
            self._drop(self.leading())

    def block_end(self, start: int = 0) -> tuple[int, int] | None:
        """(end of the block's lines, start of what follows its blank line), searching from
        `start`; None while no blank line has arrived."""
        best: tuple[int, int] | None = None
        for blank in self._blank_lines:
            # only a blank line beginning before the best one found so far can replace it
            at = self.find(blank, start, None if best is None else best[0] + len(blank) - 1)
            if at != -1:
                best = (at, at + len(blank))
        return best

    def find(self, pattern: bytes, start: int = 0, end: int | None = None) -> int:
        """`data.find(pattern, start, end)`, resuming where an earlier search stopped."""
        data = self.data
        limit = len(data) if end is None else min(end, len(data))
        scan = self._scans.get(pattern)
        if scan is None or not scan.start <= start <= scan.clear:
            scan = self._scans[pattern] = _Scan(start, start)
        if scan.found:
            return scan.clear if scan.clear + len(pattern) <= limit else -1
        at = data.find(pattern, scan.clear, limit)
        if at == -1:
            scan.clear = max(scan.clear, limit - len(pattern) + 1)
        else:
            scan.clear, scan.found = at, True
        return at

    def take(self, end: int) -> bytes:
        """The first `end` bytes, removed from the buffer."""
        block = bytes(self.data[:end])
        self._drop(end)
        return block

    def skip_past_blank_line(self) -> bool:
        """Drop bytes up to the end of a runaway block; True once past its blank line.

        While none has come, keep only a tail that may be the start of one (it may straddle
        two reads).
        """
        end = self.block_end()
        if end is None:
            keep = self._blank_line_prefix()
            self._drop(len(self.data) - keep)
            return False
        self._drop(end[1])
        return True

    def _drop(self, n: int) -> None:
        """Remove the first `n` bytes (cheap: a bytearray moves its start, not its bytes)."""
        if n <= 0:
            return
        del self.data[:n]
        for pattern, scan in list(self._scans.items()):
            scan.clear -= n
            if scan.clear < 0:
                del self._scans[pattern]  # what it knew was about bytes now gone
            else:
                scan.start = max(0, scan.start - n)

    def _blank_line_prefix(self) -> int:
        """Length of the longest tail of the buffer that begins a blank line."""
        longest = 0
        for blank in self._blank_lines:
            for n in range(len(blank) - 1, longest, -1):
                if self.data.endswith(blank[:n]):
                    longest = n
                    break
        return longest


class _Scan:
    """What one pattern's searches have learnt: it does not begin anywhere in
    `data[start:clear]`, and when `found`, it begins at `clear`."""

    __slots__ = ("clear", "found", "start")

    def __init__(self, start: int, clear: int) -> None:
        self.start = start
        self.clear = clear
        self.found = False


def find_blank_line(
    data: bytes | bytearray, blank_lines: tuple[bytes, ...], start: int = 0
) -> tuple[int, int] | None:
    """(where the first blank line from `start` begins, where it ends), or None."""
    best: tuple[int, int] | None = None
    for blank in blank_lines:
        if best is None:
            at = data.find(blank, start)
        else:  # only one beginning before the best so far can replace it
            at = data.find(blank, start, best[0] + len(blank) - 1)
        if at != -1:
            best = (at, at + len(blank))
    return best


def declared_length(head: bytes | bytearray) -> int:
    """The `Content-Length` a header block announces (0 when it announces none)."""
    found = _CONTENT_LENGTH.search(head)
    return int(found.group(1)) if found else 0
