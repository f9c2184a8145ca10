"""`GET /ws`: one agent tab's websocket.

Credentials and the Origin are checked before the upgrade (401 / 403). After it, the tab gets
``hello`` first, then its hub subscription's messages in order from a writer task the handler
owns. The reader loop applies ``resume``, ``ack``, ``note``, ``choose``, ``dial``, ``ready``,
``pause``, ``unpause`` and the ``callback_*`` actions;
anything else gets an ``error`` message (with ``about``: the type of the message refused, when
known) and is counted. The credentials are checked again before every message either way and at
least every :data:`RECHECK_S`: a tab whose session expired, or whose agent was removed or changed
by a reload, is closed with :data:`CLOSE_SESSION_ENDED`. Every way out unsubscribes and tells the
desk the tab is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiohttp import WSCloseCode, WSMsgType, web

from agent_ui.auth import COOKIE, request_agent, same_origin
from agent_ui.deflate import send_deflated, shares
from agent_ui.keys import COUNTERS, DEFLATE, DESK, SESSIONS, SOCKETS
from screenpop.agents import Agent
from screenpop.delivery.hub import Subscription
from screenpop.delivery.inbound import (
    Ack,
    AnyClientMessage,
    BadMessage,
    CallbackClose,
    CallbackDial,
    CallbackRelease,
    CallbackTake,
    Choose,
    Dial,
    Note,
    Pause,
    Ready,
    Resume,
    Unpause,
    parse_client_message,
)
from screenpop.delivery.outbound import ErrorMessage
from screenpop.delivery.wire import encode
from screenpop.errors import ScreenpopError, StoreError

log = logging.getLogger(__name__)

HEARTBEAT_S = 20.0
RECHECK_S = 30.0  # an idle tab's credentials are checked again this often
MAX_MESSAGE_BYTES = 64 * 1024
CLOSE_TOO_SLOW = 4000  # the tab fell behind; it should reconnect and resume
CLOSE_SESSION_ENDED = 4001  # expired session, or the agent was removed or changed: log in again
CLOSE_SHUTDOWN = int(WSCloseCode.GOING_AWAY)
# A frame up to this size is sent inline; a larger one (which aiohttp may compress off the event
# loop, in a task that outlives its sender) by a task whose end is collected (Tab._send).
INLINE_SEND_BYTES = 16 * 1024
HOLD_S = 0.5  # a new tab's stream waits this long at most for its first message (its resume)
CLOSE_GRACE_S = 2.0  # a closed tab's peer has this long to take the close frame, then is cut off

Check = Callable[[], bool]


async def websocket(request: web.Request) -> web.StreamResponse:
    """Upgrade an authenticated, same-origin request and serve the agent's stream."""
    if not same_origin(request):
        raise web.HTTPForbidden(text="websocket Origin is not this server's public origin")
    agent = request_agent(request)
    if agent is None:
        raise web.HTTPUnauthorized(text="log in or send Authorization: Bearer <token>")
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    await Tab(request.app, agent, ws, still_valid(request, agent), request.transport).serve()
    return ws


async def send_text(ws: web.WebSocketResponse, data: bytes) -> None:
    """Send `data` as one text frame. With permessage-deflate negotiated, each frame is
    compressed by a compressor of its own, freed once the frame is out, instead of the one
    aiohttp keeps for the connection's life: zlib's deflate state (256 KiB with the window of 15
    bits and memLevel 8, about 100 KiB of it resident) would otherwise stay with every idle tab.
    Without the shared context a frame refers only to itself, which every inflater accepts
    (RFC 7692 lets a sender drop its context between messages); frames may compress a little
    less, as none can point back at the previous one."""
    await ws.send_frame(data, WSMsgType.TEXT, compress=int(ws.compress) or None)


def still_valid(request: web.Request, agent: Agent) -> Check:
    """A check that the credentials the tab opened with still name the same agent, unchanged."""
    desk, sessions = request.app[DESK], request.app[SESSIONS]
    if "Authorization" in request.headers:
        token = request.headers["Authorization"].partition(" ")[2].strip()
        return lambda: desk.authenticate(agent.id, token) == agent
    cookie = request.cookies.get(COOKIE, "")
    return lambda: sessions.verify(cookie) == agent.id and desk.agent(agent.id) == agent


class Tab:
    """One open websocket of one agent, from hello to close."""

    def __init__(
        self,
        app: web.Application,
        agent: Agent,
        ws: web.WebSocketResponse,
        valid: Check,
        transport: asyncio.Transport | None = None,
    ) -> None:
        self.desk = app[DESK]
        self.counters = app[COUNTERS]
        self.sockets = app[SOCKETS]
        self.deflate = app[DEFLATE]
        self.agent = agent
        self.ws = ws
        self.valid = valid
        self.transport = transport  # cut when a closed tab's peer does not take the close frame

    async def serve(self) -> None:
        desk = self.desk
        sub = desk.subscribe(self.agent.id)
        sub.hold()  # until the tab's first message says where its stream stands (Hub.resume)
        hold = asyncio.get_running_loop().call_later(HOLD_S, sub.release)
        hello = await desk.hello(self.agent)
        await desk.connected(self.agent.id)
        self.sockets.add(self.ws)
        writer: asyncio.Task[None] | None = None
        closer: asyncio.Task[None] | None = None
        log.info("agent %s: tab connected", self.agent.id)
        try:
            await self._send(encode(hello.to_json()))
            writer = asyncio.create_task(self._write(sub), name=f"ws writer {self.agent.id}")
            closer = asyncio.create_task(
                self._close_when_dropped(sub), name=f"ws closer {self.agent.id}"
            )
            await self._read(sub)
        except ConnectionError:
            log.debug("agent %s: tab went away", self.agent.id)
        finally:
            hold.cancel()
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
            desk.unsubscribe(sub)
            if closer is not None:
                await asyncio.gather(closer, return_exceptions=True)  # at most CLOSE_GRACE_S
            await desk.disconnected(self.agent.id)
            self.sockets.discard(self.ws)
            log.info("agent %s: tab disconnected", self.agent.id)

    async def _write(self, sub: Subscription) -> None:
        """Send the subscription's messages in order, until it or the credentials end."""
        try:
            await self._send_all(sub)
        except ConnectionError:
            log.debug("agent %s: tab went away while sending", self.agent.id)
        except Exception:
            log.exception("agent %s: a message could not be sent; closing the tab", self.agent.id)
            await self.ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")

    async def _close_when_dropped(self, sub: Subscription) -> None:
        """Close the socket as soon as the subscription ends: with :data:`CLOSE_TOO_SLOW` (and
        counted) when its outbox overflowed, however stuck the writer is; else as going away.
        The writer is left alone: once the socket closes, its pending send fails."""
        await sub.wait_closed()
        if sub.too_slow:
            self.desk.slow_client()
            log.info("agent %s: tab too slow; closing it with %d", self.agent.id, CLOSE_TOO_SLOW)
            await self._close(CLOSE_TOO_SLOW, b"too slow: reconnect and resume")
        else:
            await self._close(CLOSE_SHUTDOWN, b"server going away")

    async def _close(self, code: int, message: bytes) -> None:
        """Send the close frame; a peer that has not taken it (and what was queued before it)
        within :data:`CLOSE_GRACE_S` is not reading: its connection is cut, unsent data dropped."""
        try:
            async with asyncio.timeout(CLOSE_GRACE_S):
                # not waiting on the send buffer's drain: a stuck peer never drains it
                await self.ws.close(code=code, message=message, drain=False)
        except (TimeoutError, ConnectionError):
            self._cut()
            return
        if self.transport is not None and self.transport.get_write_buffer_size():
            asyncio.get_running_loop().call_later(CLOSE_GRACE_S, self._cut)

    def _cut(self) -> None:
        """Drop the connection and whatever it still had to send (a no-op once it is gone)."""
        if self.transport is not None:
            self.transport.abort()

    async def _send_all(self, sub: Subscription) -> None:
        """Until the subscription or the credentials end; checks them before every message."""
        while True:
            message = sub.take()  # a frame already waiting needs no timer
            if message is None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RECHECK_S):
                        message = await sub.next()
            if not self.valid():
                await self._end_session()
                return
            if message is None:
                if sub.closed:
                    return
            elif wbits := shares(self.ws, message):
                # a large frame compressed once for every tab it goes to (agent_ui/deflate.py)
                await send_deflated(self.ws, self.deflate.payload(message, wbits))
            else:
                # the frame's bytes as encoded once for every tab (text frame, UTF-8 JSON)
                await self._send(message.data)

    async def _send(self, data: bytes) -> None:
        """Send one text frame, compressed as negotiated (:func:`send_text`). A large frame is
        sent by a task of its own, waited for shielded: aiohttp compresses such a frame off the
        loop in a task that outlives a cancelled sender, so when the tab drops and the writer is
        cancelled, that send still fails on the closing transport afterwards; the task here
        collects that failure (see :func:`_collect`)."""
        if len(data) <= INLINE_SEND_BYTES:
            await send_text(self.ws, data)
            return
        send = asyncio.ensure_future(send_text(self.ws, data))
        send.add_done_callback(self._collect)
        await asyncio.shield(send)

    def _collect(self, send: asyncio.Future[None]) -> None:
        """The end of a shielded send: a closing socket is the tab going away (quiet); anything
        else is logged. Its awaiting writer, if not cancelled, sees the same failure."""
        if send.cancelled():
            return
        exc = send.exception()
        if exc is not None and not isinstance(exc, ConnectionError):
            log.warning("agent %s: a message could not be sent: %r", self.agent.id, exc)

    async def _end_session(self) -> None:
        log.info("agent %s: session expired or agent changed; closing the tab", self.agent.id)
        await self.ws.close(code=CLOSE_SESSION_ENDED, message=b"session ended: log in again")

    async def _read(self, sub: Subscription) -> None:
        async for msg in self.ws:
            if msg.type is WSMsgType.TEXT:
                if not self.valid():
                    await self._end_session()
                    return
                await self._handle(sub, msg.data)
                sub.release()  # a tab that speaks first without resuming goes on from hello
            elif msg.type is WSMsgType.BINARY:
                await self._reject("binary frames are not accepted; send JSON text")
            elif msg.type is WSMsgType.ERROR:
                log.info("agent %s: websocket error: %s", self.agent.id, self.ws.exception())

    async def _handle(self, sub: Subscription, text: str) -> None:
        try:
            message = parse_client_message(text)
        except BadMessage as exc:
            await self._reject(str(exc), exc.about)
            return
        try:
            await self._apply(sub, message)
        except KeyError as exc:
            await self._reject(str(exc.args[0]) if exc.args else "unknown call", message.type)
        except ValueError as exc:
            await self._reject(str(exc), message.type)
        except StoreError:
            log.warning("agent %s: %s not saved", self.agent.id, message.type)
            await self._reply_error("it could not be saved, try again", message.type)
        except ScreenpopError as exc:
            log.warning("agent %s: %s failed: %s", self.agent.id, message.type, exc)
            await self._reply_error(str(exc) or f"{message.type} failed", message.type)

    async def _apply(self, sub: Subscription, message: AnyClientMessage) -> None:
        """Do what the message asks; errors propagate for :meth:`_handle` to report."""
        agent_id, desk = self.agent.id, self.desk
        match message:
            case Resume(last_seq=last_seq):
                await desk.resume(sub, last_seq)
            case Ack(seq=seq):
                desk.ack(agent_id, seq)
            case Note(call_id=call_id, disposition=disposition, text=note, id=note_id):
                await desk.save_note(agent_id, call_id, disposition, note, note_id)
            case Choose(call_id=call_id, customer_id=customer_id):
                await desk.choose(agent_id, call_id, customer_id)
            case Dial(number=number):
                await desk.dial(agent_id, number)
            case Ready():
                await desk.ready(agent_id)
            case Pause(reason=reason, agent=target):
                await desk.set_paused(agent_id, True, reason, target)
            case Unpause(agent=target):
                await desk.set_paused(agent_id, False, None, target)
            case CallbackTake() | CallbackRelease() | CallbackDial() | CallbackClose():
                await desk.callback(agent_id, message)

    async def _reject(self, reason: str, about: str | None = None) -> None:
        """Refuse a malformed or not allowed message (counted in `/metrics`)."""
        self.counters.bad_client_messages.inc()
        await self._reply_error(reason, about)

    async def _reply_error(self, reason: str, about: str | None = None) -> None:
        if not self.ws.closed:
            await self._send(encode(ErrorMessage(reason, about).to_json()))
