"""`GET /ws`: one agent tab's websocket.

Credentials and the Origin are checked before the upgrade (401 / 403). After it, the tab gets
``hello`` first, then its hub subscription's messages in order from a writer task the handler
owns. The reader loop applies ``resume``, ``ack`` and ``note``; anything else gets an ``error``
message and is counted. Every way out unsubscribes and tells the daemon the tab is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import WSCloseCode, WSMsgType, web

from agent_ui.auth import request_agent, same_origin
from agent_ui.keys import COUNTERS, DAEMON, SOCKETS
from agent_ui.messages import Ack, BadMessage, Note, Resume, parse_client_message
from screenpop.agents import Agent
from screenpop.errors import StoreError
from screenpop.hub import Subscription

log = logging.getLogger(__name__)

HEARTBEAT_S = 20.0
MAX_MESSAGE_BYTES = 64 * 1024
CLOSE_TOO_SLOW = 4000  # the tab fell behind; it should reconnect and resume
CLOSE_SHUTDOWN = int(WSCloseCode.GOING_AWAY)


async def websocket(request: web.Request) -> web.StreamResponse:
    """Upgrade an authenticated, same-origin request and serve the agent's stream."""
    if not same_origin(request):
        raise web.HTTPForbidden(text="websocket Origin is not this server's public origin")
    agent = request_agent(request)
    if agent is None:
        raise web.HTTPUnauthorized(text="log in or send Authorization: Bearer <token>")
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    await Tab(request.app, agent, ws).serve()
    return ws


class Tab:
    """One open websocket of one agent, from hello to close."""

    def __init__(self, app: web.Application, agent: Agent, ws: web.WebSocketResponse) -> None:
        self.daemon = app[DAEMON]
        self.counters = app[COUNTERS]
        self.sockets = app[SOCKETS]
        self.agent = agent
        self.ws = ws

    async def serve(self) -> None:
        daemon = self.daemon
        sub = daemon.hub.subscribe(self.agent.id)
        hello = daemon.hello(self.agent)
        daemon.connected(self.agent.id)
        self.sockets.add(self.ws)
        writer: asyncio.Task[None] | None = None
        log.info("agent %s: tab connected", self.agent.id)
        try:
            await self.ws.send_str(json.dumps(hello))
            writer = asyncio.create_task(self._write(sub), name=f"ws writer {self.agent.id}")
            await self._read(sub)
        except ConnectionError:
            log.debug("agent %s: tab went away", self.agent.id)
        finally:
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
            daemon.hub.unsubscribe(sub)
            daemon.disconnected(self.agent.id)
            self.sockets.discard(self.ws)
            log.info("agent %s: tab disconnected", self.agent.id)

    async def _write(self, sub: Subscription) -> None:
        """Send the subscription's messages in order; close the socket when the hub drops it."""
        try:
            while (message := await sub.next()) is not None:
                await self.ws.send_str(json.dumps(message))
        except ConnectionError:
            log.debug("agent %s: tab went away while sending", self.agent.id)
            return
        except Exception:
            log.exception("agent %s: a message could not be sent; closing the tab", self.agent.id)
            await self.ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")
            return
        if "slow" in sub.close_reason:
            self.daemon.metrics.slow_clients.inc()
            await self.ws.close(code=CLOSE_TOO_SLOW, message=b"too slow: reconnect and resume")
        else:
            await self.ws.close(code=CLOSE_SHUTDOWN, message=b"server going away")

    async def _read(self, sub: Subscription) -> None:
        async for msg in self.ws:
            if msg.type is WSMsgType.TEXT:
                await self._handle(sub, msg.data)
            elif msg.type is WSMsgType.BINARY:
                await self._reject("binary frames are not accepted; send JSON text")
            elif msg.type is WSMsgType.ERROR:
                log.info("agent %s: websocket error: %s", self.agent.id, self.ws.exception())

    async def _handle(self, sub: Subscription, text: str) -> None:
        try:
            message = parse_client_message(text)
        except BadMessage as exc:
            await self._reject(str(exc))
            return
        if isinstance(message, Resume):
            self.daemon.resume(sub, message.last_seq)
        elif isinstance(message, Ack):
            self.daemon.ack(self.agent.id, message.seq)
        elif isinstance(message, Note):
            await self._save_note(message)

    async def _save_note(self, note: Note) -> None:
        try:
            await self.daemon.save_note(self.agent.id, note.call_id, note.disposition, note.text)
        except KeyError as exc:
            await self._reject(str(exc.args[0]) if exc.args else "unknown call")
        except StoreError:
            log.warning("agent %s: note on call %s not saved", self.agent.id, note.call_id)
            await self._reject("the note could not be saved, try again")

    async def _reject(self, reason: str) -> None:
        self.counters.bad_client_messages.inc()
        if not self.ws.closed:
            await self.ws.send_str(json.dumps({"type": "error", "reason": reason}))
