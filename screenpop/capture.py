"""`screenpop capture`: record a PBX link's raw stream, with timestamps, for `screenpop replay`.

It connects to one `[[telephony]]` source of the config (AMI or ESL) with that source's own
options, logs in and subscribes with the very commands the live source sends (then the same
resync requests and keep-alives), and writes every frame received and every command sent as one
block of :mod:`screenpop.telephony.recording`'s sized style: `t` since connect, the monotonic
clock, the wall clock with its UTC offset, then the exact bytes. Each block is flushed as it is
written, so a capture cut short by a crash still holds everything up to it.

Nothing is masked (the file holds callers' numbers) except the login secret or password, which
never reaches the file: the `sent` block shows it as `<redacted>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from screenpop.capture_framing import AmiFramer, EslFramer, Framer
from screenpop.errors import ScreenpopError
from screenpop.settings import Settings, SourceSettings, validate_options
from screenpop.telephony import recording
from screenpop.telephony.asterisk.protocol import AmiParser, Message, encode_action
from screenpop.telephony.asterisk.source import AmiOptions
from screenpop.telephony.freeswitch.protocol import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    EslParser,
    Frame,
    command,
    subscribe_command,
)
from screenpop.telephony.freeswitch.resync import parse_queue_names
from screenpop.telephony.freeswitch.source import CHANNEL_EVENTS, CUSTOM_EVENTS, EslOptions
from screenpop.telephony.link import describe, open_stream

REDACTED = "<redacted>"
MAX_RESYNC_QUEUES = 200
WARNING = (
    "screenpop capture: the file will hold the raw PBX stream, callers' numbers and names "
    "included: share it like call records. The login secret is not written."
)


class CaptureFailed(ScreenpopError):
    """The capture could not start or the PBX refused the login; the message says why."""


class Tap:
    """One recorded TCP session: everything read is framed and written; so is everything sent."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        framer: Framer,
        out: BinaryIO,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader, self._writer, self._framer, self._out = reader, writer, framer, out
        self._clock = clock
        self._start = clock()
        self._ready: deque[bytes] = deque()
        self.received = self.sent = 0
        self.closed = False

    def _block(self, kind: recording.BlockKind, data: bytes) -> None:
        mono = self._clock()
        wall = datetime.datetime.now().astimezone().isoformat(timespec="microseconds")
        self._out.write(recording.format_block(mono - self._start, mono, wall, kind, data))
        self._out.flush()

    def send(self, wire: bytes, shown: bytes | None = None) -> None:
        """Write `wire` to the PBX; record `shown` (the wire with its secret redacted)."""
        self._writer.write(wire)
        self._block("sent", wire if shown is None else shown)
        self.sent += 1

    async def next_frame(self) -> bytes | None:
        """The next complete frame (already recorded), or None once the PBX closed."""
        while not self._ready:
            if self.closed:
                return None
            try:
                data = await self._reader.read(65536)
            except OSError:
                data = b""
            if not data:
                self._close()
                continue
            for frame in self._framer.feed(data):
                self._block("recv", frame)
                self.received += 1
                self._ready.append(frame)
        return self._ready.popleft()

    def _close(self) -> None:
        rest = self._framer.rest()
        if rest:
            self._block("recv", rest)
            self.received += 1
        self._block("closed", b"")
        self.closed = True

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class AmiDialogue:
    """The AMI session as :class:`~screenpop.telephony.asterisk.source.AmiSource` runs it:
    banner, Login, `CoreShowChannels` and `QueueStatus`, then a `Ping` every `ping_interval_s`;
    `Logoff`."""

    def __init__(self, options: AmiOptions) -> None:
        self.options = options
        self.interval = options.ping_interval_s
        self.timeout = options.connect_timeout_s
        self._parser = AmiParser()
        self._ids = itertools.count(1)

    def _send(self, tap: Tap, action: str, fields: list[tuple[str, str]]) -> str:
        action_id = f"{action.lower()}-{next(self._ids)}"
        shown = [(k, REDACTED if k == "Secret" else v) for k, v in fields]
        tap.send(encode_action(action, action_id, fields), encode_action(action, action_id, shown))
        return action_id

    async def start(self, tap: Tap) -> None:
        """Log in and ask for the resync lists; raises CaptureFailed if the login is refused."""
        opts = self.options
        await self._until(tap, lambda item: True)  # the banner, or whatever the port says first
        fields = [("Username", opts.username), ("Secret", opts.secret), ("Events", opts.events)]
        login = self._send(tap, "Login", fields)
        reply = await self._until(tap, lambda m: isinstance(m, Message) and m.action_id == login)
        if not isinstance(reply, Message) or reply.response.lower() != "success":
            why = reply.get("Message") if isinstance(reply, Message) else "connection closed"
            raise CaptureFailed(f"login failed: {why or 'no answer'}")
        self._send(tap, "CoreShowChannels", [])
        self._send(tap, "QueueStatus", [])

    async def _until(self, tap: Tap, wanted: Callable[[object], bool]) -> object | None:
        while (frame := await tap.next_frame()) is not None:
            for item in self._parser.feed(frame):
                if wanted(item):
                    return item
        return None

    def keepalive(self, tap: Tap) -> None:
        self._send(tap, "Ping", [])

    def on_frame(self, tap: Tap, frame: bytes) -> None:
        """Nothing to answer on AMI."""

    def goodbye(self, tap: Tap) -> None:
        self._send(tap, "Logoff", [])


class EslDialogue:
    """The ESL session as :class:`~screenpop.telephony.freeswitch.source.EslSource` runs it:
    `auth`, the subscription, the resync commands, then `api status` every `ping_interval_s`;
    `exit`."""

    def __init__(self, options: EslOptions) -> None:
        self.options = options
        self.interval = options.ping_interval_s
        self.timeout = options.connect_timeout_s
        self._parser = EslParser()
        self._pending: deque[str] = deque()  # commands awaiting their reply, in order

    def _send(self, tap: Tap, line: str, shown: str | None = None) -> None:
        self._pending.append(line)
        tap.send(command(line), command(shown) if shown else None)

    async def _reply(self, tap: Tap) -> Frame | None:
        while (frame := await tap.next_frame()) is not None:
            for item in self._parser.feed(frame):
                if item.content_type in (COMMAND_REPLY, API_RESPONSE, AUTH_REQUEST):
                    return item
        return None

    async def start(self, tap: Tap) -> None:
        """Authenticate and subscribe; raises CaptureFailed if FreeSWITCH refuses either."""
        request = await self._reply(tap)
        if request is None or request.content_type != AUTH_REQUEST:
            raise CaptureFailed("no auth/request from the server: is this mod_event_socket?")
        self._send(tap, f"auth {self.options.password}", f"auth {REDACTED}")
        for what in ("password", "event subscription"):
            reply = await self._reply(tap)
            self._pending.popleft()
            if reply is None or not reply.ok:
                text = reply.reply_text if reply is not None else "connection closed"
                raise CaptureFailed(f"FreeSWITCH refused the {what}: {text}")
            if what == "password":
                self._send(tap, subscribe_command(CHANNEL_EVENTS, CUSTOM_EVENTS))
        self._send(tap, "api show channels as json")
        self._send(tap, "api callcenter_config queue list")

    def keepalive(self, tap: Tap) -> None:
        self._send(tap, "api status")

    def on_frame(self, tap: Tap, frame: bytes) -> None:
        """Match replies to commands; the queue list asks for each queue's members."""
        for item in self._parser.feed(frame):
            if item.content_type not in (COMMAND_REPLY, API_RESPONSE) or not self._pending:
                continue
            line = self._pending.popleft()
            if line == "api callcenter_config queue list" and item.ok:
                names = parse_queue_names(item.body.decode("utf-8", "replace"))
                for queue in names[:MAX_RESYNC_QUEUES]:
                    if queue.strip() and " " not in queue:
                        self._send(tap, f"api callcenter_config queue list members {queue}")

    def goodbye(self, tap: Tap) -> None:
        self._send(tap, "exit")


Dialogue = AmiDialogue | EslDialogue


def find_source(settings: Settings, name: str) -> SourceSettings:
    """The `[[telephony]]` entry called `name`; CaptureFailed naming the ones there are."""
    for entry in settings.telephony:
        if entry.name == name:
            return entry
    names = ", ".join(e.name for e in settings.telephony) or "none"
    raise CaptureFailed(f"no [[telephony]] source named {name!r} (the config has: {names})")


def dialogue_for(entry: SourceSettings) -> tuple[Dialogue, str, int, float]:
    """The session to run for a source entry, its host, port and connect timeout."""
    where = f"telephony.{entry.name}"
    if entry.kind == "ami":
        ami = validate_options(AmiOptions, entry.options(), where)
        return AmiDialogue(ami), ami.host, ami.port, ami.connect_timeout_s
    if entry.kind == "esl":
        esl = validate_options(EslOptions, entry.options(), where)
        return EslDialogue(esl), esl.host, esl.port, esl.connect_timeout_s
    raise CaptureFailed(
        f"source {entry.name!r} is kind {entry.kind!r}: only AMI and ESL links can be captured "
        "(a webhook's requests are in the web server's access log; the simulator needs none)"
    )


async def capture(
    settings: Settings,
    source: str,
    out_path: Path,
    duration_s: float | None,
    stop: asyncio.Event,
    err: TextIO | None = None,
) -> int:
    """Record `source` into `out_path` until `stop` is set, `duration_s` passes or the PBX
    closes. 0 when recorded; 1 when the PBX is unreachable or refuses the login; 2 for a
    source that cannot be captured. Progress and errors go to `err` (default stderr)."""
    err = err or sys.stderr
    try:
        entry = find_source(settings, source)
        dialogue, host, port, timeout_s = dialogue_for(entry)
    except ScreenpopError as exc:
        print(f"screenpop capture: {exc}", file=err)
        return 2
    print(WARNING, file=err)
    try:
        reader, writer = await open_stream(host, port, timeout_s)
    except (OSError, TimeoutError) as exc:
        print(f"screenpop capture: {host}:{port}: {describe(exc, 'is the PBX listening?')}",
              file=err)  # fmt: skip
        return 1
    framer: Framer = AmiFramer() if isinstance(dialogue, AmiDialogue) else EslFramer()
    with out_path.open("wb") as out:
        tap = Tap(reader, writer, framer, out)
        print(f"capturing {entry.kind} source {entry.name} ({host}:{port}) to {out_path}; "
              "Ctrl-C stops", file=err)  # fmt: skip
        try:
            code = await _session(tap, dialogue, duration_s, stop, err)
        finally:
            await tap.aclose()
    print(f"{tap.received} frames received, {tap.sent} commands sent: {out_path}", file=err)
    return code


async def _session(
    tap: Tap, dialogue: Dialogue, duration_s: float | None, stop: asyncio.Event, err: TextIO
) -> int:
    try:
        async with asyncio.timeout(duration_s):
            stopping = asyncio.ensure_future(stop.wait())
            try:
                return await _follow(tap, dialogue, stopping, err)
            finally:
                stopping.cancel()
    except TimeoutError:
        return _goodbye(tap, dialogue)


async def _follow(tap: Tap, dialogue: Dialogue, stopping: asyncio.Future[Any], err: TextIO) -> int:
    login: asyncio.Future[Any] = asyncio.ensure_future(_start(tap, dialogue))
    try:
        await asyncio.wait([login, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        login.cancel()
    if stopping.done():
        return _goodbye(tap, dialogue)
    try:
        login.result()
    except CaptureFailed as exc:
        print(f"screenpop capture: {exc}", file=err)
        return 1
    while not tap.closed:
        reading: asyncio.Future[Any] = asyncio.ensure_future(tap.next_frame())
        try:
            done, _ = await asyncio.wait([reading, stopping], timeout=dialogue.interval,
                                         return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            reading.cancel()
        if stopping in done:
            return _goodbye(tap, dialogue)
        if reading in done and (frame := reading.result()) is not None:
            dialogue.on_frame(tap, frame)
        elif not done:
            dialogue.keepalive(tap)
    print("screenpop capture: the PBX closed the connection", file=err)
    return 0


async def _start(tap: Tap, dialogue: Dialogue) -> None:
    try:
        async with asyncio.timeout(dialogue.timeout):
            await dialogue.start(tap)
    except TimeoutError:
        raise CaptureFailed(f"no login answer within {dialogue.timeout}s") from None


def _goodbye(tap: Tap, dialogue: Dialogue) -> int:
    if not tap.closed:
        with contextlib.suppress(OSError, RuntimeError):
            dialogue.goodbye(tap)
    return 0


def run_capture(settings: Settings, source: str, out: Path, duration_s: float | None) -> int:
    """`screenpop capture`: :func:`capture` until SIGINT/SIGTERM (exit 0) or `duration_s`."""

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(sig, stop.set)  # only the main thread may
        return await capture(settings, source, out, duration_s, stop)

    return asyncio.run(main())
