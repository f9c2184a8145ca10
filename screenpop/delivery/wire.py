"""Server messages as they go on the wire: encoded once, shared by every tab that gets them.

A message is encoded to JSON bytes exactly once (:meth:`Encoded.of`), however many agents and
tabs it goes to: the board for a role goes to every watcher of that role as one
:class:`Encoded`. Numbering an agent's copy (:class:`Frame`) keeps the encoded body as is and
adds the agent's `seq` when the frame is written (:attr:`Frame.data`), so the replay buffers of
all those agents hold the same bytes object. :data:`counts` tells how many encodes ran (tests
and profiling read it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import orjson

Message = dict[str, Any]

_OPTIONS = orjson.OPT_NON_STR_KEYS


@dataclass(slots=True)
class Counts:
    """Work done on the wire since start-up."""

    encodes: int = 0  # messages turned into JSON bytes


counts = Counts()


def encode(message: Message) -> bytes:
    """`message` as compact UTF-8 JSON (one encode, counted)."""
    counts.encodes += 1
    return orjson.dumps(message, option=_OPTIONS)


def decode(data: bytes | str) -> Any:
    """JSON text or bytes back to values."""
    return orjson.loads(data)


class ToJson(Protocol):
    """A typed server message (:mod:`screenpop.delivery.outbound`)."""

    @property
    def type(self) -> str: ...

    def to_json(self) -> Message: ...


@dataclass(frozen=True, slots=True)
class Encoded:
    """A server message already encoded, not numbered yet: hand the same one to many agents."""

    type: str
    body: bytes  # a JSON object without `seq`

    @classmethod
    def of(cls, message: ToJson | Message) -> Encoded:
        """Encode a typed message or a wire-form dict (which must have a `type`)."""
        wire = message if isinstance(message, dict) else message.to_json()
        return cls(str(wire.get("type", "")), encode(wire))

    def to_json(self) -> Message:
        """The message as values again (for readers in-process: tests, tools)."""
        out: Message = decode(self.body)
        return out


@dataclass(frozen=True, slots=True)
class Frame:
    """One message numbered for one agent: every tab of the agent and its replay buffer hold
    this same frame, and frames of one broadcast share their `body`."""

    seq: int
    type: str
    body: bytes  # the encoded message without `seq`, shared

    @property
    def data(self) -> bytes:
        """The frame's wire JSON: the body with `"seq"` added as its last member."""
        return with_seq(self.body, self.seq)

    @property
    def size(self) -> int:
        """Bytes of the body (what a replay buffer accounts for this frame)."""
        return len(self.body)

    def json(self) -> Message:
        """The numbered message as values (for readers in-process: tests, tools)."""
        out: Message = decode(self.data)
        return out

    def __getitem__(self, key: str) -> Any:
        return self.json()[key]


def with_seq(body: bytes, seq: int) -> bytes:
    """`body` (a JSON object) with `"seq": seq` as its last member, without decoding it."""
    return b"".join((memoryview(body)[:-1], seq_tail(body, seq)))


def seq_tail(body: bytes, seq: int) -> bytes:
    """What replaces the closing brace of `body` in :func:`with_seq`."""
    tail = b'"seq":%d}' % seq
    return tail if body == b"{}" else b"," + tail
