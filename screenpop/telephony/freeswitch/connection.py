"""One FreeSWITCH event socket TCP session: the read task, and the futures of requests in flight.

The read task only parses and dispatches: events go to a callback that must not block (the
mapper and `emit`); command/reply and api/response frames go to the request that asked (the
sans-I/O :class:`~screenpop.telephony.freeswitch.protocol.CommandReplies` pairs them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from screenpop.errors import ProtocolError
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
)
from screenpop.telephony.session import PbxSession

log = logging.getLogger(__name__)


class EslConnection(PbxSession[Frame]):
    """One TCP session: a read task feeding the parser; the sans-I/O
    :class:`~screenpop.telephony.freeswitch.protocol.CommandReplies` pairs replies with requests."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_event: Callable[[Event], None],
        on_reject: Callable[[int, str], None],
    ) -> None:
        self._on_event = on_event
        self._replies = CommandReplies()
        self._waiting: dict[int, asyncio.Future[Frame]] = {}
        self.auth_requested = asyncio.Event()
        super().__init__(
            reader, writer, EslParser(), on_reject, peer="FreeSWITCH", task_name="esl reader"
        )

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

    def _fail_waiting(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError(self.close_reason))
        self._waiting.clear()
        self._replies.clear()
        self.auth_requested.set()  # wake a login waiting for a banner that will never come

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
