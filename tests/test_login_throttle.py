"""Failed logins are throttled per address and per agent id (429 + Retry-After), without locking
the right token out from another address; counted in /metrics."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent_ui.throttle import TRIES_UNDER_ATTACK, LoginThrottle
from screenpop.daemon import Daemon
from screenpop.settings import parse_settings
from tests.fakes.web_connectors import web_settings_raw

LIMIT = 5
WINDOW = 60.0


# -- the rule, on a fake clock ----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(throttle: LoginThrottle, address: str, agent: str | None, times: int) -> None:
    for _ in range(times):
        assert throttle.retry_after(address, agent, LIMIT, WINDOW) is None
        throttle.failed(address, agent, LIMIT)


def test_an_address_is_refused_after_the_limit_until_its_failures_age_out() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    fail(throttle, "10.0.0.1", "alice", 2)
    clock.now += 10
    fail(throttle, "10.0.0.1", None, LIMIT - 2)  # bearer tokens count towards the same address
    assert throttle.retry_after("10.0.0.1", "bob", LIMIT, WINDOW) == 50  # the oldest goes at +60
    clock.now += 49.5
    assert throttle.retry_after("10.0.0.1", None, LIMIT, WINDOW) == 1
    clock.now += 0.5
    assert throttle.retry_after("10.0.0.1", "bob", LIMIT, WINDOW) is None
    assert throttle.retry_after("10.0.0.2", "bob", LIMIT, WINDOW) is None


def test_an_attacker_on_one_address_does_not_lock_the_agent_out_elsewhere() -> None:
    throttle = LoginThrottle(Clock())
    fail(throttle, "A", "alice", LIMIT)
    assert throttle.retry_after("A", "alice", LIMIT, WINDOW) is not None
    assert throttle.retry_after("B", "alice", LIMIT, WINDOW) is None  # alice at her desk
    # a guesser spread over many addresses gets a few tries on alice from each, then waits
    for address in ("C", "D"):
        fail(throttle, address, "alice", TRIES_UNDER_ATTACK)
        assert throttle.retry_after(address, "alice", LIMIT, WINDOW) is not None
        assert throttle.retry_after(address, "bob", LIMIT, WINDOW) is None  # bob is not attacked
    assert throttle.retry_after("B", "alice", LIMIT, WINDOW) is None


def test_a_success_forgets_that_address_on_that_agent_only() -> None:
    throttle = LoginThrottle(Clock())
    fail(throttle, "A", "alice", LIMIT - 1)
    fail(throttle, "B", "alice", TRIES_UNDER_ATTACK - 1)
    throttle.failed("A", "bob", LIMIT)  # the A guesser also tries bob: A is now at its limit
    throttle.succeeded("A", "carol")  # ... and logs in with its own token: A stays throttled
    assert throttle.retry_after("A", "carol", LIMIT, WINDOW) is not None
    throttle.failed("B", "alice", LIMIT)  # alice under attack, B at the pair limit
    assert throttle.retry_after("B", "alice", LIMIT, WINDOW) is not None
    throttle.succeeded("B", "alice")
    assert throttle.retry_after("B", "alice", LIMIT, WINDOW) is None


def test_memory_stays_bounded_under_a_flood_of_addresses() -> None:
    throttle = LoginThrottle(Clock(), max_keys=100)
    for i in range(5000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}", f"agent{i}", LIMIT)
    assert throttle.tracked() <= 300


# -- through the web app ----------------------------------------------------------------------


def loopback_alias_works() -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.2", 0))
        except OSError:
            return False
    return True


@pytest.fixture
async def base(tmp_path: Path) -> AsyncIterator[str]:
    raw: dict[str, Any] = web_settings_raw(tmp_path)
    raw["server"].update(login_max_failures=LIMIT, login_window_s=WINDOW)
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        yield f"http://127.0.0.1:{port}"


def session(base: str, source: str = "127.0.0.1") -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    return aiohttp.ClientSession(
        base, connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)
    )


async def log_in(http: aiohttp.ClientSession, agent_id: str, token: str) -> aiohttp.ClientResponse:
    form = {"agent_id": agent_id, "token": token}
    async with http.post("/", data=form, allow_redirects=False) as response:
        await response.read()
        return response


async def metric(http: aiohttp.ClientSession, line: str) -> str:
    async with http.get("/metrics") as response:
        text = await response.text()
    return next((row for row in text.splitlines() if row.startswith(line)), "")


async def test_the_login_form_answers_429_after_too_many_wrong_tokens(base: str) -> None:
    async with session(base) as http:
        for _ in range(LIMIT):
            assert (await log_in(http, "alice", "wrong")).status == 401
        refused = await log_in(http, "alice", "alice-t")  # even the right one, from here
        assert refused.status == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW
        assert not any(c.key == "screenpop_session" for c in http.cookie_jar)
        assert (await log_in(http, "bob", "bob-t")).status == 429  # the address, any agent id
        assert await metric(http, 'screenpop_login_throttled_total{via="form"}') == (
            'screenpop_login_throttled_total{via="form"} 2.0'
        )


@pytest.mark.skipif(not loopback_alias_works(), reason="127.0.0.2 is not usable here")
async def test_hammering_alice_from_one_address_leaves_her_in_from_another(base: str) -> None:
    async with session(base, "127.0.0.1") as attacker, session(base, "127.0.0.2") as alice:
        for _ in range(LIMIT):
            assert (await log_in(attacker, "alice", "wrong")).status == 401
        assert (await log_in(attacker, "alice", "alice-t")).status == 429
        response = await log_in(alice, "alice", "alice-t")
        assert response.status == 303 and response.headers["Location"] == "/agent"


async def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled(tmp_path: Path) -> None:
    raw: dict[str, Any] = web_settings_raw(tmp_path)
    raw["server"].update(login_max_failures=LIMIT, trusted_proxies=["127.0.0.0/8"])
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        base = f"http://127.0.0.1:{port}"
        async with session(base) as proxy:
            attacker = {"X-Forwarded-For": "203.0.113.9"}
            form = {"agent_id": "alice", "token": "wrong"}
            for status in [401] * LIMIT + [429]:
                async with proxy.post("/", data=form, headers=attacker) as response:
                    assert response.status == status
            office = {"X-Forwarded-For": "198.51.100.7, 203.0.113.200"}  # last hop: the client
            right = {"agent_id": "alice", "token": "alice-t"}
            async with proxy.post("/", data=right, headers=office, allow_redirects=False) as ok:
                assert ok.status == 303


async def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(base: str) -> None:
    async with session(base) as http:
        for i in range(LIMIT):
            spoofed = {"X-Forwarded-For": f"198.51.100.{i}"}  # a new "address" every time
            async with http.post("/", data={"agent_id": "x", "token": "y"}, headers=spoofed) as r:
                assert r.status == 401
        assert (await log_in(http, "alice", "alice-t")).status == 429


async def test_wrong_bearer_tokens_are_throttled_on_the_api_and_the_websocket(base: str) -> None:
    async with session(base) as http:
        wrong = {"Authorization": "Bearer not-a-token"}
        for _ in range(LIMIT):
            async with http.get("/api/cards/%2B12125551234", headers=wrong) as response:
                assert response.status == 401
        right = {"Authorization": "Bearer alice-t"}
        async with http.get("/api/cards/%2B12125551234", headers=right) as response:
            assert response.status == 429 and int(response.headers["Retry-After"]) >= 1
            assert "retry in" in (await response.json())["error"]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect("/ws", headers=right)
        assert refused.value.status == 429
        assert await metric(http, "screenpop_token_failures_total") == (
            f"screenpop_token_failures_total {LIMIT}.0"
        )
        assert await metric(http, 'screenpop_login_throttled_total{via="bearer"}') == (
            'screenpop_login_throttled_total{via="bearer"} 2.0'
        )
