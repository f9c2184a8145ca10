"""One Asterisk manager TCP session: the read task, and actions matched to replies by ActionID.

The read task only parses and dispatches: events go to a callback that must not block (the
mapper and `emit`), responses and event-list items go to the action that asked for them. Asterisk
drops a manager session whose writes stall, so nothing here ever waits on anything but the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from screenpop.errors import ProtocolError
from screenpop.telephony.asterisk.protocol import AmiParser, Banner, Message, encode_action
from screenpop.telephony.link import pump

log = logging.getLogger(__name__)

OnItems = Callable[[list[Message]], None]


@dataclass(slots=True)
class _Pending:
    response: asyncio.Future[Message]
    listing: bool = False
    items: list[Message] = field(default_factory=list)
    done: asyncio.Future[list[Message]] | None = None
    on_complete: OnItems | None = None


class AmiConnection:
    """A logged-out AMI session over an open stream pair; :meth:`close` it when done."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_event: Callable[[Message], None],
        on_reject: Callable[[int, str], None],
    ) -> None:
        self._reader, self._writer = reader, writer
        self._on_event, self._on_reject = on_event, on_reject
        self._parser = AmiParser()
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        loop = asyncio.get_running_loop()
        self.banner: asyncio.Future[Banner | None] = loop.create_future()
        self.closed = asyncio.Event()
        self.close_reason = "connection closed"
        self._task = asyncio.create_task(self._read_loop(), name="ami reader")

    # -- reading --------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        try:
            reason = await pump(
                self._reader, self._parser, self._dispatch, self._on_reject, "Asterisk"
            )
            self.close_reason = reason or self.close_reason
        finally:
            self._shut()

    def _dispatch(self, item: Banner | Message) -> bool:
        """Route one message; always True: reading goes on until Asterisk closes."""
        if isinstance(item, Banner):
            if not self.banner.done():
                self.banner.set_result(item)
            return True
        if not self.banner.done():
            self.banner.set_result(None)  # a stream that did not greet like Asterisk
        if item.response:
            self._on_response(item)
            return True
        pending = self._pending.get(item.action_id) if item.action_id else None
        if pending is not None and pending.listing:
            self._on_list_item(item.action_id, pending, item)
        elif item.event == "Shutdown":
            self.close_reason = "Asterisk is shutting down"
        else:
            self._on_event(item)
        return True

    def _on_response(self, msg: Message) -> None:
        if msg.response.lower() == "goodbye":
            self.close_reason = "logged off"
        pending = self._pending.get(msg.action_id)
        if pending is None or pending.response.done():
            return
        pending.response.set_result(msg)
        if not pending.listing or msg.event_list != "start":
            self._pending.pop(msg.action_id, None)

    def _on_list_item(self, action_id: str, pending: _Pending, msg: Message) -> None:
        if msg.event_list != "complete":
            pending.items.append(msg)
            return
        self._pending.pop(action_id, None)
        if pending.on_complete is not None:
            pending.on_complete(pending.items)  # inline: in stream order with live events
        if pending.done is not None and not pending.done.done():
            pending.done.set_result(pending.items)

    def _shut(self) -> None:
        for pending in self._pending.values():
            for future in (pending.response, pending.done):
                if future is not None and not future.done():
                    future.set_exception(ConnectionError(self.close_reason))
        self._pending.clear()
        if not self.banner.done():
            self.banner.set_result(None)
        self.closed.set()
        self._writer.close()

    # -- actions --------------------------------------------------------------------------------

    def _send(self, action: str, fields: Iterable[tuple[str, str]], pending: _Pending) -> str:
        if self.closed.is_set():
            raise ConnectionError(self.close_reason)
        action_id = f"{action.lower()}-{next(self._ids)}"
        wire = encode_action(action, action_id, fields)
        self._pending[action_id] = pending
        self._writer.write(wire)
        return action_id

    async def request(
        self, action: str, fields: Iterable[tuple[str, str]], wait_s: float
    ) -> Message:
        """Send one action; its response. Raises TimeoutError, OSError (ConnectionError)."""
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        action_id = self._send(action, fields, _Pending(future))
        try:
            async with asyncio.timeout(wait_s):
                await self._writer.drain()
                return await future
        finally:
            self._pending.pop(action_id, None)

    async def request_list(
        self,
        action: str,
        fields: Iterable[tuple[str, str]],
        wait_s: float,
        on_complete: OnItems | None = None,
    ) -> list[Message]:
        """Send an action answered by an event list; its items (the final event excluded).

        `on_complete` runs inside the read task the moment the list ends, before any event that
        follows it is dispatched. Raises ProtocolError when Asterisk answers `Error`.
        """
        loop = asyncio.get_running_loop()
        pending = _Pending(loop.create_future(), True, done=loop.create_future())
        pending.on_complete = on_complete
        action_id = self._send(action, fields, pending)
        try:
            async with asyncio.timeout(wait_s):
                await self._writer.drain()
                response = await pending.response
                if response.response.lower() != "success":
                    raise ProtocolError(f"{action} refused: {response.get('Message')}")
                assert pending.done is not None
                return await pending.done
        finally:
            self._pending.pop(action_id, None)

    def send_logoff(self) -> None:
        """Say goodbye without waiting for the answer (used while closing)."""
        if not self.closed.is_set():
            with contextlib.suppress(OSError, RuntimeError, ProtocolError):
                self._writer.write(encode_action("Logoff", "logoff-0"))

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
