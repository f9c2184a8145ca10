"""The generic JSON webhook (`kind = "webhook"`, ``flavor = "json"``), for PBXs screenpop does
not speak natively; the shared request handling is in :mod:`.base`.

Signed with ``X-Screenpop-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by
`secret`>``; the body::

    {"call_id": "42", "event": "ringing", "caller": "+12125551234", "caller_name": "Jane",
     "agent": "1001", "queue": "support", "withheld": false}

``event`` is one of queued, ringing, answered, missed, transferred, ended, abandoned;
``agent`` is required for ringing, answered, missed and transferred. ``withheld`` (optional,
a JSON boolean, default false) says the PBX marked the caller presentation-restricted; a
withheld word or sentinel in ``caller`` (``anonymous``, ``restricted``, ``+266696687``...)
says the same. A withheld caller is passed on as ``anonymous``, without a name, whatever
number and name the body carries: it is never shown nor looked up.

A missing signature is :class:`~.base.MissingSignature` (401), a wrong one
:class:`AuthError` (403), a body that is not the above :class:`ProtocolError` (400).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from screenpop.errors import AuthError, ProtocolError
from screenpop.events import CallEvent, EventKind
from screenpop.settings import Strict
from screenpop.telephony.webhooks.base import (
    MissingSignature,
    WebhookSourceBase,
    caller_fields,
    header,
)

JSON_SIGNATURE_HEADER = "X-Screenpop-Signature"


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
