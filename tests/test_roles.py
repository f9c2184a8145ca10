"""Roles and permissions over the websocket and the HTTP API, against a real daemon on loopback.

Each role sees exactly its sections and fields, in the pop, in every later `card` message and
from `/api/cards`; an agent can neither act on another agent's calls nor receive their pops; the
board and reload are for supervisors; sessions expire, logout works, hashed tokens log in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from agent_ui.app import build_app
from agent_ui.auth import COOKIE
from agent_ui.keys import SESSIONS
from agent_ui.sessions import SessionCodec
from agent_ui.ws import CLOSE_SESSION_ENDED
from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from tests.fakes.web_connectors import BACK_OFFICE, JANE, KIND
from tests.harness import AgentClient, agent_tab

HANA_TOKEN = "hana's long secret"
ACCOUNTING = BACK_OFFICE["accounting"][JANE]
SALES = BACK_OFFICE["sales"][JANE]
CREDIT = BACK_OFFICE["credit"][JANE]
CREDIT_REDACTED = {k: v for k, v in CREDIT.items() if k != "internal_score"}
JANE_SUMMARY = {"name": "Jane Doe", "customer_id": "C-1042"}

# role -> (agent id, token, extension, the sections' data it must see exactly, its summary)
ROLES: dict[str, tuple[str, str, str, dict[str, Any], dict[str, Any]]] = {
    "agent": (
        "alice",
        "alice-t",
        "1001",
        {"accounting": ACCOUNTING, "sales": SALES, "credit": CREDIT_REDACTED},
        JANE_SUMMARY,
    ),
    "support": ("sue", "sue-t", "1003", {"accounting": ACCOUNTING, "sales": SALES}, JANE_SUMMARY),
    "credit": ("carl", "carl-t", "1004", {"credit": CREDIT}, {}),
    "supervisor": (
        "sam",
        "sam-t",
        "1009",
        {"accounting": ACCOUNTING, "sales": SALES, "credit": CREDIT},
        JANE_SUMMARY,
    ),
}


def settings_raw(tmp_path: Path, slow_credit: bool = True) -> dict[str, Any]:
    """Three connectors (credit answers after its deadline), agents of four roles."""
    connectors = [
        {"name": name, "kind": KIND, "records": records, "priority": i}
        for i, (name, records) in enumerate(BACK_OFFICE.items())
    ]
    if slow_credit:
        connectors[2].update(deadline_ms=150, sleep_ms=500)
    agents = [
        {"id": agent_id, "role": role, "extensions": [ext], "token": token}
        for role, (agent_id, token, ext, _, _) in ROLES.items()
    ]
    agents.append({"id": "bob", "extensions": ["1002"], "token": "bob-t"})
    hashed = hashlib.sha256(HANA_TOKEN.encode()).hexdigest()
    agents.append({"id": "hana", "extensions": ["1005"], "token_sha256": hashed})
    return {
        "server": {"port": 0, "public_origin": "http://127.0.0.1", "session_secret": "s3"},
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"},
        "connectors": connectors,
        "agents": agents,
        "roles": {
            "agent": {
                "sections": ["accounting", "sales", "credit"],
                "hide": ["credit.internal_score"],
            },
            "support": {"sections": ["accounting", "sales"]},
            "credit": {"sections": ["credit"]},
            "supervisor": {"board": True},
        },
        "base_dir": tmp_path,
    }


class Clock:
    """The sessions' clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def site(tmp_path: Path, clock: Clock | None = None) -> AsyncIterator[tuple[Daemon, str]]:
    """A daemon and its web app on loopback; sessions last 60 s on `clock` when given."""
    async with Daemon(parse_settings(settings_raw(tmp_path), "test")) as daemon:
        app = build_app(daemon.desk)
        if clock is not None:
            app[SESSIONS] = SessionCodec("s3", 60, clock)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        try:
            tcp = web.TCPSite(runner, "127.0.0.1", 0)
            await tcp.start()
            port = runner.addresses[0][1]
            yield daemon, f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()


def ring(daemon: Daemon, call_id: str, extension: str, caller: str = JANE) -> None:
    daemon.emit(CallEvent("t", call_id, EventKind.RINGING, caller, None, extension, "support"))


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


async def cards_until_complete(
    tab: AgentClient, boards: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The pop and every `card` message after it, until the card is complete; `board` messages
    in between go to `boards` (a failure when not expected)."""
    messages: list[dict[str, Any]] = []
    while not messages or not messages[-1]["card"]["complete"]:
        message = await tab.recv()
        if message["type"] == "board" and boards is not None:
            boards.append(message)
            continue
        assert message["type"] == ("card" if messages else "pop"), message
        messages.append(message)
    return messages


def assert_sees_exactly(card: dict[str, Any], expected: dict[str, Any], when: str) -> None:
    assert set(card["sections"]) == set(expected), when
    for name, section in card["sections"].items():
        if section["status"] == "ok":
            assert section["data"] == expected[name], f"{when}: {name}"


@pytest.mark.parametrize("role", list(ROLES))
async def test_each_role_sees_exactly_its_sections_and_fields(tmp_path: Path, role: str) -> None:
    agent_id, token, extension, expected, summary = ROLES[role]
    async with site(tmp_path) as (daemon, base), agent_tab(port_of(base), token) as tab:
        hello = await tab.recv_type("hello")
        assert (hello["agent"], hello["role"]) == (agent_id, role)
        ring(daemon, "r1", extension)
        boards: list[dict[str, Any]] = []
        messages = await cards_until_complete(tab, boards if hello["board"] else None)
        for message in messages:
            assert_sees_exactly(message["card"], expected, f"{role}: {message['type']}")
            if expected.get("credit") != CREDIT:
                assert "internal_score" not in json.dumps(message)
        final = messages[-1]["card"]
        assert {name: s["status"] for name, s in final["sections"].items()} == dict.fromkeys(
            expected, "ok"
        )
        assert final["summary"] == summary
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{base}/api/cards/%2B12125551234", headers=headers) as resp,
        ):
            assert resp.status == 200
            card = await resp.json()
        assert_sees_exactly(card, expected, f"{role}: GET /api/cards")
        assert card["summary"] == summary
        assert all(s["status"] == "ok" for s in card["sections"].values())


async def api(
    http: aiohttp.ClientSession, method: str, url: str, token: str | None = None, **kw: Any
) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, url, headers=headers, allow_redirects=False, **kw) as resp:
        return resp.status, await resp.text()


async def test_an_agent_never_gets_or_touches_another_agents_calls(tmp_path: Path) -> None:
    async with (
        site(tmp_path) as (daemon, base),
        agent_tab(port_of(base), "alice-t") as alice,
        agent_tab(port_of(base), "bob-t") as bob,
        aiohttp.ClientSession() as http,
    ):
        await alice.recv_type("hello")
        await bob.recv_type("hello")
        ring(daemon, "b1", "1002")
        assert (await cards_until_complete(bob))[0]["call_id"] == "b1"
        await alice.silent()
        await alice.send({"type": "resume", "last_seq": 0})  # a replay holds only her own
        await alice.silent()

        note = {"disposition": "resolved", "text": "peeking"}
        url = f"{base}/api/calls/b1"
        assert (await api(http, "POST", f"{url}/notes", "alice-t", json=note))[0] == 404
        choice = {"customer_id": "C-1042"}
        assert (await api(http, "POST", f"{url}/choice", "alice-t", json=choice))[0] == 404
        assert (await api(http, "POST", f"{base}/admin/reload", "alice-t", json={}))[0] == 403
        for message in (
            {"type": "note", "call_id": "b1", "disposition": "resolved", "text": "x"},
            {"type": "choose", "call_id": "b1", "customer_id": "C-1042"},
        ):
            await alice.send(message)
            error = await alice.recv_type("error")
            assert error["about"] == message["type"] and "b1" in error["reason"]
        await bob.silent()  # neither the note nor a card change reached bob

        status, _ = await api(http, "POST", f"{url}/notes", "bob-t", json=note)
        assert status == 201
        assert (await bob.recv_type("note"))["note"]["text"] == "peeking"
        await alice.silent()


async def log_in(http: aiohttp.ClientSession, base: str, agent_id: str, token: str) -> int:
    form = {"agent_id": agent_id, "token": token}
    async with http.post(f"{base}/", data=form, allow_redirects=False) as resp:
        return resp.status


def cookie_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_an_agent_session_is_refused_the_board_and_cross_site_posts(tmp_path: Path) -> None:
    async with site(tmp_path) as (daemon, base), cookie_session() as http:
        assert await log_in(http, base, "alice", "alice-t") == 303
        assert (await api(http, "GET", f"{base}/agent"))[0] == 200
        status, page = await api(http, "GET", f"{base}/supervisor")
        assert status == 403 and "may not watch the queue board" in page
        assert (await api(http, "POST", f"{base}/admin/reload", json={}))[0] == 403
        ring(daemon, "a1", "1001")
        evil = {"Origin": "https://evil.example"}
        note = {"disposition": "resolved", "text": "x"}
        url = f"{base}/api/calls/a1/notes"
        async with http.post(url, json=note, headers=evil) as resp:
            assert resp.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{base}/ws", headers=evil)
        assert refused.value.status == 403


async def test_sessions_expire_even_on_an_open_tab(tmp_path: Path) -> None:
    clock = Clock()
    async with site(tmp_path, clock) as (daemon, base), cookie_session() as http:
        assert await log_in(http, base, "alice", "alice-t") == 303
        async with http.ws_connect(f"{base}/ws") as ws:
            assert (await ws.receive_json())["type"] == "hello"
            clock.now += 61
            ring(daemon, "e1", "1001")  # the pop for an expired session is not sent
            closing = await ws.receive()
            assert closing.type is aiohttp.WSMsgType.CLOSE
            assert closing.data == CLOSE_SESSION_ENDED
        status, _ = await api(http, "GET", f"{base}/agent")
        assert status == 303  # back to the login form
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{base}/ws")
        assert refused.value.status == 401
        assert (await api(http, "GET", f"{base}/api/cards/%2B12125551234"))[0] == 401
        assert await log_in(http, base, "alice", "alice-t") == 303  # a new login works again
        assert (await api(http, "GET", f"{base}/agent"))[0] == 200


async def test_logout_forgets_the_session(tmp_path: Path) -> None:
    async with site(tmp_path) as (_, base), cookie_session() as http:
        assert await log_in(http, base, "alice", "alice-t") == 303
        assert any(c.key == COOKIE for c in http.cookie_jar)
        status, _ = await api(http, "POST", f"{base}/logout")
        assert status == 303
        assert not any(c.key == COOKIE and c.value for c in http.cookie_jar)
        async with http.get(f"{base}/agent", allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{base}/ws")
        assert refused.value.status == 401


async def test_agents_with_a_hashed_token_log_in(tmp_path: Path) -> None:
    hashed = hashlib.sha256(HANA_TOKEN.encode()).hexdigest()
    async with site(tmp_path) as (daemon, base), cookie_session() as http:
        assert await log_in(http, base, "hana", hashed) == 401  # the hash is not the token
        assert await log_in(http, base, "hana", "wrong") == 401
        assert await log_in(http, base, "hana", HANA_TOKEN) == 303
        assert (await api(http, "GET", f"{base}/agent"))[0] == 200
        async with agent_tab(port_of(base), HANA_TOKEN) as tab:
            assert (await tab.recv_type("hello"))["agent"] == "hana"
            ring(daemon, "h1", "1005")
            assert (await tab.recv_type("pop"))["call_id"] == "h1"
