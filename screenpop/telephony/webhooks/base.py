"""What every webhook flavor shares (`kind = "webhook"`): the request checks, the counting and
the caller fields. The flavors are :mod:`.generic` (JSON) and :mod:`.twilio`; :mod:`.flavors`
picks one from a `[[telephony]]` entry.

Nothing connects: the web app routes `POST /webhooks/<name>` to :meth:`WebhookSourceBase.handle`,
which verifies the request's signature, parses the body and returns the call events; the web app
emits them. `handle` is pure (no I/O, no awaiting), so it is tested request by request.

Errors, for the web layer: :class:`MissingSignature` (an :class:`AuthError` with
``missing = True``) answers 401, any other :class:`AuthError` 403, :class:`ProtocolError` 400 with
its message. Every rejected request is counted in ``status.rejected``; every event returned is
counted in ``status.events``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import ClassVar

from screenpop.callerid import says_withheld
from screenpop.errors import AuthError, ProtocolError
from screenpop.events import CallEvent
from screenpop.telephony.base import Emit, SourceStatus

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # webhook bodies are small; anything bigger is refused as malformed
WITHHELD_CALLER = "anonymous"  # what a withheld caller's number becomes


class MissingSignature(AuthError):
    """The request carried no signature at all: the web layer answers 401 (a wrong one is 403)."""

    missing: ClassVar[bool] = True


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by case-insensitive name, or None."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def caller_fields(
    caller: str | None, caller_name: str | None, withheld: bool = False
) -> tuple[str | None, str | None, bool]:
    """`(caller, caller_name, withheld)` for a CallEvent: a withheld caller loses number and name.

    Withheld when the PBX says so (`withheld`) or the caller id itself does (`anonymous`,
    Twilio's keypad sentinels...: :func:`screenpop.callerid.says_withheld`).
    """
    if withheld or says_withheld(caller):
        return WITHHELD_CALLER, None, True
    return caller or None, caller_name or None, False


class WebhookSourceBase:
    """What every webhook flavor shares: status, counting, and a `run` that only waits."""

    flavor: ClassVar[str] = ""

    def __init__(self, name: str) -> None:
        self.name = name
        self.status = SourceStatus()
        detail = f"listening on POST /webhooks/{name}"
        self.status.set(connected=True, logged_in=True, detail=detail)
        self._last_rejection = ""

    async def run(self, emit: Emit) -> None:
        """Nothing to connect to: requests arrive through the web app. Waits until cancelled."""
        await asyncio.Event().wait()

    async def check(self) -> SourceStatus:
        """Always ready: the web app receives the requests."""
        return self.status

    def handle(self, url: str, headers: dict[str, str], body: bytes) -> list[CallEvent]:
        """Verify and parse one request; AuthError (401/403) or ProtocolError (400) if refused.

        `url` is the full URL the request was sent to (scheme, host, path and query).
        """
        try:
            if len(body) > MAX_BODY_BYTES:
                raise ProtocolError(f"body too large ({len(body)} bytes)")
            events = self._handle(url, headers, body)
        except (AuthError, ProtocolError) as exc:
            self._rejected(exc)
            raise
        self.status.events += len(events)
        return events

    def _rejected(self, exc: Exception) -> None:
        """Count every rejection; log a new reason at WARNING, a repeated one at DEBUG."""
        self.status.rejected += 1
        reason = f"{type(exc).__name__}: {exc}"
        level = logging.DEBUG if reason == self._last_rejection else logging.WARNING
        self._last_rejection = reason
        log.log(
            level,
            "webhook %s: request rejected (%d so far): %s",
            self.name,
            self.status.rejected,
            exc,
        )

    def _handle(self, url: str, headers: Mapping[str, str], body: bytes) -> list[CallEvent]:
        raise NotImplementedError
