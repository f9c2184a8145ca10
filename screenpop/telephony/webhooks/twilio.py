"""Twilio webhooks (`kind = "webhook"`, `flavor = "twilio"`): voice status callbacks and TaskRouter.

Point both at `https://<screenpop>/webhooks/<name>`: the voice `statusCallback` of the inbound
number and of the `<Dial>` nouns that ring agents (events initiated, ringing, answered,
completed), and the TaskRouter Workspace's `EventCallbackUrl`. Both are form-encoded POSTs.

Signature (``X-Twilio-Signature``): base64 of HMAC-SHA1, keyed by the account's auth token, over
the full URL Twilio requested (query string included) followed by every POST parameter, sorted by
name then value (a repeated name counts every time), as name then value with no separator.
Behind a proxy the daemon does not see that URL: set ``public_url`` to it (a query string of the
actual request is appended when ``public_url`` has none). Exactly what Twilio's own validators
accept is accepted (twilio-python's `RequestValidator.validate`): the URL is tried without any
port (``https://host:1234/x`` may be signed as ``https://host/x``) and with its port (its own, or
443 for https and 80 for http when it names none). A missing header is :class:`MissingSignature`
(401), a wrong one :class:`AuthError` (403). Only form-encoded callbacks are handled: a JSON
callback (Twilio puts `bodySHA256` in its URL) is verified the same way (403 when forged or its
body does not match the hash) and then refused with a :class:`ProtocolError` (400) saying so.

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
`TaskQueueName` (its `TaskQueueSid` when the name is absent).

A withheld caller (`anonymous`, `restricted`, Twilio's keypad sentinels such as `+266696687` for
ANONYMOUS) gives events with ``withheld=True`` and caller ``anonymous``, without a name: the raw
sentinel number is never passed on.

Replays: an accepted request is remembered for ``replay_window_s`` (default 300) seconds by its
`X-Twilio-Signature`, `CallSid` and `CallStatus` (a TaskRouter event by its signature, `EventType`
and `Sid`). The same request again within that time is :class:`~.base.ReplayedRequest` with
``acknowledge`` set: the web layer answers 200 with no events and applies nothing. Twilio retries
a callback whose answer it did not get, and a retry that failed loudly would only put errors in
Twilio's debugger for a request that was applied already; the replay is still counted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qs, parse_qsl, urlparse, urlsplit

from pydantic import Field, field_validator

from screenpop.errors import AuthError, ProtocolError
from screenpop.events import CallEvent, EventKind
from screenpop.settings import Strict
from screenpop.telephony.webhooks.base import (
    REPLAY_WINDOW_S,
    Clock,
    MissingSignature,
    ReplayedRequest,
    WebhookSourceBase,
    caller_fields,
    header,
)
from screenpop.telephony.webhooks.replay import SeenRequests

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_FIELDS = 500


class TwilioOptions(Strict):
    """The options of a `[[telephony]] kind = "webhook"`, `flavor = "twilio"` entry."""

    flavor: Literal["twilio"] = "twilio"
    auth_token: str = Field(min_length=1)
    public_url: str | None = None  # the URL Twilio signs, when the daemon sits behind a proxy
    worker_endpoint: Literal["sid", "name"] = "sid"
    replay_window_s: float = Field(default=REPLAY_WINDOW_S, gt=0, le=86_400)

    @field_validator("public_url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http:// or https:// URL")
        if not url_variants(value):
            raise ValueError("must name a numeric port (0-65535), if any")
        return value


# -- signature ------------------------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """The `X-Twilio-Signature` Twilio sends for a form POST of `params` to `url`."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def url_variants(url: str) -> list[str]:
    """The two forms of `url` Twilio's request validators check: without a port, then with one.

    Without: whatever port the URL names is cut off (Twilio signs ``https://host:1234/x`` as
    ``https://host/x``). With: the URL's own port, or when it names none its scheme's default
    (443 for https, 80 for anything else). Both are re-assembled the way Python's `urlparse`
    does, so ``https://host/x?`` is checked as ``https://host/x``. A URL whose port is not a
    number has no form: no signature matches it.
    """
    try:
        parts = urlparse(url)
        port = parts.port
    except ValueError:  # a port that is no number, a broken IPv6 host
        return []
    if port:
        without = parts._replace(netloc=parts.netloc.split(":")[0]).geturl()
        with_port = parts.geturl()
    else:
        without = parts.geturl()
        default = 443 if parts.scheme == "https" else 80
        with_port = parts._replace(netloc=f"{parts.netloc}:{default}").geturl()
    return [without, with_port]


def signature_matches(
    auth_token: str, url: str, params: list[tuple[str, str]], signature: str
) -> bool:
    """True when Twilio's own validators accept `signature` for a form POST of `params` to `url`.

    Every parameter counts, repeated names included (their values sorted too); the URL is tried
    in both of its :func:`url_variants`.
    """
    given = signature.encode()
    matched = False
    for candidate in url_variants(url):
        expected = twilio_signature(auth_token, candidate, params)
        matched |= hmac.compare_digest(given, expected.encode())
    return matched


def body_sha256(url: str) -> str | None:
    """The `bodySHA256` query parameter Twilio adds to the URL of a JSON callback, or None."""
    values = parse_qs(_query(url)).get("bodySHA256")
    return values[0] if values else None


def _query(url: str) -> str:
    """The query string of `url` (between `?` and `#`), without parsing the rest."""
    return url.partition("#")[0].partition("?")[2]


def signed_url(request_url: str, public_url: str | None) -> str:
    """The URL Twilio signed: `public_url` (with the request's query if it has none) or as is."""
    if public_url is None:
        return request_url
    query = _query(request_url)
    if query and not _query(public_url):
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
    caller, caller_name, withheld = caller_fields(caller, params.get("CallerName"))
    event = CallEvent(
        source=source,
        call_id=parent or call_sid,
        kind=kind,
        caller=caller,
        caller_name=caller_name,
        endpoint=endpoint,
        outbound=outbound,
        withheld=withheld,
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
    except RecursionError:
        raise ProtocolError("TaskAttributes is nested too deeply") from None
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
    caller, caller_name, withheld = caller_fields(
        _text(attributes.get("from")) or _text(attributes.get("caller")),
        _text(attributes.get("caller_name")),
    )
    event = CallEvent(
        source=source,
        call_id=call_id,
        kind=kind,
        caller=caller,
        caller_name=caller_name,
        endpoint=endpoint,
        queue=params.get("TaskQueueName") or params.get("TaskQueueSid") or None,
        withheld=withheld,
    )
    return [event]


def replay_key(signature: str, params: Mapping[str, str]) -> str:
    """What identifies one accepted callback: its signature and the fields naming the event."""
    if "EventType" in params:
        named = ("EventType", params["EventType"], params.get("Sid") or "")
    else:
        named = ("CallSid", params.get("CallSid") or "", params.get("CallStatus") or "")
    return json.dumps([signature, *named])


# -- the source -----------------------------------------------------------------------------------


class TwilioSource(WebhookSourceBase):
    """Twilio voice status callbacks and TaskRouter events, posted to `/webhooks/<name>`."""

    flavor = "twilio"

    def __init__(self, name: str, options: TwilioOptions, clock: Clock = time.time) -> None:
        super().__init__(name, clock)
        self._token = options.auth_token
        self._public_url = options.public_url
        self._worker_endpoint = options.worker_endpoint
        self._window_s = options.replay_window_s
        self._seen = SeenRequests()

    def _handle(self, url: str, headers: Mapping[str, str], body: bytes) -> list[CallEvent]:
        given = header(headers, SIGNATURE_HEADER)
        if not given:
            raise MissingSignature(f"missing {SIGNATURE_HEADER} header")
        url = signed_url(url, self._public_url)
        digest = body_sha256(url)
        if digest is not None:
            self._refuse_json(given.strip(), url, digest, body)
        pairs = parse_form(body)
        if not signature_matches(self._token, url, pairs, given.strip()):
            raise AuthError(f"wrong {SIGNATURE_HEADER}")
        params = dict(pairs)
        events = self._events(params)
        now = self.clock()
        if not self._seen.first_time(replay_key(given.strip(), params), now + self._window_s, now):
            raise ReplayedRequest("replayed request: accepted already", acknowledge=True)
        return events

    def _events(self, params: Mapping[str, str]) -> list[CallEvent]:
        if "EventType" in params:
            return taskrouter_events(self.name, params, self._worker_endpoint)
        if "CallStatus" in params:
            return voice_events(self.name, params)
        raise ProtocolError("neither a voice status callback (CallStatus) nor TaskRouter event")

    def _refuse_json(self, given: str, url: str, digest: str, body: bytes) -> None:
        """A JSON callback: verified as Twilio's libraries do (URL alone, body hash), then 400."""
        if not signature_matches(self._token, url, [], given):
            raise AuthError(f"wrong {SIGNATURE_HEADER}")
        if not hmac.compare_digest(hashlib.sha256(body).hexdigest().encode(), digest.encode()):
            raise AuthError("body does not match the URL's bodySHA256")
        raise ProtocolError(
            "JSON callbacks (bodySHA256) are not supported: point form-encoded "
            "status callbacks and TaskRouter events here"
        )
