"""One Asterisk manager TCP session: the read task, and the futures of the actions in flight.

The read task only parses and dispatches: events go to a callback that must not block (the
mapper and `emit`), responses and event-list items go to the action that asked for them (the
sans-I/O :class:`~screenpop.telephony.asterisk.protocol.ActionReplies` pairs them by ActionID).
Asterisk drops a manager session whose writes stall, so nothing here ever waits on anything
but the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from screenpop.errors import ProtocolError
from screenpop.telephony.asterisk.protocol import (
    ActionReplies,
    AmiParser,
    Answer,
    Banner,
    Message,
    encode_action,
)
from screenpop.telephony.session import PbxSession

log = logging.getLogger(__name__)

OnItems = Callable[[list[Message]], None]


@dataclass(slots=True)
class _Waiting:
    """The futures of one action in flight: its response, and its list's items if it has one."""

    response: asyncio.Future[Message]
    done: asyncio.Future[list[Message]] | None = None
    on_complete: OnItems | None = None


class AmiConnection(PbxSession[Banner | Message]):
    """A logged-out AMI session over an open stream pair; :meth:`close` it when done."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_event: Callable[[Message], None],
        on_reject: Callable[[int, str], None],
    ) -> None:
        self._on_event = on_event
        self._replies = ActionReplies()
        self._waiting: dict[str, _Waiting] = {}
        self.banner: asyncio.Future[Banner | None] = asyncio.get_running_loop().create_future()
        super().__init__(
            reader, writer, AmiParser(), on_reject, peer="Asterisk", task_name="ami reader"
        )

    # -- reading --------------------------------------------------------------------------------

    def _dispatch(self, item: Banner | Message) -> bool:
        """Route one message; always True: reading goes on until Asterisk closes."""
        if isinstance(item, Banner):
            if not self.banner.done():
                self.banner.set_result(item)
            return True
        if not self.banner.done():
            self.banner.set_result(None)  # a stream that did not greet like Asterisk
        answer = self._replies.receive(item)
        if answer is not None:
            self._on_answer(item, answer)
        elif item.event == "Shutdown":
            self.close_reason = "Asterisk is shutting down"
        else:
            self._on_event(item)
        return True

    def _on_answer(self, msg: Message, answer: Answer) -> None:
        if msg.response.lower() == "goodbye":
            self.close_reason = "logged off"
        waiting = self._waiting.get(answer.action_id)
        if waiting is None:
            return
        if answer.response is not None and not waiting.response.done():
            waiting.response.set_result(answer.response)
        if answer.items is not None:
            items = list(answer.items)
            if waiting.on_complete is not None:
                waiting.on_complete(items)  # inline: in stream order with live events
            if waiting.done is not None and not waiting.done.done():
                waiting.done.set_result(items)
        if answer.final:
            self._waiting.pop(answer.action_id, None)

    def _fail_waiting(self) -> None:
        for waiting in self._waiting.values():
            for future in (waiting.response, waiting.done):
                if future is not None and not future.done():
                    future.set_exception(ConnectionError(self.close_reason))
        self._waiting.clear()
        self._replies.clear()
        if not self.banner.done():
            self.banner.set_result(None)

    # -- actions --------------------------------------------------------------------------------

    def _send(
        self, action: str, fields: Iterable[tuple[str, str]], waiting: _Waiting, listing: bool
    ) -> str:
        if self.closed.is_set():
            raise ConnectionError(self.close_reason)
        action_id, wire = self._replies.ask(action, fields, listing=listing)
        self._waiting[action_id] = waiting
        self._writer.write(wire)
        return action_id

    def _done_with(self, action_id: str) -> None:
        self._waiting.pop(action_id, None)
        self._replies.forget(action_id)

    async def request(
        self, action: str, fields: Iterable[tuple[str, str]], wait_s: float
    ) -> Message:
        """Send one action; its response. Raises TimeoutError, OSError (ConnectionError)."""
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        action_id = self._send(action, fields, _Waiting(future), listing=False)
        try:
            async with asyncio.timeout(wait_s):
                await self._writer.drain()
                return await future
        finally:
            self._done_with(action_id)

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
        done: asyncio.Future[list[Message]] = loop.create_future()
        waiting = _Waiting(loop.create_future(), done, on_complete)
        action_id = self._send(action, fields, waiting, listing=True)
        try:
            async with asyncio.timeout(wait_s):
                await self._writer.drain()
                response = await waiting.response
                if response.response.lower() != "success":
                    raise ProtocolError(f"{action} refused: {response.get('Message')}")
                return await done
        finally:
            self._done_with(action_id)

    def send_logoff(self) -> None:
        """Say goodbye without waiting for the answer (used while closing)."""
        if not self.closed.is_set():
            with contextlib.suppress(OSError, RuntimeError, ProtocolError):
                self._writer.write(encode_action("Logoff", "logoff-0"))
