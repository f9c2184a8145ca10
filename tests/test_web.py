"""The web application over real loopback sockets: login, sessions, `/ws`, the API, health."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent_ui.sessions import SessionCodec
from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from screenpop.telephony.webhooks.generic import signed_json_headers
from tests.fakes.web_connectors import JANE, web_settings_raw
from tests.harness import until

ORIGIN = "http://pops.example.test"


async def _serve(raw: dict[str, Any]) -> AsyncIterator[tuple[Daemon, str]]:
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        yield daemon, f"http://127.0.0.1:{port}"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Daemon, str]]:
    async for pair in _serve(web_settings_raw(tmp_path, origin=ORIGIN)):
        yield pair


@pytest.fixture
async def daemon(served: tuple[Daemon, str]) -> Daemon:
    return served[0]


@pytest.fixture
async def client(served: tuple[Daemon, str]) -> AsyncIterator[aiohttp.ClientSession]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(served[1], cookie_jar=jar) as session:
        yield session


async def login(client: aiohttp.ClientSession, agent_id: str, token: str) -> aiohttp.ClientResponse:
    form = {"agent_id": agent_id, "token": token}
    async with client.post("/", data=form, allow_redirects=False) as response:
        await response.read()
        return response


def ring(daemon: Daemon, call_id: str = "c1", endpoint: str = "1001", caller: str = JANE) -> None:
    daemon.emit(
        CallEvent("t", call_id, EventKind.RINGING, caller, "PBX Name", endpoint, queue="support")
    )


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    async with asyncio.timeout(10):
        message = await ws.receive()
    assert message.type is aiohttp.WSMsgType.TEXT, message
    data: dict[str, Any] = json.loads(message.data)
    return data


async def receive_type(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while (message := await receive(ws))["type"] != kind:
        pass
    return message


BEARER = {"Authorization": "Bearer alice-t"}


# -- login, sessions, pages ---------------------------------------------------------------------


async def test_login_sets_a_signed_http_only_cookie_and_opens_the_agent_page(
    client: aiohttp.ClientSession,
) -> None:
    async with client.get("/") as response:
        assert response.status == 200
        assert 'name="agent_id"' in await response.text()
    response = await login(client, "alice", "alice-t")
    assert response.status == 303
    assert response.headers["Location"] == "/agent"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    async with client.get("/agent", allow_redirects=False) as page:
        assert page.status == 200
        html = await page.text()
        assert "Alice Moreau" in html and "agent.js" in html
        # opened at 127.0.0.1:port while the public origin is another: the page says so
        assert "server.public_origin" in html
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("agent_id", "token"), [("alice", "wrong"), ("nobody", "alice-t"), ("", ""), ("bob", "alice-t")]
)
async def test_a_wrong_login_shows_the_form_again_with_401(
    client: aiohttp.ClientSession, agent_id: str, token: str
) -> None:
    form = {"agent_id": agent_id, "token": token}
    async with client.post("/", data=form, allow_redirects=False) as response:
        assert response.status == 401
        assert "Wrong agent id or token" in await response.text()
        assert "Set-Cookie" not in response.headers
    async with client.get("/agent", allow_redirects=False) as page:
        assert page.status == 303 and page.headers["Location"] == "/"


async def test_login_form_escapes_what_was_typed(client: aiohttp.ClientSession) -> None:
    form = {"agent_id": '"><script>alert(1)</script>', "token": "x"}
    async with client.post("/", data=form) as response:
        html = await response.text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


async def test_supervisors_land_on_the_board_and_agents_may_not_see_it(
    client: aiohttp.ClientSession, served: tuple[Daemon, str]
) -> None:
    response = await login(client, "sam", "sam-t")
    assert response.headers["Location"] == "/supervisor"
    async with client.get("/supervisor") as page:
        assert page.status == 200 and "supervisor.js" in await page.text()
    async with aiohttp.ClientSession(served[1], cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        await login(other, "alice", "alice-t")
        async with other.get("/supervisor", allow_redirects=False) as page:
            assert page.status == 403


async def test_logout_clears_the_session(client: aiohttp.ClientSession) -> None:
    await login(client, "alice", "alice-t")
    async with client.post("/logout", allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/"
    async with client.get("/agent", allow_redirects=False) as page:
        assert page.status == 303
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws")
    assert refused.value.status == 401


async def test_a_forged_or_expired_cookie_is_not_a_session(served: tuple[Daemon, str]) -> None:
    now = [1_000_000.0]
    codec = SessionCodec("test-secret", 60, clock=lambda: now[0])
    good = codec.issue("alice")
    assert codec.verify(good) == "alice"
    payload, _, signature = good.partition(".")
    assert codec.verify(f"{payload}.{'0' * len(signature)}") is None
    assert SessionCodec("other-secret", 60, clock=lambda: now[0]).verify(good) is None
    assert codec.verify("garbage") is None and codec.verify("") is None
    now[0] += 61
    assert codec.verify(good) is None
    # a cookie signed with the daemon's secret works, a forged one does not
    real = SessionCodec("test-secret", 60).issue("alice")
    for value, status in ((real, 200), (real[:-2] + "00", 303)):
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(served[1], cookie_jar=jar) as session:
            cookies = {"screenpop_session": value}
            async with session.get("/agent", cookies=cookies, allow_redirects=False) as page:
                assert page.status == status


async def test_logout_voids_a_copied_cookie_on_the_server(
    client: aiohttp.ClientSession, served: tuple[Daemon, str]
) -> None:
    await login(client, "alice", "alice-t")
    copied = {c.key: c.value for c in client.cookie_jar}["screenpop_session"]
    async with client.post("/logout", allow_redirects=False):
        pass
    async with (
        aiohttp.ClientSession(served[1]) as thief,
        thief.get("/agent", cookies={"screenpop_session": copied}, allow_redirects=False) as page,
    ):
        assert page.status == 303  # back to the login form
    await login(client, "alice", "alice-t")  # logging in again works at once
    async with client.get("/agent", allow_redirects=False) as page:
        assert page.status == 200


# -- /ws ------------------------------------------------------------------------------------------


async def test_ws_refuses_missing_credentials_and_foreign_origins(
    served: tuple[Daemon, str],
) -> None:
    async with aiohttp.ClientSession(served[1]) as session:
        for headers, status in [
            ({}, 401),
            ({"Authorization": "Bearer wrong"}, 401),
            ({"Authorization": "Basic YWxpY2U6YWxpY2UtdA=="}, 401),
            ({**BEARER, "Origin": "http://evil.example"}, 403),
        ]:
            with pytest.raises(aiohttp.WSServerHandshakeError) as failed:
                async with session.ws_connect("/ws", headers=headers):
                    pass
            assert failed.value.status == status, headers
        async with session.ws_connect("/ws", headers={**BEARER, "Origin": ORIGIN}) as ws:
            assert (await receive(ws))["type"] == "hello"


async def test_ws_with_the_session_cookie_says_hello_first_then_pops(
    client: aiohttp.ClientSession, daemon: Daemon
) -> None:
    await login(client, "alice", "alice-t")
    async with client.ws_connect("/ws") as ws:
        hello = await receive(ws)
        assert hello["type"] == "hello" and hello["agent"] == "alice"
        assert hello["dispositions"] == list(daemon.settings.ui.dispositions)
        ring(daemon)
        pop = await receive(ws)
        assert pop["type"] == "pop" and pop["call_id"] == "c1" and pop["seq"] == hello["seq"] + 1
        card = pop["card"]
        assert card["summary"]["name"] == "Jane Doe"
        assert set(card["sections"]) == {"accounting", "sales", "credit"}
        assert "internal_score" not in card["sections"]["credit"]["data"]
        await ws.send_json({"type": "ack", "seq": pop["seq"]})
        daemon.emit(CallEvent("t", "c1", EventKind.ANSWERED, endpoint="1001"))
        call = await receive_type(ws, "call")
        assert call["state"] == "answered"
    # the server side lets the tab go once its handler sees the close (on uvloop, after ours)
    await until(lambda: daemon.hub.tabs("alice") == 0, "the closed tab is let go")


async def test_ws_rejects_bad_messages_with_an_error_and_keeps_going(
    client: aiohttp.ClientSession, daemon: Daemon
) -> None:
    async with client.ws_connect("/ws", headers=BEARER) as ws:
        await receive(ws)
        for bad, reason in [
            ("not json", "not valid JSON"),
            ('{"type":"shout"}', "unknown message type"),
            ('{"type":"resume","last_seq":-3}', "last_seq"),
            ('{"type":"ack"}', "seq"),
            ('{"type":"note","call_id":"c1","disposition":"resolved","text":1}', "text"),
            ('{"type":"note","call_id":"nope","disposition":"resolved","text":"x"}', "no call"),
        ]:
            await ws.send_str(bad)
            error = await receive(ws)
            assert error["type"] == "error" and reason in error["reason"], (bad, error)
        await ws.send_bytes(b"\x00")
        assert (await receive(ws))["type"] == "error"
        ring(daemon)
        assert (await receive(ws))["type"] == "pop"
    async with client.get("/metrics") as response:
        assert "screenpop_ws_bad_messages_total 7.0" in await response.text()


async def test_a_note_over_the_websocket_reaches_every_tab(
    client: aiohttp.ClientSession, daemon: Daemon
) -> None:
    async with (
        client.ws_connect("/ws", headers=BEARER) as one,
        client.ws_connect("/ws", headers=BEARER) as two,
    ):
        await receive(one), await receive(two)
        ring(daemon)
        await receive_type(one, "pop"), await receive_type(two, "pop")
        note = {"type": "note", "call_id": "c1", "disposition": "callback", "text": "ring back"}
        await one.send_json(note)
        for ws in (one, two):
            saved = await receive_type(ws, "note")
            assert saved["note"]["text"] == "ring back"
            assert saved["note"]["disposition"] == "callback"
        await one.send_json({**note, "disposition": "made-up"})
        assert "disposition" in (await receive_type(one, "error"))["reason"]


async def test_resume_replays_what_a_tab_missed(
    client: aiohttp.ClientSession, daemon: Daemon
) -> None:
    async with client.ws_connect("/ws", headers=BEARER) as ws:
        last = (await receive(ws))["seq"]
    ring(daemon, "c1")
    ring(daemon, "c2", caller="+12125559999")
    async with client.ws_connect("/ws", headers=BEARER) as ws:
        await receive(ws)
        await ws.send_json({"type": "resume", "last_seq": last})
        first, second = await receive(ws), await receive(ws)
        assert [first["seq"], second["seq"]] == [last + 1, last + 2]
        assert {first["call_id"], second["call_id"]} == {"c1", "c2"}


async def test_a_tab_that_cannot_keep_up_is_closed_with_4000(
    client: aiohttp.ClientSession, daemon: Daemon
) -> None:
    async with client.ws_connect("/ws", headers=BEARER) as ws:
        await receive(ws)
        limit = daemon.settings.server.outbound_queue
        for i in range(limit + 5):  # in one go: the writer gets no chance to drain
            await daemon.hub.publish("alice", {"type": "card", "call_id": f"x{i}", "card": {}})
        async with asyncio.timeout(10):
            while (message := await ws.receive()).type is aiohttp.WSMsgType.TEXT:
                pass
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4000
    assert daemon.hub.tabs("alice") == 0


async def test_other_agents_receive_nothing(client: aiohttp.ClientSession, daemon: Daemon) -> None:
    bob = {"Authorization": "Bearer bob-t"}
    async with client.ws_connect("/ws", headers=bob) as ws:
        await receive(ws)
        ring(daemon)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await ws.receive()


async def test_shutdown_closes_open_tabs_as_going_away(tmp_path: Path) -> None:
    raw = web_settings_raw(tmp_path, origin=ORIGIN)
    async with Daemon(parse_settings(raw, "test")) as daemon, aiohttp.ClientSession() as session:
        async with daemon.web() as port:
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws", headers=BEARER)
            await receive(ws)
        async with asyncio.timeout(10):
            message = await ws.receive()
        assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 1001
        await ws.close()
        assert daemon.hub.tabs("alice") == 0


# -- health and metrics ---------------------------------------------------------------------------


async def test_health_and_metrics(client: aiohttp.ClientSession) -> None:
    async with client.get("/healthz") as response:
        assert response.status == 200 and await response.json() == {"status": "ok"}
    async with client.get("/metrics") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert "screenpop_pops_total" in await response.text()


async def test_readyz_is_200_when_store_and_cache_answer(client: aiohttp.ClientSession) -> None:
    async with client.get("/readyz") as response:
        body = await response.json()
        assert response.status == 200 and body["ready"] is True, body
        assert body["checks"]["store"]["ok"] and body["checks"]["cache"]["ok"]


async def test_readyz_is_503_while_a_source_is_not_up(tmp_path: Path) -> None:
    raw = web_settings_raw(tmp_path, origin=ORIGIN)
    raw["telephony"] = [{"name": "gen", "kind": "webhook", "flavor": "json", "secret": "k"}]
    async for daemon, base in _serve(raw):
        daemon.sources["gen"].status.set(connected=False, logged_in=False, detail="down")
        async with aiohttp.ClientSession(base) as session, session.get("/readyz") as response:
            assert response.status == 503
            body = await response.json()
            assert body["ready"] is False and body["checks"]["telephony.gen"]["ok"] is False


# -- API ------------------------------------------------------------------------------------------


async def test_card_api_needs_credentials_and_a_number(client: aiohttp.ClientSession) -> None:
    async with client.get(f"/api/cards/{JANE}") as response:
        assert response.status == 401
        assert "error" in await response.json()
    for garbage in ("hello", "anonymous", "12"):
        async with client.get(f"/api/cards/{garbage}", headers=BEARER) as response:
            assert response.status == 400, garbage
            assert "error" in await response.json()


@pytest.mark.parametrize(
    ("who", "token", "sections"),
    [
        ("alice", "alice-t", {"accounting", "sales", "credit"}),
        ("sid", "sid-t", {"sales"}),
        ("sam", "sam-t", {"accounting", "sales", "credit"}),
    ],
)
async def test_card_api_filters_by_role(
    client: aiohttp.ClientSession, who: str, token: str, sections: set[str]
) -> None:
    await login(client, who, token)  # the session cookie works as well as a bearer token
    async with client.get("/api/cards/(212) 555-1234") as response:
        assert response.status == 200
        card = await response.json()
    assert set(card["sections"]) == sections
    assert card["caller"]["e164"] == JANE
    credit = card["sections"].get("credit")
    if credit is not None:
        assert ("internal_score" in credit["data"]) is (who == "sam")


async def test_notes_api(client: aiohttp.ClientSession, daemon: Daemon) -> None:
    ring(daemon)
    async with client.ws_connect("/ws", headers=BEARER) as ws:
        await receive(ws)
        url = "/api/calls/c1/notes"
        note = {"disposition": "resolved", "text": "all good"}
        async with client.post(url, json=note) as response:
            assert response.status == 401
        async with client.post(url, json=note, headers=BEARER) as response:
            assert response.status == 201
            saved = await response.json()
        assert saved["text"] == "all good" and saved["agent"] == "alice"
        assert (await receive_type(ws, "note"))["note"]["text"] == "all good"
        bob = {"Authorization": "Bearer bob-t"}
        for body, headers, status in [
            (note, bob, 404),
            ({"disposition": "nonsense", "text": ""}, BEARER, 400),
            ({"text": "no disposition"}, BEARER, 400),
            ({**note, "extra": 1}, BEARER, 400),
        ]:
            async with client.post(url, json=body, headers=headers) as response:
                assert response.status == status, body
        async with client.post("/api/calls/unknown/notes", json=note, headers=BEARER) as response:
            assert response.status == 404
        await login(client, "alice", "alice-t")
        cross = {"Origin": "http://evil.example"}
        async with client.post(url, json=note, headers=cross) as response:
            assert response.status == 403


# -- webhooks -------------------------------------------------------------------------------------


async def test_webhooks_check_the_signature_and_emit_the_events(tmp_path: Path) -> None:
    raw = web_settings_raw(tmp_path, origin=ORIGIN)
    raw["telephony"] = [{"name": "gen", "kind": "webhook", "flavor": "json", "secret": "k"}]
    async for _daemon, base in _serve(raw):
        async with aiohttp.ClientSession(base) as session:
            async with session.post("/webhooks/nope", data=b"{}") as response:
                assert response.status == 404
            ws = await session.ws_connect("/ws", headers=BEARER)
            await receive(ws)
            body = json.dumps(
                {"call_id": "w1", "event": "ringing", "caller": JANE, "agent": "1001"}
            ).encode()
            for headers, data, status in [
                ({}, body, 401),
                ({"X-Screenpop-Signature": "sha256=00"}, body, 403),
                (signed_json_headers("k", b"[1]"), b"[1]", 400),
                (signed_json_headers("k", body), body, 200),
            ]:
                async with session.post("/webhooks/gen", data=data, headers=headers) as response:
                    assert response.status == status, (headers, await response.text())
            pop = await receive_type(ws, "pop")
            assert pop["call_id"] == "w1" and pop["card"]["summary"]["name"] == "Jane Doe"
            await ws.close()
