"""Webhook payload models over arbitrary requests (hypothesis): only the documented errors.

Whatever arrives, `handle` returns events or raises :class:`AuthError` (401/403) or
:class:`ProtocolError` (400); a correctly signed request is never refused as forged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import pytest
from hypothesis import event as tally
from hypothesis import given, settings
from hypothesis import strategies as st

from screenpop.errors import AuthError, ProtocolError
from screenpop.events import CallEvent
from screenpop.telephony.base import SourceContext, WebhookSource
from screenpop.telephony.webhooks.flavors import make_webhook_source
from screenpop.telephony.webhooks.generic import signed_json_headers
from screenpop.telephony.webhooks.twilio import twilio_signature

CONTEXT = SourceContext(base_dir=Path("."), default_region="US", online_agents=lambda: ())
URL = "https://pops.example.com/webhooks/hook"
SECRET = "s3cret"
TOKEN = "12345"

SURROGATES: tuple[Literal["Cs"]] = ("Cs",)  # not encodable: no HTTP request carries them
TEXT = st.text(alphabet=st.characters(exclude_categories=SURROGATES), max_size=24)
SIGNATURE_NAMES = st.sampled_from(["X-Twilio-Signature", "x-screenpop-signature", "X-Other"])
HEADERS = st.one_of(
    st.dictionaries(TEXT, TEXT, max_size=4),
    st.dictionaries(SIGNATURE_NAMES, st.one_of(TEXT, st.just("sha256=" + "0" * 64)), max_size=3),
)
URLS = st.one_of(
    st.just(URL),
    st.text(max_size=40),
    st.builds(
        lambda host, port, query: f"https://{host}{port}/webhooks/hook{query}",
        st.sampled_from(["pops.example.com", "[::1]", "[", "a:b@h", ""]),
        st.sampled_from(["", ":443", ":1234", ":0", ":99999", ":x", ":"]),
        st.sampled_from(["", "?", "?a=1", "?bodySHA256=00", "?bodySHA256=", "#f"]),
    ),
)


def json_source() -> WebhookSource:
    return make_webhook_source("hook", {"flavor": "json", "secret": SECRET}, CONTEXT)


def twilio_source() -> WebhookSource:
    return make_webhook_source("hook", {"flavor": "twilio", "auth_token": TOKEN}, CONTEXT)


def outcome(source: WebhookSource, url: str, headers: dict[str, str], body: bytes) -> Any:
    """The events, or the documented error raised (anything else fails the test)."""
    try:
        events = source.handle(url, headers, body)
    except (AuthError, ProtocolError) as exc:
        tally(type(exc).__name__)
        return exc
    tally(f"{len(events)} events")
    assert all(isinstance(event, CallEvent) for event in events)
    for event in events:
        assert event.source == "hook" and event.call_id
        if event.withheld:
            assert (event.caller, event.caller_name) == ("anonymous", None)
    return events


# -- arbitrary requests ---------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(url=URLS, headers=HEADERS, body=st.binary(max_size=200))
def test_any_request_gets_events_or_a_documented_error(
    url: str, headers: dict[str, str], body: bytes
) -> None:
    for source in (json_source(), twilio_source()):
        result = outcome(source, url, headers, body)
        if isinstance(result, Exception):
            assert source.status.rejected == 1


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=300))
def test_signed_json_garbage_is_refused_as_malformed_not_forged(body: bytes) -> None:
    result = outcome(json_source(), URL, signed_json_headers(SECRET, body), body)
    assert not isinstance(result, AuthError)


def test_deeply_nested_bodies_are_400() -> None:
    body = b"[" * 100_000
    with pytest.raises(ProtocolError, match="nested too deeply"):
        json_source().handle(URL, signed_json_headers(SECRET, body), body)
    params = [("EventType", "task.created"), ("TaskAttributes", "[" * 50_000)]
    headers = {"X-Twilio-Signature": twilio_signature(TOKEN, URL, params)}
    with pytest.raises(ProtocolError, match="nested too deeply"):
        twilio_source().handle(URL, headers, urlencode(params).encode())


# -- bodies shaped like the real payloads ---------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6,
)
JSON_FIELDS = {
    "call_id": st.one_of(TEXT, JSON_VALUES),
    "event": st.one_of(
        st.sampled_from(
            [
                "queued",
                "ringing",
                "answered",
                "missed",
                "transferred",
                "ended",
                "abandoned",
                "RINGING",
                "",
            ]
        ),
        JSON_VALUES,
    ),
    "caller": st.one_of(
        st.sampled_from(["+12125551234", "anonymous", "+266696687"]), TEXT, JSON_VALUES
    ),
    "caller_name": st.one_of(TEXT, JSON_VALUES),
    "agent": st.one_of(st.just("1001"), TEXT, JSON_VALUES),
    "queue": st.one_of(TEXT, JSON_VALUES),
    "withheld": st.one_of(st.booleans(), JSON_VALUES),
    "extra": JSON_VALUES,
}
EVENTS = st.sampled_from(
    ["queued", "ringing", "answered", "missed", "transferred", "ended", "abandoned"]
)
JSON_BODIES = st.one_of(
    st.fixed_dictionaries({}, optional=JSON_FIELDS),
    st.fixed_dictionaries(  # well-formed bodies, so the mapping is reached too
        {
            "call_id": st.from_regex(r"[A-Za-z0-9.]{1,12}", fullmatch=True),
            "event": EVENTS,
            "agent": st.sampled_from(["1001", "alice"]),
        },
        optional={
            "caller": JSON_FIELDS["caller"],
            "caller_name": TEXT,
            "queue": TEXT,
            "withheld": st.booleans(),
        },
    ),
)


@settings(max_examples=200, deadline=None)
@given(data=JSON_BODIES)
def test_json_body_model(data: dict[str, Any]) -> None:
    body = json.dumps(data).encode()
    result = outcome(json_source(), URL, signed_json_headers(SECRET, body), body)
    assert not isinstance(result, AuthError)
    if data.get("withheld") is True and not isinstance(result, Exception):
        assert all(event.withheld for event in result)


ATTRIBUTES = st.one_of(
    TEXT,
    JSON_VALUES.map(json.dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "call_sid": st.one_of(TEXT, JSON_VALUES),
            "from": st.one_of(st.sampled_from(["+14158675309", "+266696687"]), TEXT, JSON_VALUES),
            "caller": st.one_of(TEXT, JSON_VALUES),
            "caller_name": st.one_of(TEXT, JSON_VALUES),
        },
    ).map(json.dumps),
)
TWILIO_FIELDS = {
    "CallSid": TEXT,
    "ParentCallSid": TEXT,
    "CallStatus": st.one_of(
        st.sampled_from(
            [
                "queued",
                "initiated",
                "ringing",
                "in-progress",
                "completed",
                "busy",
                "no-answer",
                "canceled",
                "failed",
            ]
        ),
        TEXT,
    ),
    "Direction": st.sampled_from(["inbound", "outbound-api", "outbound-dial", ""]),
    "From": st.one_of(st.sampled_from(["+14158675309", "anonymous", "+7378742833"]), TEXT),
    "To": st.one_of(st.sampled_from(["client:jenny", "sip:1001@pbx.example", "sip:"]), TEXT),
    "CallerName": TEXT,
    "EventType": st.one_of(
        st.sampled_from(
            [
                "task.created",
                "reservation.created",
                "reservation.accepted",
                "task.canceled",
                "task.wrapup",
                "worker.activity.update",
            ]
        ),
        TEXT,
    ),
    "TaskSid": TEXT,
    "TaskAttributes": ATTRIBUTES,
    "WorkerSid": TEXT,
    "TaskQueueName": TEXT,
}


VOICE = st.fixed_dictionaries(
    {"CallSid": st.just("CA1"), "CallStatus": TWILIO_FIELDS["CallStatus"]},
    optional={key: TWILIO_FIELDS[key] for key in ("ParentCallSid", "From", "To", "CallerName")},
)
TASKS = st.fixed_dictionaries(
    {"EventType": TWILIO_FIELDS["EventType"], "WorkerSid": st.just("WK1")},
    optional={key: TWILIO_FIELDS[key] for key in ("TaskSid", "TaskAttributes", "TaskQueueName")},
)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.one_of(st.fixed_dictionaries({}, optional=TWILIO_FIELDS), VOICE, TASKS),
    extra=st.lists(st.tuples(TEXT, TEXT), max_size=3),
)
def test_twilio_form_parameters(fields: dict[str, str], extra: list[tuple[str, str]]) -> None:
    params = [*fields.items(), *extra]
    signature = twilio_signature(TOKEN, URL, params)
    body = urlencode(params).encode()
    result = outcome(twilio_source(), URL, {"X-Twilio-Signature": signature}, body)
    assert not isinstance(result, AuthError), result
