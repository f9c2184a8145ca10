"""FreeSWITCH event socket (mod_event_socket, inbound mode) framing, free of I/O.

The wire format, as mod_event_socket writes it: a frame is a block of `Key: value` lines ended by
an empty line; when the block carries `Content-Length`, exactly that many bytes of body follow.
The outer headers are plain text (`Content-Type: command/reply`, `Reply-Text: +OK accepted`).
A `text/event-plain` body is itself a header block whose values are URL-encoded (`%20`, `%3A`,
UTF-8 bytes as `%C3%A9`); an event may carry its own `Content-Length` and body after that block.

:class:`EslParser` is fed bytes as they arrive and returns complete :class:`Frame` values; it never
decodes a partial frame, so a UTF-8 character split across two reads comes out whole. Frames it
cannot make sense of (a header line without a colon, a bad or oversized `Content-Length`, a
runaway header block) are dropped and counted in :attr:`EslParser.rejected`; the next good frame
still parses. Commands go the other way through :func:`command` (and back through
:func:`parse_command`); :func:`encode_event` and :func:`encode_frame` write events and frames
exactly as mod_event_socket does, for fakes, tests and `screenpop replay`.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from screenpop.errors import ProtocolError
from screenpop.telephony.framing import ESL_BLANK_LINES, BlockBuffer, find_blank_line

MAX_HEADER_BYTES = 64 * 1024  # a header block longer than this is garbage, not a frame
MAX_BODY_BYTES = 16 * 1024 * 1024  # mod_event_socket's own MAX_CONTENT_LENGTH

AUTH_REQUEST = "auth/request"
COMMAND_REPLY = "command/reply"
API_RESPONSE = "api/response"
EVENT_PLAIN = "text/event-plain"
DISCONNECT_NOTICE = "text/disconnect-notice"
RUDE_REJECTION = "text/rude-rejection"
# What switch_url_encode escapes besides control bytes, space and non-ASCII (SWITCH_URL_UNSAFE).
_URL_UNSAFE = frozenset(b'\r\n "#%&+:;<=>?@[\\]^`{|}')


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete frame from the server: its outer headers and its raw body bytes."""

    headers: dict[str, str]
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def reply_text(self) -> str:
        """`Reply-Text` of a command/reply, or the body of an api/response, stripped."""
        if self.content_type == API_RESPONSE:
            return self.body.decode("utf-8", errors="replace").strip()
        return self.headers.get("Reply-Text", "").strip()

    @property
    def ok(self) -> bool:
        """True when a command/reply or api/response says `+OK` (or gives a non-error body)."""
        text = self.reply_text
        return not text.startswith("-ERR") and not text.startswith("-USAGE")


@dataclass(frozen=True, slots=True)
class Event:
    """A `text/event-plain` event: URL-decoded headers and the event's own body, if any."""

    headers: dict[str, str]
    body: str = ""
    name: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.headers.get("Event-Name", ""))

    def get(self, key: str, default: str = "") -> str:
        return self.headers.get(key, default)


class EslParser:
    """Bytes in, frames out. Feed every read to :meth:`feed`; keep the parser per connection."""

    def __init__(
        self, max_header_bytes: int = MAX_HEADER_BYTES, max_body_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self._blocks = BlockBuffer(ESL_BLANK_LINES, between=b"\r\n\x00")
        self._max_header = max_header_bytes
        self._max_body = max_body_bytes
        self._skipping = False  # inside an oversized header block: drop bytes until its end
        self.rejected = 0
        self.last_error = ""

    @property
    def buffered(self) -> int:
        return len(self._blocks)

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every frame now complete, in order."""
        self._blocks.add(data)
        frames: list[Frame] = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return frames
            frames.append(frame)

    def _next_frame(self) -> Frame | None:
        blocks = self._blocks
        while True:
            if self._skipping:
                if not blocks.skip_past_blank_line():
                    return None
                self._skipping = False
            blocks.drop_leading()
            end = blocks.block_end()
            if end is None:
                if len(blocks) > self._max_header:
                    self._reject(f"header block larger than {self._max_header} bytes")
                    self._skipping = True
                    continue
                return None
            head_end, body_start = end
            try:
                headers = parse_header_block(bytes(blocks.data[:head_end]), decode=False)
                length = self._content_length(headers)
            except ProtocolError as exc:
                blocks.take(body_start)
                self._reject(str(exc))
                continue
            if len(blocks) < body_start + length:
                return None
            body = blocks.take(body_start + length)[body_start:]
            if "Content-Type" not in headers:
                self._reject("frame without Content-Type")
                continue
            return Frame(headers, body)

    def _content_length(self, headers: dict[str, str]) -> int:
        raw = headers.get("Content-Length")
        if raw is None:
            return 0
        if not raw.strip().isdigit():
            raise ProtocolError(f"bad Content-Length {raw[:20]!r}")
        length = int(raw)
        if length > self._max_body:
            raise ProtocolError(f"Content-Length {length} exceeds {self._max_body}")
        return length

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        self.last_error = reason


def parse_header_block(block: bytes, *, decode: bool) -> dict[str, str]:
    """Parse `Key: value` lines; `decode` URL-decodes values (event bodies).

    Raises ProtocolError on a line that is not a header.
    """
    headers: dict[str, str] = {}
    text = block.decode("utf-8", errors="replace")
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not key:
            raise ProtocolError(f"malformed header line {line[:40]!r}")
        value = value.strip()
        headers[key] = unquote(value, encoding="utf-8", errors="replace") if decode else value
    return headers


def parse_event(frame: Frame) -> Event:
    """Decode the body of a `text/event-plain` frame. Raises ProtocolError when malformed.

    Values are URL-decoded with `unquote`, never `unquote_plus`: FreeSWITCH encodes a space as
    `%20` and a literal `+` as `%2B`, and a bare `+` (as in `+12125551234`) stays a plus.
    """
    data = frame.body
    end = find_blank_line(data, ESL_BLANK_LINES)
    if end is None:
        head, rest = data, b""
    else:
        head, rest = data[: end[0]], data[end[1] :]
    headers = parse_header_block(head, decode=True)
    if "Event-Name" not in headers:
        raise ProtocolError("event without Event-Name")
    body = b""
    if "Content-Length" in headers:
        raw = headers.pop("Content-Length")
        if not raw.isdigit() or int(raw) > len(rest):
            raise ProtocolError(f"event body shorter than its Content-Length {raw[:20]!r}")
        body = rest[: int(raw)]
    return Event(headers, body.decode("utf-8", errors="replace"))


def command(line: str, headers: dict[str, str] | None = None) -> bytes:
    """Serialize one command (`auth x`, `event plain ...`, `api status`) with optional headers.

    Raises ProtocolError if the command or a header would break the framing (a newline inside).
    """
    parts = [line]
    for key, value in (headers or {}).items():
        parts.append(f"{key}: {value}")
    for part in parts:
        if "\n" in part or "\r" in part or not part.strip():
            raise ProtocolError("an ESL command line cannot be empty or contain a newline")
    return ("\n".join(parts) + "\n\n").encode("utf-8")


def parse_command(block: bytes) -> tuple[str, dict[str, str]]:
    """The command line and headers of one command block (what :func:`command` wrote).

    Raises ProtocolError when the block is empty or a header line has no colon.
    """
    lines = [line.rstrip("\r") for line in block.decode("utf-8", errors="replace").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise ProtocolError("empty ESL command")
    headers = parse_header_block("\n".join(lines[1:]).encode("utf-8"), decode=False)
    return lines[0], headers


def url_encode(value: str) -> str:
    """A header value as switch_url_encode writes it: `%XX` for space, control bytes, non-ASCII
    (per UTF-8 byte) and `"#%&+:;<=>?@[\\]^`{|}`; `/`, `,`, `-`, `.` and the like stay."""
    out = []
    for byte in value.encode("utf-8", errors="replace"):
        if byte < 33 or byte > 126 or byte in _URL_UNSAFE:
            out.append(f"%{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


def _check_key(key: str) -> None:
    if not key or key != key.strip() or any(c in key for c in ":\r\n"):
        raise ProtocolError(f"unusable ESL header name {key[:40]!r}")


def encode_event(headers: Mapping[str, str], body: str = "") -> bytes:
    """A `text/event-plain` body as switch_event_serialize writes it: `Key: url-encoded value`
    lines in the order given, then the event's own `Content-Length` and body when it has one.

    Raises ProtocolError for a header name the format cannot carry (empty, colon, newline).
    """
    lines = []
    for key, value in headers.items():
        _check_key(key)
        lines.append(f"{key}: {url_encode(value)}\n")
    raw = body.encode("utf-8")
    if raw:
        return ("".join(lines) + f"Content-Length: {len(raw)}\n\n").encode("utf-8") + raw
    return ("".join(lines) + "\n").encode("utf-8")


def encode_frame(headers: Mapping[str, str], body: bytes = b"") -> bytes:
    """One outer frame: plain headers in the order given, then `Content-Length` (unless given)
    when there is a body, a blank line, the body. That is the order of an api/response
    (`Content-Type` first); :func:`event_frame` writes an event's.

    Raises ProtocolError when a header would break the framing.
    """
    lines = []
    for key, value in headers.items():
        _check_key(key)
        if "\n" in value or "\r" in value:
            raise ProtocolError(f"ESL header {key} cannot contain a newline")
        lines.append(f"{key}: {value.strip()}")
    if body and "Content-Length" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    return ("\n".join(lines) + "\n\n").encode("utf-8") + body


def event_frame(headers: Mapping[str, str], body: str = "") -> bytes:
    """The whole frame mod_event_socket sends for one event: `Content-Length` first, then
    `Content-Type: text/event-plain`, then the :func:`encode_event` body."""
    data = encode_event(headers, body)
    return encode_frame({"Content-Length": str(len(data)), "Content-Type": EVENT_PLAIN}, data)


def subscribe_command(events: list[str], custom: list[str]) -> str:
    """`event plain A B CUSTOM sub::class`: CUSTOM must come last, its subclasses follow it."""
    words = ["event", "plain", *events]
    if custom:
        words += ["CUSTOM", *custom]
    return " ".join(words)


@dataclass(slots=True)
class _Command:
    ticket: int
    deadline: float
    waited: bool = True  # False once its caller gave up: its reply is still its own


class CommandReplies:
    """Pairs FreeSWITCH's replies with the commands that asked. No I/O, no clock.

    `command/reply` and `api/response` frames come back in the order the commands went out, so
    a command whose caller gave up keeps its place: its late reply is dropped, not handed to the
    next one. A `bgapi` command's result comes later as a `BACKGROUND_JOB` event carrying the
    `Job-UUID` of its command/reply: :meth:`watch_job`, then :meth:`job_done` on each event.
    """

    def __init__(self) -> None:
        self._queue: deque[_Command] = deque()
        self._tickets = itertools.count(1)
        self._jobs: set[str] = set()

    def ask(
        self, line: str, headers: dict[str, str] | None = None, *, deadline: float = float("inf")
    ) -> tuple[int, bytes]:
        """A ticket for the command and the bytes to send. Raises ProtocolError (see
        :func:`command`)."""
        wire = command(line, headers)
        ticket = next(self._tickets)
        self._queue.append(_Command(ticket, deadline))
        return ticket, wire

    def receive(self, frame: Frame) -> tuple[int, Frame] | None:
        """(ticket, reply) when `frame` answers a command still waited for; None otherwise (not
        a reply, a reply nobody asked for, or a late one)."""
        if frame.content_type not in (COMMAND_REPLY, API_RESPONSE) or not self._queue:
            return None
        asked = self._queue.popleft()
        return (asked.ticket, frame) if asked.waited else None

    def expire(self, now: float) -> list[int]:
        """Give up on the commands whose deadline is past; their tickets."""
        late = [c for c in self._queue if c.waited and c.deadline <= now]
        for asked in late:
            asked.waited = False
        return [c.ticket for c in late]

    def forget(self, ticket: int) -> None:
        """Its caller stopped waiting: the reply, when it comes, is dropped."""
        for asked in self._queue:
            if asked.ticket == ticket:
                asked.waited = False

    def clear(self) -> list[int]:
        """Forget every command (the connection closed); the tickets still waited for."""
        gone = [c.ticket for c in self._queue if c.waited]
        self._queue.clear()
        self._jobs.clear()
        return gone

    def watch_job(self, reply: Frame) -> str | None:
        """The `Job-UUID` a bgapi command/reply gave (now watched), or None if it gave none."""
        job = reply.headers.get("Job-UUID") or ""
        if not job and reply.reply_text.startswith("+OK Job-UUID:"):
            job = reply.reply_text.removeprefix("+OK Job-UUID:")
        job = job.strip()
        if job:
            self._jobs.add(job)
        return job or None

    def job_done(self, event: Event) -> tuple[str, str] | None:
        """(Job-UUID, result) when `event` is the `BACKGROUND_JOB` of a watched job."""
        job = event.get("Job-UUID")
        if event.name != "BACKGROUND_JOB" or job not in self._jobs:
            return None
        self._jobs.discard(job)
        return job, event.body
