"""The part every PBX session over TCP shares (AMI, ESL): the read task and the way it ends.

A :class:`PbxSession` owns an open stream pair. Its read task runs :func:`pump`: the parser's
frames go to :meth:`PbxSession._dispatch`, which the protocol's session implements; when the
peer closes, a read fails or `_dispatch` says stop, :meth:`PbxSession._shut` fails whatever still
waits for a reply (the protocol's part), then marks the session closed and closes the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Generic, TypeVar

from screenpop.telephony.link import FrameParser, pump

Item = TypeVar("Item")


class PbxSession(Generic[Item]):
    """Starts reading at once; :meth:`close` it when done. `closed` is set once it has ended,
    with `close_reason` saying why."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        parser: FrameParser[Item],
        on_reject: Callable[[int, str], None],
        *,
        peer: str,
        task_name: str,
    ) -> None:
        self._reader, self._writer = reader, writer
        self._parser = parser
        self._on_reject = on_reject
        self._peer = peer
        self.closed = asyncio.Event()
        self.close_reason = "connection closed"
        self._task = asyncio.create_task(self._read_loop(), name=task_name)

    async def _read_loop(self) -> None:
        try:
            reason = await pump(
                self._reader, self._parser, self._dispatch, self._on_reject, self._peer
            )
            self.close_reason = reason or self.close_reason
        finally:
            self._shut()

    def _dispatch(self, item: Item) -> bool:
        """Route one frame; False ends the session (after setting `close_reason`)."""
        raise NotImplementedError

    def _fail_waiting(self) -> None:
        """Fail every request still waiting for its reply (with `close_reason`)."""
        raise NotImplementedError

    def _shut(self) -> None:
        self._fail_waiting()
        self.closed.set()
        self._writer.close()

    async def close(self) -> None:
        """Stop reading and close the socket."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
