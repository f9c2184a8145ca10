"""Twilio's own signature vectors and its documented callbacks, replayed through the Twilio source.

The files live in ``../shared/samples/peer/twilio`` (see tests/peer.py); without them these tests
skip. `signature_vectors.json` holds what twilio-python's `RequestValidator.validate` answers;
the two `*_docs.json` files hold call flows built from Twilio's documentation with the pops a
call center expects (jenny and alice ring for caller +14158675309).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import pytest

from screenpop.agents import AgentDirectory
from screenpop.call_table import CallTracker
from screenpop.calls import Effect, Notify, Pop
from screenpop.errors import AuthError, ProtocolError
from screenpop.events import AgentCallState, CallEvent, CallState
from screenpop.settings import AgentSettings
from screenpop.telephony.base import SourceContext, WebhookSource
from screenpop.telephony.webhooks.base import MissingSignature
from screenpop.telephony.webhooks.flavors import make_webhook_source
from screenpop.telephony.webhooks.twilio import signature_matches, twilio_signature
from tests.harness import agent_tab, make_settings, running
from tests.peer import PEER, peer_file

CONTEXT = SourceContext(base_dir=Path("."), default_region="US", online_agents=lambda: ())
CALLER = "+14158675309"
DIRECTORY = AgentDirectory(
    [
        AgentSettings(id="jenny", extensions=["jenny"], token="tj"),
        AgentSettings(id="alice", extensions=["WKXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"], token="ta"),
    ]
)


def load(rel: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(peer_file(rel).read_text())
    return data


def _vectors(with_json: bool) -> Iterator[Any]:
    path = PEER / "twilio" / "signature_vectors.json"
    if not path.is_file():  # listed as skipped cases, each saying where it looked
        yield pytest.param(None, id="absent")
        return
    for vector in json.loads(path.read_text())["vectors"]:
        if with_json or "body" not in vector:
            yield pytest.param(vector, id=vector["name"])


def _scenarios(rel: str) -> Iterator[Any]:
    path = PEER / rel
    if not path.is_file():
        yield pytest.param(None, None, id="absent")
        return
    for name, scenario in json.loads(path.read_text())["scenarios"].items():
        yield pytest.param(name, scenario, id=name)


def vectors(with_json: bool = False) -> list[Any]:
    """The signature vectors as test cases; the JSON-body one only when `with_json`."""
    return list(_vectors(with_json))


def scenarios(rel: str) -> list[Any]:
    return list(_scenarios(rel))


def token() -> str:
    value: str = load("twilio/signature_vectors.json")["auth_token"]
    return value


def source(public_url: str | None = None) -> WebhookSource:
    options: dict[str, Any] = {"flavor": "twilio", "auth_token": "12345"}
    if public_url is not None:
        options["public_url"] = public_url
    return make_webhook_source("twilio", options, CONTEXT)


def pairs(vector: dict[str, Any]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in vector["params"]]


def tamper(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    name, value = params[-1]
    return [*params[:-1], (name, value + "9")]


# -- signature vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize("vector", vectors())
def test_signature_vector_is_judged_as_twilio_judges_it(vector: dict[str, Any] | None) -> None:
    vector = vector or load("twilio/signature_vectors.json")
    assert token() == "12345"
    params = pairs(vector)
    assert (
        signature_matches("12345", vector["url"], params, vector["signature"])
        is (vector["library_says"])
    )
    assert not signature_matches("12345", vector["url"], tamper(params), vector["signature"])
    assert not signature_matches("54321", vector["url"], params, vector["signature"])


@pytest.mark.parametrize("vector", vectors())
def test_signature_vector_through_handle(vector: dict[str, Any] | None) -> None:
    vector = vector or load("twilio/signature_vectors.json")
    hook = source()
    headers = {"X-Twilio-Signature": vector["signature"]}
    body = urlencode(pairs(vector)).encode()
    # Accepted: none of these requests is a status callback, so past the signature it is a 400.
    with pytest.raises(ProtocolError, match="neither"):
        hook.handle(vector["url"], headers, body)
    with pytest.raises(AuthError) as info:
        hook.handle(vector["url"], headers, urlencode(tamper(pairs(vector))).encode())
    assert not isinstance(info.value, MissingSignature)
    with pytest.raises(MissingSignature):
        hook.handle(vector["url"], {}, body)
    assert hook.status.rejected == 3


def json_vector() -> dict[str, Any]:
    (vector,) = [v for v in load("twilio/signature_vectors.json")["vectors"] if "body" in v]
    return dict(vector)


def test_json_body_vector_is_refused_with_a_reason() -> None:
    vector = json_vector()
    hook = source()
    headers = {"X-Twilio-Signature": vector["signature"]}
    body = vector["body"].encode()
    # Twilio's library accepts it; screenpop documents JSON callbacks as unsupported: 400.
    assert vector["library_says"] is True
    with pytest.raises(ProtocolError, match=r"JSON callbacks \(bodySHA256\) are not supported"):
        hook.handle(vector["url"], headers, body)
    with pytest.raises(AuthError, match="bodySHA256"):
        hook.handle(vector["url"], headers, body.replace(b"value", b"other"))
    with pytest.raises(AuthError, match="wrong X-Twilio-Signature"):
        hook.handle(vector["url"], {"X-Twilio-Signature": "AAAA" + vector["signature"][4:]}, body)


def split_public(url: str) -> tuple[str, str]:
    """`public_url` without the query, and the path with the query the request is posted to."""
    parts = urlsplit(url)
    public = urlunsplit(parts._replace(query=""))
    return public, "/webhooks/twilio" + (f"?{parts.query}" if parts.query else "")


async def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}{path}", data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.text()


@pytest.mark.parametrize("vector", vectors(with_json=True))
async def test_signature_vector_through_the_web_app(
    vector: dict[str, Any] | None, tmp_path: Path
) -> None:
    vector = vector or load("twilio/signature_vectors.json")
    public, path = split_public(vector["url"])
    hook = {"name": "twilio", "kind": "webhook", "flavor": "twilio", "auth_token": "12345"}
    settings = make_settings(tmp_path, telephony=[{**hook, "public_url": public}])
    if "body" in vector:
        body, tampered = vector["body"].encode(), vector["body"].encode() + b" "
        content_type, refusal = "application/json", "not supported"
    else:
        body = urlencode(pairs(vector)).encode()
        tampered = urlencode(tamper(pairs(vector))).encode()
        content_type, refusal = "application/x-www-form-urlencoded", "neither"
    signed = {"Content-Type": content_type, "X-Twilio-Signature": vector["signature"]}
    async with running(settings) as (daemon, port):
        status, text = await post(port, path, body, signed)
        assert (status, refusal in text) == (400, True)
        assert (await post(port, path, tampered, signed))[0] == 403
        assert (await post(port, path, body, {"Content-Type": content_type}))[0] == 401
        assert daemon.sources["twilio"].status.rejected == 3


# -- documented callbacks, replayed through the call tracker -------------------------------------


def replay(scenario: dict[str, Any]) -> tuple[list[CallEvent], list[Effect], CallTracker]:
    hook = source()
    tracker = CallTracker(DIRECTORY.match)
    events: list[CallEvent] = []
    effects: list[Effect] = []
    for request in scenario["requests"]:
        params = [(name, value) for name, value in request["params"]]
        signature = twilio_signature("12345", request["url"], params)
        for event in hook.handle(
            request["url"], {"X-Twilio-Signature": signature}, urlencode(params).encode()
        ):
            events.append(event)
            effects.extend(tracker.feed(event))
    assert hook.status.rejected == 0
    return events, effects, tracker


def seen_by(effects: list[Effect]) -> list[tuple[str, str]]:
    """What agents see, in order: ("pop", agent) and (state, agent)."""
    seen = []
    for effect in effects:
        if isinstance(effect, Pop):
            seen.append(("pop", effect.agent_id))
        elif isinstance(effect, Notify):
            seen.append((effect.state.value, effect.agent_id))
    return seen


EXPECTED = {
    "dial_client_answered": (
        [("pop", "jenny"), (AgentCallState.ANSWERED, "jenny"), (AgentCallState.ENDED, "jenny")],
        CallState.ENDED,
    ),
    "dial_client_no_answer": (
        [("pop", "jenny"), (AgentCallState.MISSED, "jenny")],
        CallState.ABANDONED,
    ),
    "task_reserved_accepted_completed": (
        [("pop", "alice"), (AgentCallState.ANSWERED, "alice"), (AgentCallState.ENDED, "alice")],
        CallState.ENDED,
    ),
    "task_canceled_while_reserved": (
        [("pop", "alice"), (AgentCallState.MISSED, "alice")],
        CallState.ABANDONED,
    ),
}


def check_scenario(name: str, scenario: dict[str, Any]) -> None:
    events, effects, tracker = replay(scenario)
    expect = scenario["expect"]
    assert [event.kind.value for event in events] == expect["kinds"]
    assert {event.call_id for event in events} == {expect["call_id"]}
    assert {event.caller for event in events} == {expect["caller"]} == {CALLER}
    assert not any(event.withheld for event in events)
    agent_events = [event for event in events if event.endpoint is not None]
    assert {event.endpoint for event in agent_events} == {expect["endpoint"]}
    shown, final = EXPECTED[name]
    assert seen_by(effects) == [(str(state), agent) for state, agent in shown]
    (pop,) = [effect for effect in effects if isinstance(effect, Pop)]
    assert (pop.call.caller, pop.call.state) == (CALLER, final)
    assert tracker.active_for(pop.agent_id) == []  # over: nothing left on the agent's screen


@pytest.mark.parametrize(("name", "scenario"), scenarios("twilio/voice_status_callbacks_docs.json"))
def test_documented_voice_callbacks(name: str | None, scenario: dict[str, Any] | None) -> None:
    if scenario is None or name is None:
        load("twilio/voice_status_callbacks_docs.json")
        return
    check_scenario(name, scenario)


@pytest.mark.parametrize(
    ("name", "scenario"), scenarios("twilio/taskrouter_event_callbacks_docs.json")
)
def test_documented_taskrouter_callbacks(name: str | None, scenario: dict[str, Any] | None) -> None:
    if scenario is None or name is None:
        load("twilio/taskrouter_event_callbacks_docs.json")
        return
    check_scenario(name, scenario)


def test_every_documented_scenario_has_an_expected_outcome() -> None:
    names = set(load("twilio/voice_status_callbacks_docs.json")["scenarios"])
    names |= set(load("twilio/taskrouter_event_callbacks_docs.json")["scenarios"])
    assert names == set(EXPECTED)


def withheld_copy(scenario: dict[str, Any], number: str) -> dict[str, Any]:
    """The scenario with the caller withheld the way Twilio writes it (`From`, TaskAttributes)."""
    requests = []
    for request in scenario["requests"]:
        params = []
        for key, value in request["params"]:
            if key in ("From", "Caller"):
                value = number
            elif key == "TaskAttributes":
                value = json.dumps({**json.loads(value), "from": number, "caller": number})
            params.append([key, value])
        requests.append({**request, "params": params})
    return {**scenario, "requests": requests}


@pytest.mark.parametrize("number", ["+266696687", "+7378742833", "anonymous"])
@pytest.mark.parametrize(
    ("rel", "name"),
    [
        ("twilio/voice_status_callbacks_docs.json", "dial_client_answered"),
        ("twilio/taskrouter_event_callbacks_docs.json", "task_reserved_accepted_completed"),
    ],
)
def test_withheld_caller_pops_anonymous(rel: str, name: str, number: str) -> None:
    scenario = withheld_copy(load(rel)["scenarios"][name], number)
    events, effects, _ = replay(scenario)
    assert {(event.caller, event.withheld) for event in events} == {("anonymous", True)}
    (pop,) = [effect for effect in effects if isinstance(effect, Pop)]
    assert (pop.call.caller, pop.call.caller_name) == ("anonymous", None)
    assert all(number not in repr(event) for event in events if number.startswith("+"))


async def test_documented_taskrouter_flow_pops_alice_through_the_web_app(tmp_path: Path) -> None:
    scenario = load("twilio/taskrouter_event_callbacks_docs.json")["scenarios"][
        "task_reserved_accepted_completed"
    ]
    agents = [
        {"id": "alice", "extensions": ["WKXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"], "token": "ta"},
        {"id": "jenny", "extensions": ["jenny"], "token": "tj"},
    ]
    hook = {
        "name": "twilio",
        "kind": "webhook",
        "flavor": "twilio",
        "auth_token": "12345",
        "public_url": "https://mycompany.com/webhooks/twilio",
    }
    settings = make_settings(tmp_path, telephony=[hook], agents=agents)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with running(settings) as (_, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        for request in scenario["requests"]:
            params = [(key, value) for key, value in request["params"]]
            signature = twilio_signature("12345", request["url"], params)
            body = urlencode(params).encode()
            headers = {**form, "X-Twilio-Signature": signature}
            assert (await post(port, "/webhooks/twilio", body, headers))[0] == 200
        pop = await alice.recv_type("pop")
        assert (pop["call_id"], pop["card"]["caller"]["e164"]) == (
            "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            CALLER,
        )
        assert (await alice.recv_type("call"))["state"] == "answered"
        assert (await alice.recv_type("call"))["state"] == "ended"
