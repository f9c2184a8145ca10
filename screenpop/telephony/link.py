"""What the connection-holding PBX sources (AMI, ESL) share: the health of their link, logged on
change only, and the reconnect loop around one session."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from screenpop.errors import ScreenpopError
from screenpop.events import CallEvent
from screenpop.telephony.backoff import Backoff
from screenpop.telephony.base import Emit, SourceStatus

log = logging.getLogger(__name__)


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
        self._logged: str | None = None

    def up(self, detail: str) -> None:
        self.status.set(connected=True, logged_in=True, detail=detail)
        if self._logged != "up":
            log.info("telephony %s: %s", self.name, detail)
            self._logged = "up"

    def down(self, detail: str, reason: str | None = None) -> None:
        """Down with `detail`; logged again only when `reason` (default: detail) changes."""
        self.status.set(connected=False, logged_in=False, detail=detail)
        key = reason if reason is not None else detail
        if self._logged != key:
            log.warning("telephony %s: %s", self.name, detail)
            self._logged = key

    def emit_all(self, emit: Emit, events: list[CallEvent]) -> None:
        for event in events:
            self.status.events += 1
            if log.isEnabledFor(logging.DEBUG):
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
