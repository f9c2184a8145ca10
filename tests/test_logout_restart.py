"""A logged-out session stays logged out after the daemon restarts: the logout is kept in the
store until the cookie would have expired anyway."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from screenpop.daemon import Daemon
from screenpop.settings import parse_settings
from tests.fakes.web_connectors import web_settings_raw

ORIGIN = "http://pops.example.test"
SAME_ORIGIN = {"Origin": ORIGIN}
ALICE = {"agent_id": "alice", "token": "alice-t"}
COOKIE = "screenpop_session"


async def opens_agent_page(port: int, cookie: str) -> bool:
    async with (
        aiohttp.ClientSession(cookies={COOKIE: cookie}) as http,
        http.get(f"http://127.0.0.1:{port}/agent", allow_redirects=False) as page,
    ):
        return page.status == 200


async def test_a_cookie_voided_by_logout_stays_void_after_a_restart(tmp_path: Path) -> None:
    settings = parse_settings(web_settings_raw(tmp_path, origin=ORIGIN), "test")
    async with Daemon(settings) as daemon, daemon.web() as port:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookie_jar=jar) as http:
            async with http.post("/", data=ALICE, headers=SAME_ORIGIN, allow_redirects=False):
                pass
            stolen = next(c.value for c in jar if c.key == COOKIE)  # e.g. copied off the PC
            assert await opens_agent_page(port, stolen)
            async with http.post("/logout", headers=SAME_ORIGIN, allow_redirects=False) as out:
                assert out.status == 303
            assert not await opens_agent_page(port, stolen)

    async with Daemon(settings) as daemon, daemon.web() as port:
        assert not await opens_agent_page(port, stolen)  # the restart did not revive it
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookie_jar=jar) as http:
            async with http.post("/", data=ALICE, headers=SAME_ORIGIN, allow_redirects=False):
                pass
            fresh = next(c.value for c in jar if c.key == COOKIE)
        assert await opens_agent_page(port, fresh)  # logging in again works
