"""FreeSWITCH as a telephony source: the event socket in inbound mode (`kind = "esl"`).

:class:`EslSource` connects to mod_event_socket, answers `auth/request` with the password,
subscribes to the channel events and mod_callcenter's `CUSTOM callcenter::info`, and hands each
event to the sans-I/O mapper (:mod:`screenpop.telephony.freeswitch.mapper`); framing lives in
:mod:`screenpop.telephony.freeswitch.protocol`. The reader never waits on anything but the socket.

After every (re)connect it resyncs: `api show channels as json` re-learns calls ringing or
answered on user legs, `api callcenter_config queue list members <queue>` re-learns queued ones.
A periodic `api status` with a reply deadline notices half-open connections. A bad password, a
refused connection or a `text/disconnect-notice` sets :attr:`EslSource.status`, logs once per
change and retries with exponential backoff; nothing here raises out of :meth:`EslSource.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Field

from screenpop.errors import AuthError, ProtocolError
from screenpop.settings import Strict, validate_options
from screenpop.telephony.backoff import Backoff
from screenpop.telephony.base import Emit, SourceContext, SourceStatus
from screenpop.telephony.freeswitch.mapper import EslCallMapper
from screenpop.telephony.freeswitch.protocol import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DISCONNECT_NOTICE,
    EVENT_PLAIN,
    RUDE_REJECTION,
    CommandReplies,
    EslParser,
    Event,
    Frame,
    parse_event,
    subscribe_command,
)
from screenpop.telephony.freeswitch.resync import parse_queue_names
from screenpop.telephony.link import (
    LinkHealth,
    describe,
    open_stream,
    pump,
    reconnect_forever,
)

log = logging.getLogger(__name__)

CHANNEL_EVENTS = [
    "CHANNEL_CREATE",
    "CHANNEL_PROGRESS",
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_HANGUP_COMPLETE",
    "HEARTBEAT",
]
CUSTOM_EVENTS = ["callcenter::info"]
MAX_RESYNC_QUEUES = 200
_EXTENSION = re.compile(r"^[A-Za-z0-9_.+-]{1,64}(@[A-Za-z0-9_.-]{1,128})?$")
_NUMBER = re.compile(r"^\+?[0-9*#]{1,32}$")
_AGENT = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
_QUEUE = re.compile(r"^[^\s|]{1,128}$")


class EslOptions(Strict):
    """The options of a `[[telephony]] kind = "esl"` entry."""

    host: str = "127.0.0.1"
    port: int = Field(default=8021, ge=1, le=65535)
    password: str = Field(min_length=1)
    ping_interval_s: float = Field(default=20.0, gt=0)  # an `api status` this often...
    ping_timeout_s: float = Field(default=5.0, gt=0)  # ...must be answered within this
    connect_timeout_s: float = Field(default=5.0, gt=0)
    backoff_min_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    originate_context: str = Field(default="default", pattern=r"^[A-Za-z0-9_.-]{1,64}$")


class _Connection:
    """One TCP session: a read task feeding the parser; the sans-I/O
    :class:`~screenpop.telephony.freeswitch.protocol.CommandReplies` pairs replies with requests."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_event: Callable[[Event], None],
        on_reject: Callable[[int, str], None],
    ) -> None:
        self._reader, self._writer = reader, writer
        self._on_event, self._on_reject = on_event, on_reject
        self._parser = EslParser()
        self._replies = CommandReplies()
        self._waiting: dict[int, asyncio.Future[Frame]] = {}
        self.auth_requested = asyncio.Event()
        self.closed = asyncio.Event()
        self.close_reason = "connection closed"
        self._task = asyncio.create_task(self._read_loop(), name="esl reader")

    async def _read_loop(self) -> None:
        try:
            reason = await pump(
                self._reader, self._parser, self._dispatch, self._on_reject, "FreeSWITCH"
            )
            self.close_reason = reason or self.close_reason
        finally:
            self._shut()

    def _dispatch(self, frame: Frame) -> bool:
        kind = frame.content_type
        if kind == EVENT_PLAIN:
            try:
                event = parse_event(frame)
            except ProtocolError as exc:
                self._on_reject(1, str(exc))
            else:
                self._on_event(event)
        elif kind in (COMMAND_REPLY, API_RESPONSE):
            answered = self._replies.receive(frame)
            future = self._waiting.pop(answered[0], None) if answered else None
            if future is not None and not future.done():
                future.set_result(frame)
        elif kind == AUTH_REQUEST:
            self.auth_requested.set()
        elif kind == DISCONNECT_NOTICE:
            self.close_reason = "FreeSWITCH sent disconnect-notice"
            return False
        elif kind == RUDE_REJECTION:
            text = frame.body.decode("utf-8", errors="replace").strip()
            self.close_reason = f"refused by FreeSWITCH's ACL ({text}): check apply-inbound-acl"
            return False
        else:
            log.debug("ignoring ESL frame of type %s", kind)
        return True

    def _shut(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError(self.close_reason))
        self._waiting.clear()
        self._replies.clear()
        self.closed.set()
        self.auth_requested.set()  # wake a login waiting for a banner that will never come
        self._writer.close()

    async def request(self, line: str, wait_s: float) -> Frame:
        """Send one command; its command/reply or api/response. Raises TimeoutError, OSError."""
        if self.closed.is_set():
            raise ConnectionError(self.close_reason)
        ticket, wire = self._replies.ask(line)
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._waiting[ticket] = future
        self._writer.write(wire)
        try:
            async with asyncio.timeout(wait_s):
                await self._writer.drain()
                return await future
        finally:  # a request that timed out still owns its late reply: it is dropped then
            self._waiting.pop(ticket, None)
            self._replies.forget(ticket)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AuthError):
        return f"login failed: {exc}"
    return describe(exc, "is mod_event_socket listening?")


class EslSource:
    """A FreeSWITCH server over mod_event_socket. Built by the daemon from `[[telephony]]`."""

    def __init__(self, name: str, options: Mapping[str, Any], context: SourceContext) -> None:
        self.name = name
        self.options = validate_options(EslOptions, options, f"telephony.{name}")
        self.context = context
        self.health = LinkHealth(name, "ESL frame")
        self.status = self.health.status
        self.mapper = EslCallMapper(name)
        self._conn: _Connection | None = None  # the live, subscribed session (for originate)
        self._reply_timeout = max(self.options.ping_timeout_s, self.options.connect_timeout_s)

    # -- Source protocol ------------------------------------------------------------------------

    async def run(self, emit: Emit) -> None:
        """Connect, log in, subscribe, resync and read until cancelled; reconnect with backoff."""
        backoff = Backoff(self.options.backoff_min_s, self.options.backoff_max_s)
        await reconnect_forever(self.health, lambda: self._session(emit), backoff, _describe)

    async def check(self) -> SourceStatus:
        """Connect and authenticate once, then say `exit`; the outcome, never an exception."""
        status = SourceStatus(detail="connecting")
        opts = self.options
        try:
            conn = await self._open(lambda _event: None)
            status.set(connected=True, logged_in=False, detail="authenticating")
            try:
                await self._login(conn)
                status.set(connected=True, logged_in=True, detail="connected, password accepted")
                with contextlib.suppress(OSError, TimeoutError):
                    await conn.request("exit", opts.ping_timeout_s)
            finally:
                await conn.close()
        except AuthError as exc:
            status.set(connected=True, logged_in=False, detail=f"login failed: {exc}")
        except (OSError, TimeoutError, ProtocolError) as exc:
            status.set(connected=False, logged_in=False, detail=_describe(exc))
        return status

    async def originate(self, extension: str, number: str, agent_id: str) -> str:
        """Ring `extension` (`1001`, `user/1001`, `1001@domain`), then dial `number` from it.

        Sends `bgapi originate {origination_caller_id_number=<number>,...}user/<ext> <number>
        XML <originate_context>` and returns FreeSWITCH's Job-UUID. The agent's leg carries
        `screenpop_outbound=true`, so the pop it causes is marked outbound. Raises ProtocolError
        (refused, unreachable, unsafe arguments) or AuthError.
        """
        ext = extension.removeprefix("user/")
        if not _EXTENSION.match(ext) or not _NUMBER.match(number) or not _AGENT.match(agent_id):
            raise ProtocolError("refusing to originate: extension, number or agent id not plain")
        variables = (
            f"origination_caller_id_number={number},screenpop_agent={agent_id},"
            "screenpop_outbound=true"
        )
        context = self.options.originate_context
        line = f"bgapi originate {{{variables}}}user/{ext} {number} XML {context}"
        try:
            reply = await self._send_once(line)
        except (OSError, TimeoutError) as exc:
            raise ProtocolError(f"FreeSWITCH {self.name} unreachable: {_describe(exc)}") from exc
        if not reply.ok:
            raise ProtocolError(f"FreeSWITCH refused originate: {reply.reply_text}")
        job = reply.headers.get("Job-UUID") or reply.reply_text.removeprefix("+OK Job-UUID:")
        return job.strip()

    # -- one session ----------------------------------------------------------------------------

    async def _session(self, emit: Emit) -> str:
        """One connection from connect to close; returns why it closed, raises on failure."""
        conn = await self._open(self._event_handler(emit))
        self.status.set(connected=True, logged_in=False, detail="authenticating")
        try:
            await self._login(conn)
            known_before = self.mapper.open_calls  # no event of this session can precede this
            line = subscribe_command(CHANNEL_EVENTS, CUSTOM_EVENTS)
            reply = await conn.request(line, self._reply_timeout)
            if not reply.ok:
                raise ProtocolError(f"event subscription refused: {reply.reply_text}")
            self._conn = conn
            self.health.up(f"connected to {self.options.host}:{self.options.port}, subscribed")
            await self._resync(conn, emit, known_before)
            return await self._keepalive(conn)
        finally:
            self._conn = None
            await conn.close()

    async def _open(self, on_event: Callable[[Event], None]) -> _Connection:
        opts = self.options
        reader, writer = await open_stream(opts.host, opts.port, opts.connect_timeout_s)
        return _Connection(reader, writer, on_event, self.health.count_rejects)

    async def _login(self, conn: _Connection) -> None:
        try:
            async with asyncio.timeout(self.options.connect_timeout_s):
                await conn.auth_requested.wait()
        except TimeoutError:
            raise TimeoutError(
                "no auth/request from the server: is this mod_event_socket?"
            ) from None
        if conn.closed.is_set():
            raise ConnectionError(conn.close_reason)
        reply = await conn.request(f"auth {self.options.password}", self._reply_timeout)
        if not reply.ok:
            raise AuthError(
                f"FreeSWITCH rejected the password ({reply.reply_text}): "
                "check `password` in event_socket.conf.xml"
            )

    async def _resync(self, conn: _Connection, emit: Emit, known_before: list[str]) -> None:
        """Re-learn calls ringing, queued or answered, and end those gone while we were away.

        `known_before` are the calls open when the subscription was confirmed: only those can
        have ended unseen; calls learned from events since are current.
        """
        reply = await conn.request("api show channels as json", self._reply_timeout)
        channels = reply.body.decode("utf-8", "replace") if reply.ok else None
        members: dict[str, str] = {}
        reply = await conn.request("api callcenter_config queue list", self._reply_timeout)
        if reply.ok:  # else mod_callcenter is not loaded: nothing queued to re-learn
            queues = parse_queue_names(reply.body.decode("utf-8", "replace"))
            for queue in [q for q in queues if _QUEUE.match(q)][:MAX_RESYNC_QUEUES]:
                line = f"api callcenter_config queue list members {queue}"
                reply = await conn.request(line, self._reply_timeout)
                members[queue] = reply.body.decode("utf-8", "replace")
        self.health.emit_all(emit, self.mapper.resync(channels, members, known_before))

    async def _keepalive(self, conn: _Connection) -> str:
        opts = self.options
        while True:
            try:
                async with asyncio.timeout(opts.ping_interval_s):
                    await conn.closed.wait()
                return conn.close_reason
            except TimeoutError:
                pass
            try:
                await conn.request("api status", opts.ping_timeout_s)
            except TimeoutError:
                raise TimeoutError(
                    f"no reply to keep-alive within {opts.ping_timeout_s}s (half-open connection)"
                ) from None

    async def _send_once(self, line: str) -> Frame:
        conn = self._conn
        if conn is not None and not conn.closed.is_set():
            return await conn.request(line, self._reply_timeout)
        conn = await self._open(lambda _event: None)
        try:
            await self._login(conn)
            reply = await conn.request(line, self._reply_timeout)
            with contextlib.suppress(OSError, TimeoutError):
                await conn.request("exit", self.options.ping_timeout_s)
            return reply
        finally:
            await conn.close()

    # -- events and status ----------------------------------------------------------------------

    def _event_handler(self, emit: Emit) -> Callable[[Event], None]:
        def on_event(event: Event) -> None:
            if event.name == "HEARTBEAT":
                return
            try:
                self.health.emit_all(emit, self.mapper.feed(event.headers))
            except Exception:  # one bad event must not stop the reader
                log.exception("telephony %s: failed to map %s event", self.name, event.name)

        return on_event
