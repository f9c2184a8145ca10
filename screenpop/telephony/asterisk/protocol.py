"""Asterisk Manager Interface (AMI) framing, free of I/O.

The wire format, as Asterisk's manager writes it: on connect, one banner line
(`Asterisk Call Manager/11.0.0`); then messages, each a block of `Key: value` lines ended by an
empty line. Lines end in CRLF (a bare LF is tolerated). A message is a response to an action
(`Response: Success|Error|Goodbye`, carrying the action's `ActionID`) or an event
(`Event: Newchannel`); the items of an event list (`QueueStatus`, `CoreShowChannels`) are events
carrying the `ActionID`, after a response with `EventList: start`, ended by an event with
`EventList: Complete`. Asterisk before 14 answers the `Command` action with `Response: Follows`,
raw output lines and `--END COMMAND--`; that output is kept in :attr:`Message.output`.

:class:`AmiParser` is fed bytes as they arrive and returns complete messages: it never decodes a
partial block, so a UTF-8 character split across two reads comes out whole (invalid UTF-8 is
replaced, never fatal). A block it cannot make sense of (a line without a colon, no `Event` or
`Response`, more than 64 KiB) is dropped and counted in :attr:`AmiParser.rejected`; the next good
block still parses. Actions go the other way through :func:`encode_action`; :func:`encode_message`
writes any message (events, responses) the way Asterisk does, for fakes and capture converters.

Values are kept as Asterisk sent them (`<unknown>` included); :mod:`.callstate` reads them.

:class:`ActionReplies` pairs what Asterisk answers with the action that asked, by `ActionID`:
a response, or for an action answered by an event list, the response and then the list's items.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from screenpop.errors import ProtocolError
from screenpop.telephony.framing import AMI_BLANK_LINES, BlockBuffer

MAX_MESSAGE_BYTES = 64 * 1024  # a block longer than this is garbage, not a message
BANNER_PREFIX = b"Asterisk Call Manager/"
END_COMMAND = b"--END COMMAND--"

_FOLLOWS = re.compile(rb"Response:[ \t]*Follows\r?\n", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Banner:
    """The greeting line; `version` is the manager protocol version (`11.0.0` on Asterisk 22)."""

    text: str
    version: str


@dataclass(frozen=True, slots=True)
class Message:
    """One complete AMI message: its `Key: value` pairs in order (keys may repeat)."""

    fields: tuple[tuple[str, str], ...]
    output: tuple[str, ...] = ()  # raw lines of a `Response: Follows` command output
    _index: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # built from the last pair back, so the first value of a repeated key is the one kept
        index = {key.lower(): value for key, value in reversed(self.fields)}
        object.__setattr__(self, "_index", index)

    def get(self, key: str, default: str = "") -> str:
        """The first value of `key` (case-insensitive, as Asterisk treats keys), else `default`."""
        return self._index.get(key.lower(), default)

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated key (`Output`, `ChanVariable`), in order."""
        wanted = key.lower()
        return [value for k, value in self.fields if k.lower() == wanted]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    @property
    def event(self) -> str:
        """The event name (`Newchannel`), or "" for a response."""
        return self.get("Event")

    @property
    def response(self) -> str:
        """`Success`, `Error`, `Goodbye`, `Follows`..., or "" for an event."""
        return self.get("Response")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")

    @property
    def event_list(self) -> str:
        """`start` or `Complete` on the messages framing an event list, else ""."""
        return self.get("EventList").lower()


Item = Banner | Message


class AmiParser:
    """Bytes in, messages out. Feed every read to :meth:`feed`; keep one parser per connection."""

    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._blocks = BlockBuffer(AMI_BLANK_LINES)
        self._max = max_message_bytes
        self._want_banner = True
        self._skipping = False  # inside an oversized block: drop bytes up to its end
        self.rejected = 0
        self.last_error = ""

    @property
    def buffered(self) -> int:
        return len(self._blocks)

    def feed(self, data: bytes) -> list[Item]:
        """Add received bytes; return every banner and message now complete, in order."""
        self._blocks.add(data)
        items: list[Item] = []
        if self._want_banner:
            banner = self._banner()
            if banner is None:
                return items
            if isinstance(banner, Banner):
                items.append(banner)
        while True:
            message = self._next_message()
            if message is None:
                return items
            items.append(message)

    def _banner(self) -> Banner | bool | None:
        """The banner once its line is complete; False when the stream has none; None: wait."""
        buffer = self._blocks.data
        if not BANNER_PREFIX.startswith(bytes(buffer[: len(BANNER_PREFIX)])):
            self._want_banner = False
            return False
        end = buffer.find(b"\n")
        if end == -1:
            if len(buffer) > self._max:
                self._want_banner = False
                self._reject("banner line too long")
            return None
        line = self._blocks.take(end + 1).decode("utf-8", errors="replace").rstrip("\r\n")
        self._want_banner = False
        return Banner(line, line.split("/", 1)[1].strip())

    def _next_message(self) -> Message | None:
        while True:
            if self._skipping:
                if not self._blocks.skip_past_blank_line():
                    return None
                self._skipping = False
            self._blocks.drop_leading()
            span = block_span(self._blocks)
            if span is None:
                if len(self._blocks) > self._max:
                    self._reject(f"message larger than {self._max} bytes")
                    self._skipping = True
                    continue
                return None
            end, after = span
            block = self._blocks.take(after)[:end]
            if len(block) > self._max:
                self._reject(f"message larger than {self._max} bytes")
                continue
            try:
                return parse_block(block)
            except ProtocolError as exc:
                self._reject(str(exc))

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        self.last_error = reason


def block_span(blocks: BlockBuffer, start: int = 0) -> tuple[int, int] | None:
    """Where the AMI message at `start` ends: (end of its text, start of what follows), or None
    while incomplete. `Response: Follows` command output runs to `--END COMMAND--` first."""
    if _FOLLOWS.match(blocks.data, start):
        marker = blocks.find(END_COMMAND, start)
        if marker == -1:
            return None
        start = marker
    return blocks.block_end(start)


def parse_block(block: bytes) -> Message:
    """Parse one block (without its blank line). Raises ProtocolError when it is not a message."""
    text = block.decode("utf-8", errors="replace")
    pairs: list[tuple[str, str]] = []
    output: list[str] = []
    follows = in_output = False
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if follows and (in_output or not _HEADER.match(line)):
            in_output = True
            if line != _END_COMMAND:
                output.append(line)
            continue
        key, sep, value = line.partition(":")
        if not sep or not key or " " in key or key != key.strip():
            if not line.strip():
                continue  # a line of blanks (a capture artefact) is not a header
            raise ProtocolError(f"malformed line {line[:40]!r}")
        if value[:1] == " ":
            value = value[1:]
        pairs.append((key, value))
        if len(key) == 8 and not follows and key.lower() == "response":
            follows = value.lower() == "follows"
    if not pairs or pairs[0][0].lower() not in ("event", "response", "action"):
        raise ProtocolError("message without Event or Response first")
    while output and not output[-1]:
        output.pop()
    return Message(tuple(pairs), tuple(output))


_HEADER = re.compile(r"^[A-Za-z0-9_()./-]+:")
_END_COMMAND = END_COMMAND.decode()


def encode_action(
    action: str, action_id: str, fields: Mapping[str, str] | Iterable[tuple[str, str]] = ()
) -> bytes:
    """Serialize one action: `Action`, `ActionID`, then `fields` (pairs may repeat a key).

    Raises ProtocolError if a key or value would break the framing (CR, LF, or a bad key).
    """
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    return encode_message([("Action", action), ("ActionID", action_id), *pairs])


def encode_message(fields: Iterable[tuple[str, str]]) -> bytes:
    """Serialize one message as Asterisk writes it: `Key: value` lines in order, CRLF, blank line.

    The first key must be `Event`, `Response` or `Action`. Raises ProtocolError if a key or value
    would break the framing (CR, LF, or a bad key), or if there is nothing to write.
    """
    pairs = list(fields)
    if not pairs or pairs[0][0].lower() not in ("event", "response", "action"):
        raise ProtocolError("an AMI message starts with Event, Response or Action")
    out: list[str] = []
    for key, value in pairs:
        if not key or not _HEADER.match(f"{key}:") or "\r" in value or "\n" in value:
            raise ProtocolError(f"an AMI field cannot carry a newline: {key!r}")
        out.append(f"{key}: {value}\r\n")
    return ("".join(out) + "\r\n").encode("utf-8")


@dataclass(frozen=True, slots=True)
class Answer:
    """What one message read means for an action we sent.

    `response` is set when the message is the action's response; `items` when it ended the
    action's event list (the final `EventList: Complete` event excluded). `final`: nothing
    more will come for this action.
    """

    action_id: str
    response: Message | None = None
    items: tuple[Message, ...] | None = None
    final: bool = True


@dataclass(slots=True)
class _Asked:
    listing: bool
    deadline: float
    answered: bool = False
    items: list[Message] = field(default_factory=list)


class ActionReplies:
    """Pairs Asterisk's answers with the actions that asked, by `ActionID`. No I/O, no clock.

    Call :meth:`ask` for each action and write the bytes it returns; hand every message read to
    :meth:`receive`. Tell it the time with :meth:`expire` (or :meth:`forget` an action whose
    caller stopped waiting); :meth:`clear` when the connection closes.
    """

    def __init__(self) -> None:
        self._asked: dict[str, _Asked] = {}
        self._ids = itertools.count(1)

    def ask(
        self,
        action: str,
        fields: Iterable[tuple[str, str]] = (),
        *,
        listing: bool = False,
        deadline: float = float("inf"),
    ) -> tuple[str, bytes]:
        """A fresh ActionID for `action` and the bytes to send. `listing`: Asterisk answers it
        with an event list. Raises ProtocolError if a field would break the framing."""
        action_id = f"{action.lower()}-{next(self._ids)}"
        wire = encode_action(action, action_id, fields)
        self._asked[action_id] = _Asked(listing, deadline)
        return action_id, wire

    def receive(self, msg: Message) -> Answer | None:
        """What `msg` answers, or None when it is no answer (an event for the mapper).

        A response is always an answer, even to an action no longer waited for.
        """
        asked = self._asked.get(msg.action_id) if msg.action_id else None
        if msg.response:
            return self._on_response(msg, asked)
        if asked is None or not asked.listing:
            return None
        if msg.event_list != "complete":
            asked.items.append(msg)
            return Answer(msg.action_id, final=False)
        del self._asked[msg.action_id]
        return Answer(msg.action_id, items=tuple(asked.items))

    def _on_response(self, msg: Message, asked: _Asked | None) -> Answer:
        if asked is None or asked.answered:
            return Answer(msg.action_id, final=True)
        asked.answered = True
        listing = asked.listing and msg.event_list == "start"
        if not listing:
            del self._asked[msg.action_id]
        return Answer(msg.action_id, response=msg, final=not listing)

    def pending(self) -> list[str]:
        """ActionIDs still waiting for an answer, oldest first."""
        return list(self._asked)

    def expire(self, now: float) -> list[str]:
        """Forget the actions whose deadline is past; their ActionIDs."""
        late = [aid for aid, asked in self._asked.items() if asked.deadline <= now]
        for action_id in late:
            del self._asked[action_id]
        return late

    def forget(self, action_id: str) -> None:
        """Stop waiting for `action_id` (its caller gave up); a late answer is dropped."""
        self._asked.pop(action_id, None)

    def clear(self) -> list[str]:
        """Forget every pending action (the connection closed); their ActionIDs."""
        gone = list(self._asked)
        self._asked.clear()
        return gone
