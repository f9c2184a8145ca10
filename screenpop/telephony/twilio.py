"""Twilio webhooks (`kind = "webhook"`, `flavor = "twilio"`): voice status callbacks and TaskRouter.

Point both at `https://<screenpop>/webhooks/<name>`: the voice `statusCallback` of the inbound
number and of the `<Dial>` nouns that ring agents (events initiated, ringing, answered,
completed), and the TaskRouter Workspace's `EventCallbackUrl`. Both are form-encoded POSTs.

Signature (``X-Twilio-Signature``): base64 of HMAC-SHA1, keyed by the account's auth token, over
the full URL Twilio requested (query string included) followed by every POST parameter, sorted by
name, as name then value with no separator. Behind a proxy the daemon does not see that URL:
set ``public_url`` to it (a query string of the actual request is appended when ``public_url``
has none). As Twilio's own libraries do, the URL is also tried with and without its scheme's
default port. A missing header is :class:`MissingSignature` (401), a wrong one :class:`AuthError`
(403). Only form-encoded callbacks are handled (not Twilio's JSON bodies with `bodySHA256`).

Voice status callbacks, keyed by the conversation: the `ParentCallSid` for a `<Dial>` leg that
rings an agent (the caller's `CallSid` otherwise).

* the caller's leg: queued / initiated / ringing / in-progress -> QUEUED (Twilio answering to run
  TwiML is not an agent answering), completed -> ENDED (the tracker turns it into abandoned when
  no agent ever answered), busy / no-answer / canceled / failed -> ABANDONED.
* an agent's `<Dial>` leg: ringing -> RINGING, in-progress -> ANSWERED, completed -> ENDED,
  busy / no-answer / canceled / failed -> MISSED, for the endpoint in `To`: `client:alice` is
  given as `alice`, `sip:1001@example.com` as `1001`, a phone number as is.

TaskRouter events, keyed by `TaskAttributes.call_sid` (the `TaskSid` for a task without a call):
reservation.created -> RINGING, reservation.accepted -> ANSWERED, reservation.rejected / timeout
/ canceled / rescinded -> MISSED, task.canceled -> ABANDONED, task.created / task-queue.entered ->
QUEUED, task.wrapup / task.completed -> ENDED; other event types are accepted and ignored. The
worker's endpoint is its `WorkerSid` (``worker_endpoint = "sid"``, the default: list `WK...` in
the agent's `extensions`) or its friendly name (``worker_endpoint = "name"``). The caller comes
from `TaskAttributes.from` (or `caller`), the name from `caller_name`, the queue from
`TaskQueueName` (its `TaskQueueSid` when the name is absent). A withheld caller (`anonymous`,
`restricted`...) is passed on raw.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import Field, field_validator

from screenpop.errors import AuthError, ProtocolError
from screenpop.events import CallEvent, EventKind
from screenpop.settings import Strict
from screenpop.telephony.webhook import MissingSignature, WebhookSourceBase, header

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_FIELDS = 500
_DEFAULT_PORTS = {"https": 443, "http": 80}


class TwilioOptions(Strict):
    """The options of a `[[telephony]] kind = "webhook"`, `flavor = "twilio"` entry."""

    flavor: Literal["twilio"] = "twilio"
    auth_token: str = Field(min_length=1)
    public_url: str | None = None  # the URL Twilio signs, when the daemon sits behind a proxy
    worker_endpoint: Literal["sid", "name"] = "sid"

    @field_validator("public_url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in _DEFAULT_PORTS:
            raise ValueError("must be an absolute http:// or https:// URL")
        return value


# -- signature ------------------------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """The `X-Twilio-Signature` Twilio sends for a form POST of `params` to `url`."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def url_variants(url: str) -> list[str]:
    """`url` as given, then with its scheme's default port added or removed."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return [url]
    if default is None or not parts.netloc:
        return [url]
    suffix = f":{default}"
    if port == default and parts.netloc.endswith(suffix):
        other = parts.netloc[: -len(suffix)]
    elif port is None:
        other = parts.netloc + suffix
    else:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=other))]


def signed_url(request_url: str, public_url: str | None) -> str:
    """The URL Twilio signed: `public_url` (with the request's query if it has none) or as is."""
    if public_url is None:
        return request_url
    query = urlsplit(request_url).query
    if query and not urlsplit(public_url).query:
        return f"{public_url}?{query}"
    return public_url


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """An `application/x-www-form-urlencoded` body; ProtocolError when it is not one."""
    if not body.strip():
        return []
    try:
        text = body.decode("utf-8")
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise ProtocolError("body is not form-encoded UTF-8") from None
    except ValueError as exc:
        raise ProtocolError(f"body is not form-encoded ({exc})") from None


# -- voice status callbacks -----------------------------------------------------------------------

_CALLER_LEG = {
    "queued": EventKind.QUEUED,
    "initiated": EventKind.QUEUED,
    "ringing": EventKind.QUEUED,
    "in-progress": EventKind.QUEUED,
    "completed": EventKind.ENDED,
    "busy": EventKind.ABANDONED,
    "no-answer": EventKind.ABANDONED,
    "canceled": EventKind.ABANDONED,
    "failed": EventKind.ABANDONED,
}
_AGENT_LEG = {
    "queued": EventKind.QUEUED,
    "initiated": EventKind.QUEUED,
    "ringing": EventKind.RINGING,
    "in-progress": EventKind.ANSWERED,
    "completed": EventKind.ENDED,
    "busy": EventKind.MISSED,
    "no-answer": EventKind.MISSED,
    "canceled": EventKind.MISSED,
    "failed": EventKind.MISSED,
}


def dial_endpoint(to: str | None) -> str | None:
    """The endpoint a `<Dial>` leg rings: `client:alice` -> `alice`, `sip:1001@h` -> `1001`."""
    if not to:
        return None
    lowered = to.lower()
    if lowered.startswith("client:"):
        return to[len("client:") :] or None
    if lowered.startswith(("sip:", "sips:")):
        user = to.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
        return user or None
    return to


def voice_events(source: str, params: Mapping[str, str]) -> list[CallEvent]:
    """The events of one voice status callback."""
    call_sid = params.get("CallSid") or ""
    status = (params.get("CallStatus") or "").lower()
    if not call_sid:
        raise ProtocolError("voice status callback without CallSid")
    parent = params.get("ParentCallSid") or None
    table = _AGENT_LEG if parent else _CALLER_LEG
    kind = table.get(status)
    if kind is None:
        raise ProtocolError(f"unknown CallStatus {status!r}")
    outbound = parent is None and (params.get("Direction") or "").startswith("outbound")
    caller = params.get("To") if outbound else (params.get("From") or params.get("Caller"))
    endpoint = dial_endpoint(params.get("To")) if parent else None
    if kind in (EventKind.RINGING, EventKind.ANSWERED, EventKind.MISSED) and endpoint is None:
        raise ProtocolError("agent leg without To")
    event = CallEvent(
        source=source,
        call_id=parent or call_sid,
        kind=kind,
        caller=caller or None,
        caller_name=params.get("CallerName") or None,
        endpoint=endpoint,
        outbound=outbound,
    )
    return [event]


# -- TaskRouter event callbacks -------------------------------------------------------------------

_TASKROUTER = {
    "reservation.created": EventKind.RINGING,
    "reservation.accepted": EventKind.ANSWERED,
    "reservation.rejected": EventKind.MISSED,
    "reservation.timeout": EventKind.MISSED,
    "reservation.canceled": EventKind.MISSED,
    "reservation.rescinded": EventKind.MISSED,
    "task.canceled": EventKind.ABANDONED,
    "task.created": EventKind.QUEUED,
    "task-queue.entered": EventKind.QUEUED,
    "task.wrapup": EventKind.ENDED,
    "task.completed": EventKind.ENDED,
}


def _task_attributes(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        attributes = json.loads(raw)
    except json.JSONDecodeError:
        raise ProtocolError("TaskAttributes is not valid JSON") from None
    if not isinstance(attributes, dict):
        raise ProtocolError("TaskAttributes is not a JSON object")
    return attributes


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def taskrouter_events(
    source: str, params: Mapping[str, str], worker_endpoint: str
) -> list[CallEvent]:
    """The events of one TaskRouter event callback (unlisted event types give none)."""
    kind = _TASKROUTER.get(params.get("EventType") or "")
    if kind is None:
        return []
    attributes = _task_attributes(params.get("TaskAttributes"))
    call_id = _text(attributes.get("call_sid")) or params.get("TaskSid")
    if not call_id:
        raise ProtocolError("TaskRouter event without TaskAttributes.call_sid or TaskSid")
    key = "WorkerSid" if worker_endpoint == "sid" else "WorkerName"
    endpoint = params.get(key) or None
    if params["EventType"].startswith("reservation.") and endpoint is None:
        raise ProtocolError(f"reservation event without {key}")
    event = CallEvent(
        source=source,
        call_id=call_id,
        kind=kind,
        caller=_text(attributes.get("from")) or _text(attributes.get("caller")),
        caller_name=_text(attributes.get("caller_name")),
        endpoint=endpoint,
        queue=params.get("TaskQueueName") or params.get("TaskQueueSid") or None,
    )
    return [event]


# -- the source -----------------------------------------------------------------------------------


class TwilioSource(WebhookSourceBase):
    """Twilio voice status callbacks and TaskRouter events, posted to `/webhooks/<name>`."""

    flavor = "twilio"

    def __init__(self, name: str, options: TwilioOptions) -> None:
        super().__init__(name)
        self._token = options.auth_token
        self._public_url = options.public_url
        self._worker_endpoint = options.worker_endpoint

    def _handle(self, url: str, headers: Mapping[str, str], body: bytes) -> list[CallEvent]:
        given = header(headers, SIGNATURE_HEADER)
        if not given:
            raise MissingSignature(f"missing {SIGNATURE_HEADER} header")
        pairs = parse_form(body)
        self._verify(given.strip(), signed_url(url, self._public_url), pairs)
        params = dict(pairs)
        if "EventType" in params:
            return taskrouter_events(self.name, params, self._worker_endpoint)
        if "CallStatus" in params:
            return voice_events(self.name, params)
        raise ProtocolError("neither a voice status callback (CallStatus) nor TaskRouter event")

    def _verify(self, given: str, url: str, pairs: list[tuple[str, str]]) -> None:
        matched = False
        for candidate in url_variants(url):
            expected = twilio_signature(self._token, candidate, pairs)
            matched |= hmac.compare_digest(given.encode(), expected.encode())
        if not matched:
            raise AuthError(f"wrong {SIGNATURE_HEADER}")
