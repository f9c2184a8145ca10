"""Each telephony source end to end: the PBX's own wire protocol in, the agent's websocket out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from screenpop import commands
from screenpop.telephony.webhooks.generic import signed_json_headers
from screenpop.telephony.webhooks.twilio import twilio_signature
from tests.fakes.ami_scenarios import Pbx
from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.esl_server import FakeFreeSwitch, cc_event, channel_event, event_frame
from tests.harness import agent_tab, make_settings, running, until, with_sources


def ami_source(port: int, secret: str = "s3cret") -> dict[str, Any]:
    return {"name": "pbx1", "kind": "ami", "port": port, "username": "screenpop", "secret": secret}


async def test_asterisk_ami_call_pops_for_the_ringing_agent(tmp_path: Path) -> None:
    pbx = Pbx()
    server = FakeAsterisk(pbx)
    port = await server.start()
    settings = make_settings(tmp_path, telephony=[ami_source(port)])
    try:
        async with (
            running(settings) as (daemon, web_port),
            with_sources(daemon),
            agent_tab(web_port, "ta") as alice,
            agent_tab(web_port, "tb") as bob,
        ):
            await until(lambda: daemon.sources["pbx1"].status.logged_in and server.resyncs >= 1)
            await alice.recv_type("hello")
            await bob.recv_type("hello")
            call, packets = pbx.inbound("+12125551234", "Jane Doe")
            await server.send([*packets, *pbx.join(call, "support")])
            await server.send(pbx.ring(call, "PJSIP/1001", "1001", "Alice"))
            pop = await alice.recv_type("pop")
            assert (pop["state"], pop["queue"]) == ("ringing", "support")
            assert pop["card"]["summary"]["name"] == "Jane Doe"
            assert pop["card"]["sections"]["accounting"]["status"] == "ok"
            await server.send(pbx.answer(call, "PJSIP/1001"))
            assert (await alice.recv_type("call"))["state"] == "answered"
            await server.send(pbx.complete(call, "PJSIP/1001"))
            assert (await alice.recv_type("call"))["state"] == "ended"
            assert await bob.silent()
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{web_port}/readyz") as resp,
            ):
                ready = await resp.json()
            assert ready["checks"]["telephony.pbx1"]["ok"] is True
    finally:
        await server.stop()


async def test_check_reports_the_pbx_login_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = FakeAsterisk()
    port = await server.start()
    try:
        good = make_settings(tmp_path, telephony=[ami_source(port)])
        assert await commands.check(good, "+12125551234") == 0
        out = capsys.readouterr().out
        assert "telephony:ami" in out and "connected, logged in" in out
        bad = make_settings(tmp_path, telephony=[ami_source(port, secret="wrong")])
        assert await commands.check(bad, None) == 1
        out = capsys.readouterr().out
        assert "FAIL" in out and "login failed" in out.lower()
        server.forbidden.add("coreshowchannels")  # `read` lacks `reporting` in manager.conf
        assert await commands.check(good, None) == 1
        out = capsys.readouterr().out
        assert "FAIL" in out and "Permission denied" in out
    finally:
        await server.stop()


async def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}{path}", data=body, headers=headers) as resp,
    ):
        return resp.status


async def test_generic_json_webhook_pops_and_rejects_bad_signatures(tmp_path: Path) -> None:
    source = {"name": "generic", "kind": "webhook", "flavor": "json", "secret": "k"}
    settings = make_settings(tmp_path, telephony=[source])
    async with running(settings) as (daemon, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        ring = {"call_id": "w1", "event": "ringing", "caller": "+12125551234", "agent": "1001"}
        body = json.dumps(ring).encode()
        sig = {**signed_json_headers("k", body), "Content-Type": "application/json"}
        assert (
            await post(
                port, "/webhooks/generic", body, {**sig, "X-Screenpop-Signature": "sha256=00"}
            )
            == 403
        )
        assert (
            await post(port, "/webhooks/generic", body, {"Content-Type": "application/json"}) == 401
        )
        assert await post(port, "/webhooks/nope", body, sig) == 404
        bad = b'{"call_id": "w1", "event": "exploded"}'
        assert await post(port, "/webhooks/generic", bad, signed_json_headers("k", bad)) == 400
        assert await post(port, "/webhooks/generic", body, sig) == 200
        pop = await alice.recv_type("pop")
        assert (pop["call_id"], pop["card"]["summary"]["name"]) == ("w1", "Jane Doe")
        assert daemon.sources["generic"].status.rejected == 3


async def test_twilio_taskrouter_reservation_pops_for_the_worker(tmp_path: Path) -> None:
    agents = [{"id": "alice", "extensions": ["WKalice0001"], "token": "ta"}]
    source = {
        "name": "twilio",
        "kind": "webhook",
        "flavor": "twilio",
        "auth_token": "tok",
        "public_url": "https://pops.example.com/webhooks/twilio",
    }
    settings = make_settings(tmp_path, telephony=[source], agents=agents)
    async with running(settings) as (_, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        attributes = {"call_sid": "CA1", "from": "+12125551234", "caller_name": "Jane"}
        params = [
            ("EventType", "reservation.created"),
            ("WorkerSid", "WKalice0001"),
            ("TaskSid", "WT1"),
            ("TaskQueueName", "support"),
            ("TaskAttributes", json.dumps(attributes)),
        ]
        body = urlencode(params).encode()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        signature = twilio_signature("tok", "https://pops.example.com/webhooks/twilio", params)
        tampered = body.replace(b"support", b"sales")
        assert (
            await post(
                port, "/webhooks/twilio", tampered, {**form, "X-Twilio-Signature": signature}
            )
            == 403
        )
        assert (
            await post(port, "/webhooks/twilio", body, {**form, "X-Twilio-Signature": signature})
            == 200
        )
        pop = await alice.recv_type("pop")
        assert (pop["call_id"], pop["queue"]) == ("CA1", "support")
        assert pop["card"]["caller"]["e164"] == "+12125551234"


async def test_freeswitch_callcenter_call_pops_for_the_offered_agent(tmp_path: Path) -> None:
    member = "c0ffee00-0000-4000-8000-000000000001"
    async with FakeFreeSwitch("ClueCon") as fs:
        source = {"name": "fs1", "kind": "esl", "port": fs.port, "password": "ClueCon"}
        settings = make_settings(tmp_path, telephony=[source])
        async with (
            running(settings) as (daemon, web_port),
            with_sources(daemon),
            agent_tab(web_port, "ta") as alice,
        ):
            await fs.wait_subscribed()
            await alice.recv_type("hello")
            events = [
                channel_event("CHANNEL_CREATE", member, direction="inbound"),
                cc_event("member-queue-start", member),
                cc_event("agent-offering", member, agent="1001@default"),
            ]
            for headers in events:
                await fs.send_raw(event_frame(headers))
            pop = await alice.recv_type("pop")
            assert pop["card"]["summary"]["name"] == "Jane Doe"
            assert pop["queue"] == "support@default"
            await fs.send_raw(
                event_frame(cc_event("bridge-agent-start", member, agent="1001@default"))
            )
            assert (await alice.recv_type("call"))["state"] == "answered"
