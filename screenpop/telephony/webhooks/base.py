"""What every webhook flavor shares (`kind = "webhook"`): the request checks, the counting and
the caller fields. The flavors are :mod:`.generic` (JSON) and :mod:`.twilio`; :mod:`.flavors`
picks one from a `[[telephony]]` entry.

Nothing connects: the web app routes `POST /webhooks/<name>` to :meth:`WebhookSourceBase.handle`,
which verifies the request's signature, parses the body and returns the call events; the web app
emits them. `handle` is pure (no I/O, no awaiting), so it is tested request by request.

Errors, for the web layer: :class:`MissingSignature` (an :class:`AuthError` with
``missing = True``) answers 401, :class:`ReplayedRequest` 409 (or, when its ``acknowledge`` is
true, 200 with no events applied), any other :class:`AuthError` 403, :class:`ProtocolError` 400
with its message. Each error's ``reason`` (:func:`rejection_reason`) labels the count in
`/metrics`. Every rejected request is counted in ``status.rejected``; every event returned is
counted in ``status.events``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import ClassVar

from screenpop.callerid import says_withheld
from screenpop.errors import AuthError, ProtocolError
from screenpop.events import WITHHELD_CALLER, CallEvent
from screenpop.telephony.base import Emit, SourceStatus

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # webhook bodies are small; anything bigger is refused as malformed
REPLAY_WINDOW_S = 300.0  # how long an accepted request is remembered, by default

Clock = Callable[[], float]  # Unix seconds, as time.time


class MissingSignature(AuthError):
    """The request carried no signature at all: the web layer answers 401 (a wrong one is 403)."""

    missing: ClassVar[bool] = True


class StaleRequest(AuthError):
    """A correctly signed request whose signed timestamp is outside the window: 403."""

    reason: ClassVar[str] = "stale"


class ReplayedRequest(AuthError):
    """A request accepted once already within the window: nothing of it is applied again.

    The web layer answers 409, or 200 with no events when ``acknowledge`` is true (a sender
    that retries when it sees no answer, like Twilio, must not be told it failed).
    """

    reason: ClassVar[str] = "replay"

    def __init__(self, message: str, acknowledge: bool = False) -> None:
        super().__init__(message)
        self.acknowledge = acknowledge


def rejection_reason(exc: AuthError | ProtocolError) -> str:
    """The `reason` label of a refused request in `/metrics`: auth, stale, replay or malformed."""
    if isinstance(exc, ProtocolError):
        return "malformed"
    return str(getattr(exc, "reason", "auth"))


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

    def __init__(self, name: str, clock: Clock = time.time) -> None:
        self.name = name
        self.clock = clock
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
        self.status.emitted(len(events))
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
