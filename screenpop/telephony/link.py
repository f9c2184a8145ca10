"""The one PBX-link skeleton the connection-holding sources (AMI, ESL) share.

:class:`PbxLink` connects (with a timeout), logs in, subscribes, resyncs after every
(re)connect and again whenever the PBX sent frames the parser had to drop (one of them may have
been a ring, an answer or a hangup; at most every :data:`RESYNC_SPACING_S`), keeps the link
alive with a request that must be answered in time, reconnects with backoff, and sends one-off
requests (originate) on the live session or a short one of their own. What differs per
protocol is a small :class:`LinkHooks` object: how to wrap the stream, log in, subscribe,
resync, ping, map an event, and say goodbye. The read pump (:func:`pump`) only parses; health
is logged on change only (:class:`LinkHealth`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

from screenpop.errors import ScreenpopError
from screenpop.events import CallEvent, SourceEvent
from screenpop.health import HealthLatch
from screenpop.telephony.backoff import Backoff
from screenpop.telephony.base import Emit, SourceStatus

log = logging.getLogger(__name__)

RESYNC_SPACING_S = 1.0  # resyncs for dropped frames come at most this often per session

Item = TypeVar("Item")


class FrameParser(Protocol[Item]):
    """A sans-I/O protocol parser: bytes in, complete frames out, malformed ones counted."""

    rejected: int
    last_error: str

    def feed(self, data: bytes) -> list[Item]: ...


async def pump(
    reader: asyncio.StreamReader,
    parser: FrameParser[Item],
    dispatch: Callable[[Item], bool],
    on_reject: Callable[[int, str], None],
    peer: str,
) -> str | None:
    """Feed everything `reader` yields through `parser`, handing each frame to `dispatch`, until
    the peer closes (its reason returned), a read fails (likewise), or `dispatch` returns False
    (None returned: `dispatch` knows why). Only parsing happens here, never waiting on work."""
    while True:
        try:
            data = await reader.read(65536)
        except OSError as exc:
            return f"read failed: {exc}"
        if not data:
            return f"{peer} closed the connection"
        before = parser.rejected
        items = parser.feed(data)
        if parser.rejected != before:
            on_reject(parser.rejected - before, parser.last_error)
        for item in items:
            if not dispatch(item):
                return None


def describe(exc: BaseException, refused_hint: str) -> str:
    """One line for the status and the log; `refused_hint` says what to check when refused."""
    if isinstance(exc, TimeoutError):
        return str(exc) or "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused ({refused_hint})"
    return str(exc) or type(exc).__name__


async def open_stream(
    host: str, port: int, timeout_s: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to the PBX, or TimeoutError saying how long it waited."""
    try:
        async with asyncio.timeout(timeout_s):
            return await asyncio.open_connection(host, port)
    except TimeoutError:
        raise TimeoutError(f"no connection within {timeout_s}s") from None


class LinkHealth:
    """The status one source shows in `/readyz`, `/metrics` and `screenpop check`; its log
    lines say when the link goes up or down, not on every retry or event."""

    def __init__(self, name: str, frames: str) -> None:
        self.name = name
        self.frames = frames  # what the protocol calls a message, for the log: "AMI message"
        self.status = SourceStatus()
        self._latch = HealthLatch(log, healthy=False)  # so the first up is logged
        self._down_key: str | None = None  # why it is down, as last logged

    def up(self, detail: str) -> None:
        """Up with `detail`; logged when it was down (or had never been up)."""
        self.status.set(connected=True, logged_in=True, detail=detail)
        self._latch.up("telephony %s: %s", self.name, detail)

    def down(self, detail: str, reason: str | None = None) -> None:
        """Down with `detail`; logged when it was up, or when `reason` (default: detail) is not
        the one last logged."""
        self.status.set(connected=False, logged_in=False, detail=detail)
        key = reason if reason is not None else detail
        went_down = self._latch.down("telephony %s: %s", self.name, detail)
        if not went_down and key != self._down_key:
            log.warning("telephony %s: %s", self.name, detail)
        self._down_key = key

    def emit_all(self, emit: Emit, events: Sequence[SourceEvent]) -> None:
        for event in events:
            self.status.emitted()
            if isinstance(event, CallEvent) and log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "call %s: %s %s caller=%s",
                    event.call_id,
                    event.kind,
                    event.endpoint,
                    event.caller,
                )
            emit(event)

    def count_rejects(self, count: int, reason: str) -> None:
        self.status.rejected += count
        log.debug("telephony %s: rejected %d malformed %s(s): %s", self.name, count, self.frames,
                  reason)  # fmt: skip


async def reconnect_forever(
    health: LinkHealth,
    session: Callable[[], Awaitable[str]],
    backoff: Backoff,
    explain: Callable[[BaseException], str],
) -> None:
    """Run `session` (connect, log in, read; returns why it ended) again and again, waiting
    longer after each failure and briefly again once a session got all the way up. Never
    raises but CancelledError: a bug in one session is logged and the link comes back."""
    while True:
        try:
            reason = await session()
        except (OSError, TimeoutError, ScreenpopError) as exc:
            reason = explain(exc)
        except Exception as exc:
            log.exception("telephony %s: unexpected error", health.name)
            reason = f"internal error: {type(exc).__name__}"
        if health.status.logged_in:
            backoff.reset()
        delay = backoff.next()
        health.down(f"{reason}; retrying in {delay:.1f}s", reason)
        health.status.reconnects += 1
        await asyncio.sleep(delay)


Conn = TypeVar("Conn", bound="Connection")
Reply = TypeVar("Reply")
Emitter = Callable[[Sequence[SourceEvent]], None]


class Connection(Protocol):
    """One open session to the PBX, with its read task running."""

    @property
    def closed(self) -> asyncio.Event: ...

    @property
    def close_reason(self) -> str: ...

    async def close(self) -> None: ...


class LinkSettings(Protocol):
    """The options every PBX link has (the AMI and ESL option models provide them)."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def connect_timeout_s(self) -> float: ...
    @property
    def ping_interval_s(self) -> float: ...
    @property
    def ping_timeout_s(self) -> float: ...
    @property
    def backoff_min_s(self) -> float: ...
    @property
    def backoff_max_s(self) -> float: ...


class LinkHooks(Protocol[Conn, Item]):
    """What one PBX protocol plugs into :class:`PbxLink`. Every coroutine may raise OSError,
    TimeoutError or a ScreenpopError (AuthError for a refused login); the link handles them."""

    keepalive: str  # what the keep-alive request is called in the half-open message
    login_step: str  # the status while logging in: "logging in", "authenticating"

    def connect(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_item: Callable[[Item], None],
        on_reject: Callable[[int, str], None],
    ) -> Conn:
        """Wrap a fresh stream pair; `on_item` gets every event read, `on_reject` counts."""
        ...

    async def login(self, conn: Conn) -> str:
        """Log in; the line the link logs once it is up."""
        ...

    async def subscribe(self, conn: Conn) -> None:
        """After login, before the link counts as up (ESL: the event subscription)."""
        ...

    async def resync(self, conn: Conn, emit: Emitter) -> None:
        """Re-learn the calls in progress; hand their events to `emit`."""
        ...

    async def ping(self, conn: Conn, wait_s: float) -> None:
        """One keep-alive request; TimeoutError when not answered within `wait_s`."""
        ...

    def map(self, item: Item) -> Sequence[SourceEvent]:
        """The events (calls, agent statuses) one event read means (may raise: the link
        counts and logs it)."""
        ...

    def describe(self, item: Item) -> str:
        """The event, for a log line: `Newchannel event of call 1.2`."""
        ...

    def explain(self, exc: BaseException) -> str:
        """Why a session failed, for the status and the log."""
        ...

    def closing(self, conn: Conn) -> None:
        """Last words before the connection is closed (never waits)."""
        ...

    async def goodbye(self, conn: Conn) -> None:
        """After a one-off request on a connection of its own (never raises)."""
        ...


class PbxLink(Generic[Conn, Item]):
    """The link to one PBX: sessions again and again until cancelled, and one-off requests.

    Build it with the source's options and hooks; :meth:`run` is the source's `run`.
    :attr:`live` is the logged-in session, while there is one.
    """

    def __init__(
        self, name: str, settings: LinkSettings, hooks: LinkHooks[Conn, Item], frames: str
    ) -> None:
        self.name = name
        self.settings = settings
        self.hooks = hooks
        self.health = LinkHealth(name, frames)
        self.status = self.health.status
        self.live: Conn | None = None
        self.reply_timeout = max(settings.ping_timeout_s, settings.connect_timeout_s)
        self._dropped_frames = asyncio.Event()  # since the last resync began

    async def run(self, emit: Emit) -> None:
        """Connect, log in, subscribe, resync and read until cancelled; reconnect with backoff."""
        backoff = Backoff(self.settings.backoff_min_s, self.settings.backoff_max_s)
        session = functools.partial(self._session, emit)
        await reconnect_forever(self.health, session, backoff, self.hooks.explain)

    async def open(self, on_item: Callable[[Item], None]) -> Conn:
        """A new connection, not logged in yet. Raises OSError or TimeoutError."""
        opts = self.settings
        reader, writer = await open_stream(opts.host, opts.port, opts.connect_timeout_s)
        return self.hooks.connect(reader, writer, on_item, self._rejected)

    def _rejected(self, count: int, reason: str) -> None:
        """The parser dropped `count` frames: counted, and the calls are re-learned soon."""
        self.health.count_rejects(count, reason)
        self._dropped_frames.set()

    async def send_once(self, request: Callable[[Conn], Awaitable[Reply]]) -> Reply:
        """`request` on the live session, or on a short session of its own when there is none."""
        conn = self.live
        if conn is not None and not conn.closed.is_set():
            return await request(conn)
        conn = await self.open(lambda _item: None)
        try:
            await self.hooks.login(conn)
            reply = await request(conn)
            await self.hooks.goodbye(conn)
            return reply
        finally:
            self.hooks.closing(conn)
            with contextlib.suppress(OSError):
                await conn.close()

    async def _session(self, emit: Emit) -> str:
        """One connection from connect to close; returns why it closed, raises on failure."""
        conn = await self.open(self._dispatcher(emit))
        self.status.set(connected=True, logged_in=False, detail=self.hooks.login_step)
        self._dropped_frames.clear()  # the resync below re-learns everything before it
        watcher: asyncio.Task[None] | None = None
        try:
            detail = await self.hooks.login(conn)
            await self.hooks.subscribe(conn)
            self.live = conn
            self.health.up(detail)
            relearn: Emitter = functools.partial(self.health.emit_all, emit)
            await self.hooks.resync(conn, relearn)
            watcher = asyncio.create_task(self._resync_on_dropped_frames(conn, relearn))
            return await self._keepalive(conn)
        finally:
            self.live = None
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            self.hooks.closing(conn)
            await conn.close()

    async def _resync_on_dropped_frames(self, conn: Conn, relearn: Emitter) -> None:
        """While the session lasts: resync after the parser dropped frames, since one of them may
        have carried a call event (garbage glued to a ring frame loses the pop otherwise). Ends
        quietly when a resync fails: the session is ending, and the keep-alive says why."""
        while True:
            await self._dropped_frames.wait()
            self._dropped_frames.clear()
            log.debug("telephony %s: frames dropped; resyncing", self.name)
            try:
                await self.hooks.resync(conn, relearn)
            except (OSError, TimeoutError, ScreenpopError) as exc:
                log.debug("telephony %s: resync failed: %s", self.name, self.hooks.explain(exc))
                return
            await asyncio.sleep(RESYNC_SPACING_S)

    async def _keepalive(self, conn: Conn) -> str:
        opts = self.settings
        while True:
            try:
                async with asyncio.timeout(opts.ping_interval_s):
                    await conn.closed.wait()
                return conn.close_reason
            except TimeoutError:
                pass
            try:
                await self.hooks.ping(conn, opts.ping_timeout_s)
            except TimeoutError:
                raise TimeoutError(
                    f"no reply to {self.hooks.keepalive} within {opts.ping_timeout_s}s "
                    "(half-open connection)"
                ) from None

    def _dispatcher(self, emit: Emit) -> Callable[[Item], None]:
        def on_item(item: Item) -> None:
            try:
                events = self.hooks.map(item)
            except Exception:  # one bad event must not stop the reader
                self.status.rejected += 1
                log.exception(
                    "telephony %s: failed to map %s", self.name, self.hooks.describe(item)
                )
                return
            self.health.emit_all(emit, events)

        return on_item
