"""The generic JSON webhook (`kind = "webhook"`, ``flavor = "json"``), for PBXs screenpop does
not speak natively; the shared request handling is in :mod:`.base`.

Signed with two headers: ``X-Screenpop-Timestamp: <Unix seconds>`` and
``X-Screenpop-Signature: sha256=<hex HMAC-SHA256, keyed by `secret`, of the timestamp, a ".",
then the raw body>``. A timestamp more than `max_skew_s` (default 300) seconds from the daemon's
clock, either way, is :class:`~.base.StaleRequest` (403); a request accepted before whose
timestamp is still inside that window (the same signature) is :class:`~.base.ReplayedRequest`
(409) and is not applied again. A sender resending an event signs it again with a fresh
timestamp. The body::

    {"call_id": "42", "event": "ringing", "caller": "+12125551234", "caller_name": "Jane",
     "agent": "1001", "queue": "support", "withheld": false,
     "variables": {"IVR_ACCOUNT": "12345"}}

``event`` is one of queued, ringing, answered, missed, transferred, ended, abandoned;
``agent`` is required for ringing, answered, missed and transferred. ``withheld`` (optional,
a JSON boolean, default false) says the PBX marked the caller presentation-restricted; a
withheld word or sentinel in ``caller`` (``anonymous``, ``restricted``, ``+266696687``...)
says the same. A withheld caller is passed on as ``anonymous``, without a name, whatever
number and name the body carries: it is never shown nor looked up. ``variables`` (optional, an
object of strings, 64 at most) are the call's variables (IVR data): only those `[lookup] keys`
names are kept, each cut to 128 characters; an ``updated`` event brings variables only.

A missing signature is :class:`~.base.MissingSignature` (401), a wrong signature or a missing
timestamp :class:`AuthError` (403), a signed timestamp that is not Unix seconds or a body that is
not the above :class:`ProtocolError` (400).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Collection, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from screenpop.errors import AuthError, ProtocolError
from screenpop.events import CallEvent, EventKind
from screenpop.settings import Strict
from screenpop.telephony.variables import clean
from screenpop.telephony.webhooks.base import (
    REPLAY_WINDOW_S,
    Clock,
    MissingSignature,
    ReplayedRequest,
    StaleRequest,
    WebhookSourceBase,
    caller_fields,
    header,
)
from screenpop.telephony.webhooks.replay import SeenRequests

JSON_SIGNATURE_HEADER = "X-Screenpop-Signature"
JSON_TIMESTAMP_HEADER = "X-Screenpop-Timestamp"


class JsonOptions(Strict):
    """The options of a `[[telephony]] kind = "webhook"`, `flavor = "json"` entry."""

    flavor: Literal["json"] = "json"
    secret: str = Field(min_length=1)
    max_skew_s: float = Field(default=REPLAY_WINDOW_S, gt=0, le=86_400)


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
    variables: dict[str, str] | None = Field(default=None, max_length=64)
    withheld: StrictBool = False

    @model_validator(mode="after")
    def _agent_when_needed(self) -> JsonBody:
        if self.event in _NEEDS_AGENT and not self.agent:
            raise ValueError(f"`agent` is required for event {self.event.value!r}")
        return self


def sign_json(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Screenpop-Signature` value for `body` sent with `X-Screenpop-Timestamp: timestamp`.

    What a sending PBX script computes: HMAC-SHA256 over ``timestamp + "." + body``.
    """
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_json_headers(secret: str, body: bytes, at: float | None = None) -> dict[str, str]:
    """Both headers a sender puts on `body`, timestamped `at` (Unix seconds; default now)."""
    timestamp = str(int(time.time() if at is None else at))
    return {
        JSON_TIMESTAMP_HEADER: timestamp,
        JSON_SIGNATURE_HEADER: sign_json(secret, timestamp, body),
    }


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

    def __init__(
        self,
        name: str,
        options: JsonOptions,
        clock: Clock = time.time,
        variables: Collection[str] = frozenset(),
    ) -> None:
        super().__init__(name, clock)
        self._wanted = frozenset(variables)
        self._secret = options.secret
        self._max_skew_s = options.max_skew_s
        self._seen = SeenRequests()

    def _handle(self, url: str, headers: Mapping[str, str], body: bytes) -> list[CallEvent]:
        given = header(headers, JSON_SIGNATURE_HEADER)
        if not given:
            raise MissingSignature(f"missing {JSON_SIGNATURE_HEADER} header")
        timestamp = (header(headers, JSON_TIMESTAMP_HEADER) or "").strip()
        if not timestamp:
            raise AuthError(f"missing {JSON_TIMESTAMP_HEADER} header (the signature covers it)")
        signature = given.strip()
        expected = sign_json(self._secret, timestamp, body)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise AuthError(f"wrong {JSON_SIGNATURE_HEADER}")
        forget_at = self._check_fresh(timestamp)
        events = self._events(body)
        if not self._seen.first_time(signature, forget_at, self.clock()):
            raise ReplayedRequest("replayed request: this signature was accepted already")
        return events

    def _events(self, body: bytes) -> list[CallEvent]:
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
                variables=self._variables(parsed.variables),
            )
        ]

    def _variables(self, given: Mapping[str, str] | None) -> dict[str, str] | None:
        """The wanted call variables of the body, bounded."""
        if not given or not self._wanted:
            return None
        kept = {name: clean(value) for name, value in given.items() if name in self._wanted}
        return kept or None

    def _check_fresh(self, timestamp: str) -> float:
        """Refuse a signed timestamp outside the window; when its request may be forgotten."""
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            raise ProtocolError(f"{JSON_TIMESTAMP_HEADER} must be Unix seconds (digits)")
        skew = int(timestamp) - self.clock()
        if abs(skew) > self._max_skew_s:
            when = "old" if skew < 0 else "ahead of this server's clock"
            raise StaleRequest(
                f"{JSON_TIMESTAMP_HEADER} is {abs(skew):.0f} s {when}, "
                f"outside the {self._max_skew_s:g} s window (max_skew_s)"
            )
        return int(timestamp) + self._max_skew_s


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
