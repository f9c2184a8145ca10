"""Webhook replays: the generic webhook's signed timestamp and both flavors' memory of requests."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from screenpop.errors import AuthError, ProtocolError
from screenpop.telephony.base import SourceContext, WebhookSource
from screenpop.telephony.webhooks.base import ReplayedRequest, StaleRequest
from screenpop.telephony.webhooks.flavors import make_webhook_source
from screenpop.telephony.webhooks.generic import sign_json, signed_json_headers
from screenpop.telephony.webhooks.replay import SeenRequests
from screenpop.telephony.webhooks.twilio import twilio_signature
from tests.harness import agent_tab, make_settings, running

CONTEXT = SourceContext(base_dir=Path("."), default_region="US", online_agents=lambda: ())
NOW = 1_800_000_000.0
SECRET = "s3cret"
URL = "https://pops.example.com/webhooks/hook"
RING = {"call_id": "42", "event": "ringing", "caller": "+12125551234", "agent": "1001"}
README = Path(__file__).resolve().parent.parent / "README.md"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def with_clock(source: WebhookSource, clock: Clock) -> WebhookSource:
    source.clock = clock  # type: ignore[attr-defined]
    return source


def generic(clock: Clock, **options: Any) -> WebhookSource:
    options = {"flavor": "json", "secret": SECRET, **options}
    return with_clock(make_webhook_source("hook", options, CONTEXT), clock)


def twilio(clock: Clock, **options: Any) -> WebhookSource:
    options = {"flavor": "twilio", "auth_token": "tok", **options}
    return with_clock(make_webhook_source("hook", options, CONTEXT), clock)


def twilio_request(params: dict[str, str]) -> tuple[dict[str, str], bytes]:
    signature = twilio_signature("tok", URL, sorted(params.items()))
    return {"X-Twilio-Signature": signature}, urlencode(params).encode()


# -- the generic webhook's timestamp --------------------------------------------------------------


def test_generic_same_request_twice_is_a_replay() -> None:
    source = generic(Clock())
    body = json.dumps(RING).encode()
    headers = signed_json_headers(SECRET, body, at=NOW)
    assert len(source.handle(URL, headers, body)) == 1
    with pytest.raises(ReplayedRequest) as info:
        source.handle(URL, headers, body)
    assert not info.value.acknowledge
    assert (source.status.events, source.status.rejected) == (1, 1)


def test_generic_resent_with_a_fresh_timestamp_is_accepted() -> None:
    source = generic(Clock())
    body = json.dumps(RING).encode()
    assert source.handle(URL, signed_json_headers(SECRET, body, at=NOW), body)
    assert source.handle(URL, signed_json_headers(SECRET, body, at=NOW + 1), body)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-301, False), (-300, True), (0, True), (300, True), (301, False), (-86_400, False)],
)
def test_generic_timestamp_outside_the_window_is_refused(offset: int, accepted: bool) -> None:
    source = generic(Clock())
    body = json.dumps(RING).encode()
    headers = signed_json_headers(SECRET, body, at=NOW + offset)
    if accepted:
        assert source.handle(URL, headers, body)
        return
    with pytest.raises(StaleRequest, match="outside the 300 s window"):
        source.handle(URL, headers, body)
    assert source.status.rejected == 1


def test_generic_window_is_max_skew_s() -> None:
    source = generic(Clock(), max_skew_s=30)
    body = json.dumps(RING).encode()
    with pytest.raises(StaleRequest, match="31 s old, outside the 30 s window"):
        source.handle(URL, signed_json_headers(SECRET, body, at=NOW - 31), body)
    assert source.handle(URL, signed_json_headers(SECRET, body, at=NOW - 30), body)


def test_generic_signature_covers_the_timestamp() -> None:
    body = json.dumps(RING).encode()
    headers = signed_json_headers(SECRET, body, at=NOW - 1000)
    headers["X-Screenpop-Timestamp"] = str(int(NOW))  # a stale request made to look fresh
    with pytest.raises(AuthError, match="wrong X-Screenpop-Signature"):
        generic(Clock()).handle(URL, headers, body)


def test_generic_missing_or_malformed_timestamp() -> None:
    source = generic(Clock())
    body = json.dumps(RING).encode()
    headers = signed_json_headers(SECRET, body, at=NOW)
    del headers["X-Screenpop-Timestamp"]
    with pytest.raises(AuthError, match="missing X-Screenpop-Timestamp"):
        source.handle(URL, headers, body)
    for stamp in ("1.8e9", "-5", "١٢٣"):
        signed = {"X-Screenpop-Timestamp": stamp, "X-Screenpop-Signature": ""}
        signed["X-Screenpop-Signature"] = sign_json(SECRET, stamp, body)
        with pytest.raises(ProtocolError, match="Unix seconds"):
            source.handle(URL, signed, body)


def test_generic_signatures_are_forgotten_once_out_of_the_window() -> None:
    clock = Clock()
    source = generic(clock)
    for second in range(50):
        body = json.dumps({**RING, "call_id": str(second)}).encode()
        source.handle(URL, signed_json_headers(SECRET, body, at=NOW + second), body)
    seen = source._seen  # type: ignore[attr-defined]
    assert len(seen) == 50
    clock.now = NOW + 300 + 25
    body = json.dumps(RING).encode()
    source.handle(URL, signed_json_headers(SECRET, body, at=clock.now), body)
    assert len(seen) == 25  # the 25 with a timestamp still inside the window, and this one


def test_seen_requests_forget_by_time_and_keep_within_the_limit() -> None:
    seen = SeenRequests(limit=3)
    assert seen.first_time("a", 10, now=0)
    assert not seen.first_time("a", 10, now=9)
    assert seen.first_time("a", 20, now=10)  # forgotten at 10
    for key, forget_at in [("b", 15), ("c", 30), ("d", 40)]:
        assert seen.first_time(key, forget_at, now=11)
    assert len(seen) == 3  # "b", forgotten soonest, made room
    assert seen.first_time("b", 50, now=12)


# -- Twilio ---------------------------------------------------------------------------------------

VOICE = {"CallSid": "CA1", "CallStatus": "ringing", "From": "+12125551234", "To": "+18005551212"}
TASK = {
    "EventType": "reservation.created",
    "Sid": "EV1",
    "WorkerSid": "WK1",
    "TaskSid": "WT1",
    "TaskAttributes": json.dumps({"call_sid": "CA1", "from": "+12125551234"}),
}


@pytest.mark.parametrize("params", [VOICE, TASK], ids=["voice", "taskrouter"])
def test_twilio_same_request_twice_is_acknowledged_not_applied(params: dict[str, str]) -> None:
    clock = Clock()
    source = twilio(clock)
    headers, body = twilio_request(params)
    assert len(source.handle(URL, headers, body)) == 1
    clock.now += 299
    with pytest.raises(ReplayedRequest) as info:
        source.handle(URL, headers, body)
    assert info.value.acknowledge
    assert (source.status.events, source.status.rejected) == (1, 1)


def test_twilio_other_statuses_of_the_call_are_accepted() -> None:
    source = twilio(Clock())
    for status in ("ringing", "in-progress", "completed"):
        headers, body = twilio_request({**VOICE, "CallStatus": status})
        assert len(source.handle(URL, headers, body)) == 1


def test_twilio_window_is_replay_window_s() -> None:
    clock = Clock()
    source = twilio(clock, replay_window_s=60)
    headers, body = twilio_request(VOICE)
    source.handle(URL, headers, body)
    clock.now += 60
    assert len(source.handle(URL, headers, body)) == 1  # forgotten: the window is the option


def test_twilio_refused_requests_are_not_remembered() -> None:
    source = twilio(Clock())
    headers, body = twilio_request({**VOICE, "CallStatus": "exploded"})
    for _ in range(2):
        with pytest.raises(ProtocolError, match="unknown CallStatus"):
            source.handle(URL, headers, body)


# -- through the web app --------------------------------------------------------------------------


async def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}{path}", data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def rejected_counts(port: int) -> dict[str, float]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        text = await resp.text()
    found = re.findall(
        r'screenpop_webhook_rejected_total\{reason="(\w+)",source="(\w+)"\} (\S+)', text
    )
    return {f"{source}:{reason}": float(value) for reason, source, value in found}


async def test_replays_through_the_web_app(tmp_path: Path) -> None:
    sources = [
        {"name": "generic", "kind": "webhook", "flavor": "json", "secret": "k"},
        {"name": "twilio", "kind": "webhook", "flavor": "twilio", "auth_token": "tok"},
    ]
    settings = make_settings(tmp_path, telephony=sources)
    async with running(settings) as (_, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        body = json.dumps(RING).encode()
        headers = signed_json_headers("k", body)
        assert await post(port, "/webhooks/generic", body, headers) == (
            200,
            {"ok": True, "events": 1},
        )
        await alice.recv_type("pop")
        status, answer = await post(port, "/webhooks/generic", body, headers)
        assert (status, answer["error"]) == (
            409,
            "replayed request: this signature was accepted already",
        )
        stale = signed_json_headers("k", body, at=1_000_000_000)
        status, answer = await post(port, "/webhooks/generic", body, stale)
        assert status == 403 and "outside the 300 s window" in answer["error"]

        url = f"http://127.0.0.1:{port}/webhooks/twilio"
        params = {**VOICE, "CallSid": "CA9", "ParentCallSid": "CA8", "To": "client:1001"}
        form = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature("tok", url, sorted(params.items())),
        }
        twilio_body = urlencode(params).encode()
        assert await post(port, "/webhooks/twilio", twilio_body, form) == (
            200,
            {"ok": True, "events": 1},
        )
        assert (await alice.recv_type("pop"))["call_id"] == "CA8"
        again = await post(port, "/webhooks/twilio", twilio_body, form)
        assert again == (200, {"ok": True, "events": 0, "replay": True})
        assert await alice.silent()
        counts = await rejected_counts(port)
        assert counts == {"generic:replay": 1.0, "generic:stale": 1.0, "twilio:replay": 1.0}


def readme_generic_example() -> str:
    section = README.read_text().split("### Any other PBX: the generic JSON webhook", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl"
)
async def test_readme_curl_example_is_accepted(tmp_path: Path) -> None:
    script = readme_generic_example()
    assert "X-Screenpop-Timestamp" in script and "http://127.0.0.1:8080/" in script
    source = {"name": "generic", "kind": "webhook", "flavor": "json", "secret": "change-me"}
    settings = make_settings(tmp_path, telephony=[source])
    async with running(settings) as (_, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        script = script.replace("http://127.0.0.1:8080/", f"http://127.0.0.1:{port}/")
        process = await asyncio.create_subprocess_exec(
            "bash", "-euc", script, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate()
        assert process.returncode == 0
        assert json.loads(out) == {"ok": True, "events": 1}  # what the README says it prints
        pop = await alice.recv_type("pop")
        assert pop["call_id"] == "pbx-42"
