"""`screenpop replay`: a recorded PBX stream through the real parser, mapper and call tracker.

An ops engineer whose PBX pops the wrong agent records the stream (`screenpop capture`, or any
of the capture formats the samples come in) and sends the file; replaying it here shows, per
agent, the pops and call states the daemon would have produced, without a daemon, a network or a
back office. Nothing here does I/O: :func:`load_recording` reads bytes, :func:`replay` returns a
:class:`Result` (printed by :mod:`screenpop.replay_format`).

The stream goes through exactly what a live source uses: :class:`AmiParser` and
:class:`AmiCallMapper` (event lists answering `CoreShowChannels` / `QueueStatus` go to the
mapper's resync, as :class:`~screenpop.telephony.asterisk.connection.AmiConnection` routes them), or
:class:`EslParser` and :class:`EslCallMapper` (the `api/response` bodies of the resync commands
go to its resync), then :class:`~screenpop.call_table.CallTracker`. Block captures carry timestamps:
each frame is fed at its block's `t`, which is also the events' time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from screenpop.call_table import CallTracker
from screenpop.callerid import normalize
from screenpop.calls import Call, Effect, Notify, Pop
from screenpop.errors import ProtocolError
from screenpop.events import CallEvent, CallState
from screenpop.telephony import recording
from screenpop.telephony.asterisk.formats import ami_stream_from
from screenpop.telephony.asterisk.mapper import AmiCallMapper
from screenpop.telephony.asterisk.protocol import AmiParser, Banner, Message
from screenpop.telephony.freeswitch.formats import esl_stream_from
from screenpop.telephony.freeswitch.mapper import EslCallMapper
from screenpop.telephony.freeswitch.protocol import (
    API_RESPONSE,
    EVENT_PLAIN,
    EslParser,
    parse_event,
)
from screenpop.telephony.freeswitch.resync import channel_rows, parse_table

log = logging.getLogger(__name__)

Protocol = Literal["ami", "esl"]
Match = Callable[[str | None], str | None]
SOURCE = "replay"

_AMI_START = re.compile(rb"^(asterisk call manager/|event:|response:|action:)", re.IGNORECASE)
_ESL_START = re.compile(rb"^content-(type|length):", re.IGNORECASE)
_CHANNEL_SUFFIX = re.compile(r"(-[0-9a-fA-F]{8})?(;[12])?$")


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes the PBX sent, and when (seconds since connect; None when the file has no times)."""

    t: float | None
    data: bytes


@dataclass(frozen=True, slots=True)
class Recording:
    """A PBX's side of one recorded stream."""

    protocol: Protocol
    chunks: tuple[Chunk, ...]


def load_recording(content: bytes) -> Recording | None:
    """The recorded stream in `content`, or None when it is no capture this build can read.

    Block captures (`### t=+...` headers, both styles) keep their timestamps; anything else is
    handed to :func:`stream_from`.
    """
    if recording.is_capture(content):
        blocks = [b for b in recording.read_blocks(content) if b.kind == "recv"]
        protocol = sniff(b"".join(b.data for b in blocks))
        if protocol is None:
            return None
        return Recording(protocol, tuple(Chunk(b.t, b.data) for b in blocks))
    found = stream_from(content)
    if found is None:
        return None
    protocol, stream = found
    return Recording(protocol, (Chunk(None, stream),))


def stream_from(content: bytes) -> tuple[Protocol, bytes] | None:
    """The protocol and the PBX's raw stream of a file that is not a block capture, or None.

    The one place that knows the other formats (raw streams, cacofonisk JSON lists, Asterisk
    `manager debug` console logs, FreeSWITCH event-plain bodies and modesl dumps): the format
    modules of each protocol say what they can read.
    """
    ami = ami_stream_from(content)
    if ami is not None and sniff(ami) == "ami":
        return "ami", ami
    esl = esl_stream_from(content)
    if esl is not None and sniff(esl) == "esl":
        return "esl", esl
    return None


def sniff(stream: bytes) -> Protocol | None:
    """Which protocol a PBX's raw stream speaks, from its first line; None if neither."""
    first = stream.lstrip(b" \t\r\n").split(b"\n", 1)[0]
    if _AMI_START.match(first):
        return "ami"
    if _ESL_START.match(first):
        return "esl"
    return None


def own_agent(endpoint: str | None) -> str | None:
    """Without an agent directory every endpoint is its own agent: `SIP/201-0000001a` -> `SIP/201`,
    `Local/201@ctx-00000012;1` -> `Local/201@ctx`, `user/1002` and `agent1@default` as they are."""
    if not endpoint or not endpoint.strip():
        return None
    text = endpoint.strip()
    return _CHANNEL_SUFFIX.sub("", text) if "/" in text else text


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of an agent's timeline: a pop on their screen or a call-state message."""

    t: float | None
    agent: str
    type: Literal["pop", "call"]
    call_id: str
    state: str
    caller: str | None = None  # as the card shows it: national, else E.164, else the extension
    e164: str | None = None
    withheld: bool = False
    queue: str | None = None
    holder: str | None = None  # who holds the call after this (call messages)

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "agent": self.agent,
            "type": self.type,
            "call_id": self.call_id,
            "state": self.state,
            "caller": self.caller,
            "e164": self.e164,
            "withheld": self.withheld,
            "queue": self.queue,
            "holder": self.holder,
        }


@dataclass(frozen=True, slots=True)
class CallSummary:
    """How one call ended up at the end of the recording."""

    call_id: str
    state: str
    holder: str | None
    caller: str | None
    withheld: bool
    queue: str | None
    popped: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "state": self.state,
            "holder": self.holder,
            "caller": self.caller,
            "withheld": self.withheld,
            "queue": self.queue,
            "popped": list(self.popped),
        }


@dataclass(slots=True)
class Counts:
    frames: int = 0  # complete frames the parser produced (banner included)
    events: int = 0  # CallEvents the mapper produced
    rejected: int = 0  # frames the parser (or the event decoder) refused
    unknown_endpoints: int = 0  # events naming an endpoint no agent has
    mapper_errors: int = 0  # frames the mapper failed on (a bug: the live source logs it)

    def to_json(self) -> dict[str, int]:
        return {
            "frames": self.frames,
            "events": self.events,
            "rejected": self.rejected,
            "unknown_endpoints": self.unknown_endpoints,
            "mapper_errors": self.mapper_errors,
        }


@dataclass(slots=True)
class Result:
    """What a replay produced: the timeline in time order, each call's end, the counts."""

    protocol: Protocol
    timed: bool
    timeline: list[Entry] = field(default_factory=list)
    calls: list[CallSummary] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "timeline": [e.to_json() for e in self.timeline],
            "calls": [c.to_json() for c in self.calls],
            "counts": self.counts.to_json(),
        }


def _guarded(counts: Counts, mapped: Callable[[], list[CallEvent]]) -> list[CallEvent]:
    """What the mapper makes of one frame; a mapper bug is counted and logged, never raised:
    one bad frame must not end the replay (the live ESL source does the same)."""
    try:
        return mapped()
    except Exception as exc:
        log.warning("replay: the mapper failed on a frame: %s: %s", type(exc).__name__, exc)
        counts.mapper_errors += 1
        return []


class _AmiFeed:
    """Parser and mapper of one AMI session, routed as AmiConnection routes a live stream."""

    def __init__(self, mapper: AmiCallMapper, counts: Counts) -> None:
        self._parser = AmiParser()
        self._mapper = mapper
        self._counts = counts
        self._lists: dict[str, list[Message]] = {}  # ActionID -> items of an event list

    @property
    def rejected(self) -> int:
        return self._parser.rejected

    def feed(self, data: bytes) -> list[CallEvent]:
        events: list[CallEvent] = []
        for item in self._parser.feed(data):
            self._counts.frames += 1
            if not isinstance(item, Banner):
                events += _guarded(self._counts, partial(self._message, item))
        return events

    def _message(self, msg: Message) -> list[CallEvent]:
        if msg.response:
            if msg.event_list == "start" and msg.action_id:
                self._lists[msg.action_id] = []
            return []
        items = self._lists.get(msg.action_id) if msg.action_id else None
        if items is not None:
            if msg.event_list != "complete":
                items.append(msg)
                return []
            del self._lists[msg.action_id]
            return self._resync(msg.event, items)
        if msg.event == "Shutdown":
            return []
        return self._mapper.feed(msg)

    def _resync(self, complete: str, items: list[Message]) -> list[CallEvent]:
        if complete == "CoreShowChannelsComplete":
            rows = [i for i in items if i.event == "CoreShowChannel"]
            return self._mapper.resync_channels(rows)
        if complete == "QueueStatusComplete":
            return self._mapper.resync_queues([i for i in items if i.event == "QueueEntry"])
        return []


class _EslFeed:
    """Parser and mapper of one event-socket session, routed as EslSource routes a live one."""

    def __init__(self, mapper: EslCallMapper, counts: Counts) -> None:
        self._parser = EslParser()
        self._mapper = mapper
        self._counts = counts
        self._bad_events = 0

    @property
    def rejected(self) -> int:
        return self._parser.rejected + self._bad_events

    def feed(self, data: bytes) -> list[CallEvent]:
        events: list[CallEvent] = []
        for frame in self._parser.feed(data):
            self._counts.frames += 1
            if frame.content_type == EVENT_PLAIN:
                try:
                    event = parse_event(frame)
                except ProtocolError:
                    self._bad_events += 1
                    continue
                if event.name != "HEARTBEAT":
                    events += _guarded(self._counts, partial(self._mapper.feed, event.headers))
            elif frame.content_type == API_RESPONSE:
                body = frame.body.decode("utf-8", "replace")
                events += _guarded(self._counts, partial(self._resync, body))
        return events

    def _resync(self, body: str) -> list[CallEvent]:
        """The answer to one of the resync commands (the capture's `sent` blocks say which, but
        the answers say it too: channels JSON, or a member table naming its queue)."""
        if channel_rows(body) is not None:
            return self._mapper.resync(body, {}, self._mapper.open_calls)
        rows = parse_table(body)
        if rows and "session_uuid" in rows[0] and rows[0].get("queue"):
            return self._mapper.resync(None, {rows[0]["queue"]: body})
        return []


class Replayer:
    """Feeds one recording's chunks through parser, mapper and tracker; collects the timeline."""

    def __init__(self, protocol: Protocol, match: Match, region: str, timed: bool) -> None:
        self.result = Result(protocol, timed)
        self._region = region
        self._now = 0.0
        counts = self.result.counts
        if protocol == "ami":
            self._feed: _AmiFeed | _EslFeed = _AmiFeed(AmiCallMapper(SOURCE, self._clock), counts)
        else:
            self._feed = _EslFeed(EslCallMapper(SOURCE, self._clock), counts)
        self.tracker = CallTracker(match)
        self._calls: dict[str, Call] = {}  # every call seen, by id, in order of first sight

    def _clock(self) -> float:
        return self._now

    def feed(self, chunk: Chunk) -> None:
        """Feed the bytes of one chunk at its time."""
        if chunk.t is not None:
            self._now = chunk.t
        for event in self._feed.feed(chunk.data):
            self.result.counts.events += 1
            for effect in self.tracker.feed(event):
                self._apply(effect)

    def _apply(self, effect: Effect) -> None:
        call = effect.call
        self._calls.setdefault(call.call_id, call)
        t = self._now if self.result.timed else None
        if isinstance(effect, Pop):
            caller, e164, withheld = self._caller(call)
            state = _pop_state(call, effect.agent_id)
            entry = Entry(t, effect.agent_id, "pop", call.call_id, state, caller, e164, withheld,
                          call.queue)  # fmt: skip
            self.result.timeline.append(entry)
        elif isinstance(effect, Notify):
            entry = Entry(t, effect.agent_id, "call", call.call_id, str(effect.state),
                          queue=call.queue, holder=call.agent)  # fmt: skip
            self.result.timeline.append(entry)

    def _caller(self, call: Call) -> tuple[str | None, str | None, bool]:
        """The caller as the card shows it, its E.164 form, and whether it is withheld."""
        if bool(getattr(call, "withheld", False)):
            return "withheld", None, True
        if call.caller is None:
            return None, None, False
        caller = normalize(call.caller, self._region)
        if caller.withheld:
            return "withheld", None, True
        if caller.kind == "number":
            national = caller.national if caller.region == self._region else None
            return national or caller.e164, caller.e164, False
        return caller.extension or caller.raw, None, False

    def finish(self) -> Result:
        """The result once every chunk is fed: calls summarised, counts completed."""
        result = self.result
        result.counts.rejected = self._feed.rejected
        result.counts.unknown_endpoints = self.tracker.unknown_endpoints
        for call in self._calls.values():
            caller, _, withheld = self._caller(call)
            result.calls.append(
                CallSummary(call.call_id, str(call.state), call.agent, caller, withheld,
                            call.queue, tuple(call.popped))
            )  # fmt: skip
        return result


def _pop_state(call: Call, agent_id: str) -> str:
    """The `state` of the pop message, as the daemon words it."""
    if call.agent == agent_id and call.state is CallState.TRANSFERRED:
        return "transferred"
    return "answered" if call.agent == agent_id else "ringing"


def replay(rec: Recording, match: Match | None = None, region: str = "US") -> Result:
    """Run `rec` through the real pipeline; `match` maps endpoints to agents (default:
    :func:`own_agent`), `region` reads national caller ids."""
    timed = any(chunk.t is not None for chunk in rec.chunks)
    replayer = Replayer(rec.protocol, match or own_agent, region, timed)
    for chunk in rec.chunks:
        replayer.feed(chunk)
    return replayer.finish()
