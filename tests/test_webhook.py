"""Webhook sources: Twilio signature and payload mapping, the generic JSON flavor, the factory."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from screenpop.errors import AuthError, ConfigError, ProtocolError
from screenpop.events import CallEvent, EventKind
from screenpop.telephony.base import SourceContext, WebhookSource, find_source_kind
from screenpop.telephony.webhooks.base import MissingSignature
from screenpop.telephony.webhooks.flavors import make_webhook_source
from screenpop.telephony.webhooks.generic import signed_json_headers
from screenpop.telephony.webhooks.twilio import twilio_signature, url_variants

CONTEXT = SourceContext(base_dir=Path("."), default_region="US", online_agents=lambda: ())

# Twilio's documented example (Webhooks security): auth token 12345, this URL and these params.
DOC_TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

URL = "https://pops.example.com/webhooks/twilio"


def twilio(**options: Any) -> WebhookSource:
    return make_webhook_source("twilio", {"flavor": "twilio", **options}, CONTEXT)


def signed(
    params: dict[str, str], url: str = URL, token: str = "tok"
) -> tuple[dict[str, str], bytes]:
    body = urlencode(params).encode()
    signature = twilio_signature(token, url, sorted(params.items()))
    return {"X-Twilio-Signature": signature}, body


def post(source: WebhookSource, params: dict[str, str], url: str = URL) -> list[CallEvent]:
    headers, body = signed(params, url)
    return source.handle(url, headers, body)


# -- Twilio signature ---------------------------------------------------------------------------


def test_documented_example_signature() -> None:
    assert twilio_signature(DOC_TOKEN, DOC_URL, list(DOC_PARAMS.items())) == DOC_SIGNATURE


def test_documented_example_request_is_accepted() -> None:
    source = twilio(auth_token=DOC_TOKEN)
    body = urlencode(DOC_PARAMS).encode()
    # The example (a <Gather> callback) carries no CallStatus: it passes the signature check,
    # then is refused as a callback screenpop does not handle (400, not 403).
    with pytest.raises(ProtocolError, match="neither"):
        source.handle(DOC_URL, {"x-twilio-signature": DOC_SIGNATURE}, body)
    assert source.status.rejected == 1
    status_callback = {**DOC_PARAMS, "CallStatus": "ringing"}
    signature = twilio_signature(DOC_TOKEN, DOC_URL, list(status_callback.items()))
    body = urlencode(status_callback).encode()
    events = source.handle(DOC_URL, {"X-Twilio-Signature": signature}, body)
    assert [(e.call_id, e.kind, e.caller) for e in events] == [
        ("CA1234567890ABCDE", EventKind.QUEUED, "+12349013030")
    ]
    assert source.status.events == 1


@pytest.mark.parametrize(
    ("url", "body", "token"),
    [
        (DOC_URL, {**DOC_PARAMS, "Digits": "1235"}, DOC_TOKEN),  # tampered body
        (DOC_URL, {**DOC_PARAMS, "Extra": ""}, DOC_TOKEN),  # a parameter added
        ("https://mycompany.com/myapp.php?foo=1&bar=3", DOC_PARAMS, DOC_TOKEN),  # tampered URL
        ("http://mycompany.com/myapp.php?foo=1&bar=2", DOC_PARAMS, DOC_TOKEN),  # scheme changed
        (DOC_URL, DOC_PARAMS, "54321"),  # another account's token
    ],
    ids=["body", "added-param", "url", "scheme", "token"],
)
def test_tampered_request_is_refused(url: str, body: dict[str, str], token: str) -> None:
    source = twilio(auth_token=token)
    with pytest.raises(AuthError) as info:
        source.handle(url, {"X-Twilio-Signature": DOC_SIGNATURE}, urlencode(body).encode())
    assert not isinstance(info.value, MissingSignature)
    assert source.status.rejected == 1


def test_missing_twilio_signature_is_distinguishable() -> None:
    source = twilio(auth_token=DOC_TOKEN)
    with pytest.raises(MissingSignature) as info:
        source.handle(DOC_URL, {}, urlencode(DOC_PARAMS).encode())
    assert info.value.missing is True
    assert isinstance(info.value, AuthError)
    assert source.status.rejected == 1


def test_public_url_is_what_is_verified() -> None:
    public = "https://pops.example.com/webhooks/twilio"
    source = twilio(auth_token="tok", public_url=public)
    params = {"CallSid": "CA1", "CallStatus": "ringing", "From": "+12125551234"}
    headers, body = signed(params, public)
    # The daemon behind its proxy sees another URL; the signature is checked against public_url.
    assert source.handle("http://127.0.0.1:8080/webhooks/twilio", headers, body)
    headers, body = signed(params, "http://127.0.0.1:8080/webhooks/twilio")
    with pytest.raises(AuthError):
        source.handle("http://127.0.0.1:8080/webhooks/twilio", headers, body)


def test_public_url_gets_the_request_query() -> None:
    public = "https://pops.example.com/webhooks/twilio"
    source = twilio(auth_token="tok", public_url=public)
    params = {"CallSid": "CA1", "CallStatus": "ringing"}
    headers, body = signed(params, public + "?site=paris")
    assert source.handle("http://127.0.0.1:8080/webhooks/twilio?site=paris", headers, body)


@pytest.mark.parametrize(
    ("url", "variants"),
    [
        ("https://a.example/x?y=1", ["https://a.example/x?y=1", "https://a.example:443/x?y=1"]),
        ("http://a.example:80/x", ["http://a.example/x", "http://a.example:80/x"]),
        ("http://a.example:8080/x", ["http://a.example/x", "http://a.example:8080/x"]),
        ("https://a.example:1234/x", ["https://a.example/x", "https://a.example:1234/x"]),
        ("http://a.example/x", ["http://a.example/x", "http://a.example:80/x"]),
        ("https://a.example/x?", ["https://a.example/x", "https://a.example:443/x"]),
        ("https://a.example:99999/x", []),
        ("https://a.example:port/x", []),
    ],
)
def test_url_forms_twilio_checks(url: str, variants: list[str]) -> None:
    assert url_variants(url) == variants


@pytest.mark.parametrize(
    ("signed_as", "received_at"),
    [
        (
            "https://pops.example.com:443/webhooks/twilio",
            "https://pops.example.com/webhooks/twilio",
        ),
        (
            "https://pops.example.com/webhooks/twilio",
            "https://pops.example.com:443/webhooks/twilio",
        ),
        (
            "https://pops.example.com/webhooks/twilio",
            "https://pops.example.com:8443/webhooks/twilio",
        ),
        (
            "http://pops.example.com:8080/webhooks/twilio",
            "http://pops.example.com:8080/webhooks/twilio",
        ),
    ],
)
def test_port_forms_are_accepted(signed_as: str, received_at: str) -> None:
    params = {"CallSid": "CA1", "CallStatus": "ringing"}
    headers, body = signed(params, signed_as)
    assert twilio(auth_token="tok").handle(received_at, headers, body)


@pytest.mark.parametrize(
    ("signed_as", "received_at"),
    [
        # another non-default port than the one the request came to
        (
            "https://pops.example.com:8443/webhooks/twilio",
            "https://pops.example.com:9443/webhooks/twilio",
        ),
        # a non-default port added where the request named none
        (
            "https://pops.example.com:8443/webhooks/twilio",
            "https://pops.example.com/webhooks/twilio",
        ),
        # http's default port on an https URL
        ("https://pops.example.com:80/webhooks/twilio", "https://pops.example.com/webhooks/twilio"),
        ("https://pops.example.com/webhooks/twilio", "https://other.example.com/webhooks/twilio"),
    ],
)
def test_other_port_forms_are_refused(signed_as: str, received_at: str) -> None:
    params = {"CallSid": "CA1", "CallStatus": "ringing"}
    headers, body = signed(params, signed_as)
    with pytest.raises(AuthError):
        twilio(auth_token="tok").handle(received_at, headers, body)


def test_public_url_with_a_bad_port_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="public_url"):
        twilio(auth_token="tok", public_url="https://pops.example.com:99999/webhooks/twilio")


@pytest.mark.parametrize(
    "body",
    [b"CallSid=CA1&CallStatus", b"CallSid=%ff%fe", b"\xff\xfe"],
    ids=["no-equals", "bad-escape", "not-utf8"],
)
def test_malformed_form_body_is_400(body: bytes) -> None:
    source = twilio(auth_token="tok")
    with pytest.raises(ProtocolError):
        source.handle(URL, {"X-Twilio-Signature": "x"}, body)
    assert source.status.rejected == 1


# -- voice status callbacks ----------------------------------------------------------------------

CALLER_LEG = {
    "CallSid": "CA100",
    "AccountSid": "AC1",
    "From": "+12125551234",
    "Caller": "+12125551234",
    "CallerName": "JANE DOE",
    "To": "+18005551212",
    "Called": "+18005551212",
    "Direction": "inbound",
    "ApiVersion": "2010-04-01",
}
AGENT_LEG = {
    "CallSid": "CA200",
    "ParentCallSid": "CA100",
    "AccountSid": "AC1",
    "From": "+12125551234",
    "To": "client:alice",
    "Direction": "outbound-dial",
}


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("queued", EventKind.QUEUED),
        ("initiated", EventKind.QUEUED),
        ("ringing", EventKind.QUEUED),
        ("in-progress", EventKind.QUEUED),
        ("completed", EventKind.ENDED),
        ("busy", EventKind.ABANDONED),
        ("no-answer", EventKind.ABANDONED),
        ("canceled", EventKind.ABANDONED),
        ("failed", EventKind.ABANDONED),
    ],
)
def test_caller_leg_status(status: str, kind: EventKind) -> None:
    (event,) = post(twilio(auth_token="tok"), {**CALLER_LEG, "CallStatus": status})
    assert (event.source, event.call_id, event.kind) == ("twilio", "CA100", kind)
    assert (event.caller, event.caller_name, event.endpoint) == ("+12125551234", "JANE DOE", None)
    assert not event.outbound


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("ringing", EventKind.RINGING),
        ("in-progress", EventKind.ANSWERED),
        ("completed", EventKind.ENDED),
        ("busy", EventKind.MISSED),
        ("no-answer", EventKind.MISSED),
        ("canceled", EventKind.MISSED),
        ("failed", EventKind.MISSED),
    ],
)
def test_agent_leg_status(status: str, kind: EventKind) -> None:
    (event,) = post(twilio(auth_token="tok"), {**AGENT_LEG, "CallStatus": status})
    assert (event.call_id, event.kind, event.endpoint, event.caller) == (
        "CA100",
        kind,
        "alice",
        "+12125551234",
    )


@pytest.mark.parametrize(
    ("to", "endpoint"),
    [
        ("client:alice", "alice"),
        ("sip:1001@pbx.example.com;transport=tls", "1001"),
        ("sips:1002@pbx.example.com", "1002"),
        ("+33612345678", "+33612345678"),
    ],
)
def test_agent_leg_endpoint_spellings(to: str, endpoint: str) -> None:
    (event,) = post(twilio(auth_token="tok"), {**AGENT_LEG, "To": to, "CallStatus": "ringing"})
    assert event.endpoint == endpoint


@pytest.mark.parametrize(
    "withheld",
    [
        "anonymous",
        "Anonymous",
        "Restricted",
        "+266696687",
        "+7378742833",
        "+86282452253",
        "+2562533",
        "+8656696",
        "sip:anonymous@anonymous.invalid",
    ],
)
def test_withheld_caller_is_anonymous_and_flagged(withheld: str) -> None:
    params = {**CALLER_LEG, "From": withheld, "Caller": withheld, "CallStatus": "ringing"}
    (event,) = post(twilio(auth_token="tok"), params)
    assert (event.caller, event.caller_name, event.withheld) == ("anonymous", None, True)
    agent = {**AGENT_LEG, "From": withheld, "CallStatus": "ringing"}
    (event,) = post(twilio(auth_token="tok"), agent)
    assert (event.caller, event.withheld, event.endpoint) == ("anonymous", True, "alice")


def test_caller_without_a_number_is_none_not_withheld() -> None:
    params = {**CALLER_LEG, "From": "", "Caller": "", "CallStatus": "ringing"}
    (event,) = post(twilio(auth_token="tok"), params)
    assert (event.caller, event.withheld) == (None, False)
    (event,) = post(twilio(auth_token="tok"), {**CALLER_LEG, "CallStatus": "ringing"})
    assert (event.caller, event.caller_name, event.withheld) == ("+12125551234", "JANE DOE", False)


def test_taskrouter_withheld_caller() -> None:
    attributes = {**TASK_ATTRIBUTES, "from": "+266696687", "caller": "+266696687"}
    params = task_event("reservation.created", TaskAttributes=json.dumps(attributes))
    (event,) = post(twilio(auth_token="tok"), params)
    assert (event.caller, event.caller_name, event.withheld) == ("anonymous", None, True)
    assert event.endpoint == "WK1"


def test_outbound_api_call_takes_the_callee_as_caller() -> None:
    params = {**CALLER_LEG, "Direction": "outbound-api", "CallStatus": "ringing"}
    (event,) = post(twilio(auth_token="tok"), params)
    assert event.outbound and event.caller == "+18005551212"


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({**CALLER_LEG, "CallStatus": "exploded"}, "unknown CallStatus"),
        ({"CallStatus": "ringing"}, "without CallSid"),
        ({**AGENT_LEG, "To": "", "CallStatus": "ringing"}, "without To"),
        ({"AccountSid": "AC1"}, "neither"),
    ],
)
def test_voice_callback_problems_are_400(params: dict[str, str], reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        post(twilio(auth_token="tok"), params)


# -- TaskRouter ----------------------------------------------------------------------------------

TASK_ATTRIBUTES = {
    "call_sid": "CA100",
    "from": "+12125551234",
    "to": "+18005551212",
    "caller_name": "Jane Doe",
    "direction": "inbound",
}


def task_event(event_type: str, **extra: str) -> dict[str, str]:
    return {
        "EventType": event_type,
        "AccountSid": "AC1",
        "WorkspaceSid": "WS1",
        "ResourceType": "Reservation",
        "TaskSid": "WT1",
        "TaskAttributes": json.dumps(TASK_ATTRIBUTES),
        "TaskQueueSid": "WQ1",
        "TaskQueueName": "support",
        "WorkerSid": "WK1",
        "WorkerName": "alice",
        "ReservationSid": "WR1",
        **extra,
    }


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("task.created", EventKind.QUEUED),
        ("task-queue.entered", EventKind.QUEUED),
        ("reservation.created", EventKind.RINGING),
        ("reservation.accepted", EventKind.ANSWERED),
        ("reservation.rejected", EventKind.MISSED),
        ("reservation.timeout", EventKind.MISSED),
        ("reservation.canceled", EventKind.MISSED),
        ("reservation.rescinded", EventKind.MISSED),
        ("task.canceled", EventKind.ABANDONED),
        ("task.wrapup", EventKind.ENDED),
        ("task.completed", EventKind.ENDED),
    ],
)
def test_taskrouter_event(event_type: str, kind: EventKind) -> None:
    (event,) = post(twilio(auth_token="tok"), task_event(event_type))
    assert (event.call_id, event.kind, event.queue) == ("CA100", kind, "support")
    assert (event.caller, event.caller_name, event.endpoint) == ("+12125551234", "Jane Doe", "WK1")


def test_taskrouter_worker_name_as_endpoint() -> None:
    source = twilio(auth_token="tok", worker_endpoint="name")
    (event,) = post(source, task_event("reservation.created"))
    assert event.endpoint == "alice"


def test_taskrouter_queue_sid_when_no_queue_name() -> None:
    params = task_event("reservation.created")
    del params["TaskQueueName"]
    (event,) = post(twilio(auth_token="tok"), params)
    assert event.queue == "WQ1"


def test_taskrouter_other_events_are_ignored() -> None:
    source = twilio(auth_token="tok")
    assert post(source, task_event("worker.activity.update")) == []
    assert source.status.rejected == 0


def test_task_without_call_is_keyed_by_task_sid() -> None:
    params = task_event("reservation.created", TaskAttributes=json.dumps({"caller": "+331"}))
    (event,) = post(twilio(auth_token="tok"), params)
    assert (event.call_id, event.caller) == ("WT1", "+331")


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (task_event("reservation.created", TaskAttributes="{nope"), "not valid JSON"),
        (task_event("reservation.created", TaskAttributes="[1]"), "not a JSON object"),
        (task_event("reservation.created", WorkerSid=""), "without WorkerSid"),
        (task_event("task.canceled", TaskAttributes="{}", TaskSid=""), "call_sid or TaskSid"),
    ],
)
def test_taskrouter_problems_are_400(params: dict[str, str], reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        post(twilio(auth_token="tok"), params)


# -- the generic JSON flavor ---------------------------------------------------------------------

SECRET = "s3cret"


def generic() -> WebhookSource:
    return make_webhook_source("generic", {"flavor": "json", "secret": SECRET}, CONTEXT)


def json_request(data: Any, secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(data).encode() if not isinstance(data, bytes) else data
    return signed_json_headers(secret, body), body


VALID = {
    "call_id": "1731.42",
    "event": "ringing",
    "caller": "+12125551234",
    "caller_name": "Jane Doe",
    "agent": "1001",
    "queue": "support",
}


def test_json_valid_request() -> None:
    source = generic()
    headers, body = json_request(VALID)
    (event,) = source.handle("http://127.0.0.1/webhooks/generic", headers, body)
    assert event == CallEvent(
        source="generic",
        call_id="1731.42",
        kind=EventKind.RINGING,
        caller="+12125551234",
        caller_name="Jane Doe",
        endpoint="1001",
        queue="support",
        at=event.at,
    )
    assert source.status.events == 1


@pytest.mark.parametrize("event", [k.value for k in EventKind])
def test_json_every_event(event: str) -> None:
    headers, body = json_request({**VALID, "event": event})
    (parsed,) = generic().handle("http://x/", headers, body)
    assert parsed.kind == EventKind(event)


def test_json_queued_needs_no_agent() -> None:
    headers, body = json_request({"call_id": "9", "event": "queued", "caller": "+331"})
    (event,) = generic().handle("http://x/", headers, body)
    assert (event.kind, event.endpoint, event.queue) == (EventKind.QUEUED, None, None)


@pytest.mark.parametrize(
    "body",
    [
        {**VALID, "withheld": True},
        {**VALID, "caller": "anonymous", "caller_name": "Jane Doe"},
        {**VALID, "caller": "RESTRICTED"},
        {**VALID, "caller": "+266696687"},
        {**VALID, "caller": "sip:anonymous@anonymous.invalid", "withheld": False},
    ],
    ids=["flag", "anonymous", "restricted", "twilio-sentinel", "sip-anonymous"],
)
def test_json_withheld_caller_is_anonymous(body: dict[str, Any]) -> None:
    headers, raw = json_request(body)
    (event,) = generic().handle("http://x/", headers, raw)
    assert (event.caller, event.caller_name, event.withheld) == ("anonymous", None, True)
    assert event.endpoint == "1001"


def test_json_not_withheld_by_default() -> None:
    headers, raw = json_request({**VALID, "withheld": False})
    (event,) = generic().handle("http://x/", headers, raw)
    assert (event.caller, event.caller_name, event.withheld) == ("+12125551234", "Jane Doe", False)


def test_json_bad_signature_is_403() -> None:
    source = generic()
    headers, body = json_request(VALID, secret="other")
    with pytest.raises(AuthError) as info:
        source.handle("http://x/", headers, body)
    assert not isinstance(info.value, MissingSignature)
    headers = {"x-screenpop-signature": "sha256=" + "0" * 64}
    with pytest.raises(AuthError):
        source.handle("http://x/", headers, body)
    assert source.status.rejected == 2


def test_json_signature_covers_the_body() -> None:
    headers, _ = json_request(VALID)
    tampered = json.dumps({**VALID, "agent": "1002"}).encode()
    with pytest.raises(AuthError):
        generic().handle("http://x/", headers, tampered)


def test_json_missing_signature_is_401() -> None:
    source = generic()
    with pytest.raises(MissingSignature):
        source.handle("http://x/", {}, json.dumps(VALID).encode())
    assert source.status.rejected == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"call_id": "1", "event": ', "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "JSON object"),
        ({"event": "ringing", "agent": "1001"}, "call_id: field required"),
        ({"call_id": "1", "agent": "1001"}, "event: field required"),
        ({"call_id": "1", "event": "exploded", "agent": "1001"}, "event: Input should be"),
        ({"call_id": "1", "event": "ringing"}, "`agent` is required"),
        ({"call_id": 42, "event": "queued"}, "call_id: Input should be a valid string"),
        ({**VALID, "caller": ["+1"]}, "caller:"),
        ({**VALID, "withheld": "yes"}, "withheld: Input should be a valid boolean"),
        ({**VALID, "withheld": 1}, "withheld: Input should be a valid boolean"),
    ],
)
def test_json_malformed_is_400_with_reason(data: Any, reason: str) -> None:
    source = generic()
    headers, body = json_request(data)
    with pytest.raises(ProtocolError, match=reason):
        source.handle("http://x/", headers, body)
    assert source.status.rejected == 1


# -- the factory and the source's life -----------------------------------------------------------


def test_found_through_the_source_registry() -> None:
    factory = find_source_kind("webhook", "telephony.generic")
    source = factory("generic", {"flavor": "json", "secret": "x"}, CONTEXT)
    assert isinstance(source, WebhookSource)
    assert source.status.connected and source.status.logged_in
    assert source.status.detail == "listening on POST /webhooks/generic"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"flavor": "xml"}, "unknown webhook flavor 'xml'"),
        ({"flavor": "json"}, "secret"),
        ({"flavor": "json", "secret": "x", "auth_token": "y"}, "auth_token: unknown key"),
        ({"flavor": "twilio"}, "auth_token"),
        ({"flavor": "twilio", "auth_token": "t", "public_url": "pops/x"}, "public_url"),
    ],
)
def test_invalid_options_name_the_source(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=r"telephony\.hook") as info:
        make_webhook_source("hook", options, CONTEXT)
    assert message in str(info.value)


async def test_run_waits_until_cancelled_and_check_is_ready() -> None:
    source = generic()
    task = asyncio.create_task(source.run(lambda event: None))
    await asyncio.sleep(0)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    status = await source.check()
    assert status.logged_in
