"""Telephony sources that receive HTTP webhooks (`kind = "webhook"`).

Nothing connects: the web app routes `POST /webhooks/<name>` to :meth:`WebhookSourceBase.handle`,
which verifies the request's signature, parses the body and returns the call events; the web app
emits them. `handle` is pure (no I/O, no awaiting), so it is tested request by request.

Two flavors:

* ``flavor = "twilio"``: Twilio voice status callbacks and TaskRouter event callbacks, signed with
  ``X-Twilio-Signature`` (see :mod:`screenpop.telephony.webhooks.twilio`).
* ``flavor = "json"``: the generic body below, for PBXs screenpop does not speak natively, signed
  with ``X-Screenpop-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by `secret`>``::

      {"call_id": "42", "event": "ringing", "caller": "+12125551234", "caller_name": "Jane",
       "agent": "1001", "queue": "support", "withheld": false}

  ``event`` is one of queued, ringing, answered, missed, transferred, ended, abandoned;
  ``agent`` is required for ringing, answered, missed and transferred. ``withheld`` (optional,
  a JSON boolean, default false) says the PBX marked the caller presentation-restricted; a
  withheld word or sentinel in ``caller`` (``anonymous``, ``restricted``, ``+266696687``...)
  says the same. A withheld caller is passed on as ``anonymous``, without a name, whatever
  number and name the body carries: it is never shown nor looked up.

Errors, for the web layer: :class:`MissingSignature` (an :class:`AuthError` with
``missing = True``) answers 401, any other :class:`AuthError` 403, :class:`ProtocolError` 400 with
its message. Every rejected request is counted in ``status.rejected``; every event returned is
counted in ``status.events``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from screenpop.callerid import says_withheld
from screenpop.errors import AuthError, ConfigError, ProtocolError
from screenpop.events import CallEvent, EventKind
from screenpop.settings import Strict, validate_options
from screenpop.telephony.base import Emit, SourceContext, SourceStatus, WebhookSource

log = logging.getLogger(__name__)

JSON_SIGNATURE_HEADER = "X-Screenpop-Signature"
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


# -- the generic JSON flavor ----------------------------------------------------------------------


class JsonOptions(Strict):
    """The options of a `[[telephony]] kind = "webhook"`, `flavor = "json"` entry."""

    flavor: Literal["json"] = "json"
    secret: str = Field(min_length=1)


_NEEDS_AGENT = frozenset(
    {EventKind.RINGING, EventKind.ANSWERED, EventKind.MISSED, EventKind.TRANSFERRED}
)


class JsonBody(BaseModel):
    """The generic webhook body, validated at the trust boundary."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    call_id: str = Field(min_length=1, max_length=256)
    event: EventKind
    caller: str | None = Field(default=None, max_length=64)
    caller_name: str | None = Field(default=None, max_length=256)
    agent: str | None = Field(default=None, max_length=256)
    queue: str | None = Field(default=None, max_length=256)
    withheld: StrictBool = False

    @model_validator(mode="after")
    def _agent_when_needed(self) -> JsonBody:
        if self.event in _NEEDS_AGENT and not self.agent:
            raise ValueError(f"`agent` is required for event {self.event.value!r}")
        return self


def sign_json(secret: str, body: bytes) -> str:
    """The `X-Screenpop-Signature` value for `body` (what a sending PBX script computes)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def describe_body_error(exc: ValidationError) -> str:
    """A pydantic error as one readable line: `event: Input should be ...; agent: ...`."""
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "body"
        message = "field required" if err["type"] == "missing" else err["msg"]
        parts.append(f"{key}: {message}")
    return "; ".join(parts)


class JsonWebhookSource(WebhookSourceBase):
    """The generic JSON webhook (see the module docstring for the body and signature)."""

    flavor = "json"

    def __init__(self, name: str, options: JsonOptions) -> None:
        super().__init__(name)
        self._secret = options.secret

    def _handle(self, url: str, headers: Mapping[str, str], body: bytes) -> list[CallEvent]:
        given = header(headers, JSON_SIGNATURE_HEADER)
        if not given:
            raise MissingSignature(f"missing {JSON_SIGNATURE_HEADER} header")
        expected = sign_json(self._secret, body)
        if not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise AuthError(f"wrong {JSON_SIGNATURE_HEADER}")
        data = _decode_json(body)
        try:
            parsed = JsonBody.model_validate(data)
        except ValidationError as exc:
            raise ProtocolError(f"invalid body: {describe_body_error(exc)}") from None
        caller, caller_name, withheld = caller_fields(
            parsed.caller, parsed.caller_name, parsed.withheld
        )
        return [
            CallEvent(
                source=self.name,
                call_id=parsed.call_id,
                kind=parsed.event,
                caller=caller,
                caller_name=caller_name,
                endpoint=parsed.agent or None,
                queue=parsed.queue or None,
                withheld=withheld,
            )
        ]


def _decode_json(body: bytes) -> Any:
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProtocolError("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"body is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ProtocolError("body is nested too deeply") from None
    if not isinstance(data, dict):
        raise ProtocolError("body must be a JSON object")
    return data


# -- the factory ----------------------------------------------------------------------------------


def make_webhook_source(
    name: str, options: dict[str, Any], context: SourceContext
) -> WebhookSource:
    """Build the webhook source of `[[telephony]]` entry `name` from its options.

    Raises ConfigError (naming `telephony.<name>`) for an unknown flavor or invalid options.
    """
    where = f"telephony.{name}"
    flavor = options.get("flavor", "json")
    if flavor == "json":
        return JsonWebhookSource(name, validate_options(JsonOptions, options, where))
    if flavor == "twilio":
        from screenpop.telephony.webhooks.twilio import TwilioOptions, TwilioSource

        return TwilioSource(name, validate_options(TwilioOptions, options, where))
    raise ConfigError(f"{where}: unknown webhook flavor {flavor!r} (known: json, twilio)")
