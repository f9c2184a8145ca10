"""Login and logout cannot be forged by another site: a foreign Origin (or a browser's
`Sec-Fetch-Site: cross-site`) is refused with 403; the pages log out with a form POST."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from screenpop.daemon import Daemon
from screenpop.settings import parse_settings
from tests.fakes.web_connectors import web_settings_raw

ORIGIN = "http://pops.example.test"
FOREIGN = [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "https://pops.example.test"},  # another scheme is another origin
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is not this server
]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[aiohttp.ClientSession]:
    raw = web_settings_raw(tmp_path, origin=ORIGIN)
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookie_jar=jar) as http:
            yield http


async def post(
    http: aiohttp.ClientSession,
    form: dict[str, str],
    headers: dict[str, str] | None = None,
    path: str = "/",
) -> int:
    async with http.post(path, data=form, headers=headers, allow_redirects=False) as response:
        await response.read()
        return response.status


async def logged_in(http: aiohttp.ClientSession) -> bool:
    async with http.get("/agent", allow_redirects=False) as page:
        return page.status == 200


ALICE = {"agent_id": "alice", "token": "alice-t"}


@pytest.mark.parametrize("headers", FOREIGN)
async def test_a_login_sent_by_another_site_is_refused(
    client: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    assert await post(client, ALICE, headers) == 403
    assert not any(c.key == "screenpop_session" for c in client.cookie_jar)
    assert not await logged_in(client)
    assert await post(client, ALICE, {"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}) == 303
    assert await logged_in(client)


@pytest.mark.parametrize("headers", FOREIGN)
async def test_a_logout_sent_by_another_site_is_refused(
    client: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    assert await post(client, ALICE) == 303
    assert await post(client, {}, headers, path="/logout") == 403
    assert await logged_in(client)


async def test_a_link_or_an_image_cannot_log_an_agent_out(client: aiohttp.ClientSession) -> None:
    assert await post(client, ALICE) == 303
    async with client.get("/logout", allow_redirects=False) as response:
        assert response.status == 405  # logout is a POST only
    assert await logged_in(client)


async def test_the_pages_log_out_with_a_same_origin_form_post(
    client: aiohttp.ClientSession,
) -> None:
    assert await post(client, {"agent_id": "sam", "token": "sam-t"}) == 303
    for page in ("/supervisor", "/agent"):
        async with client.get(page) as response:
            html = await response.text()
        assert '<form class="logout" method="post" action="/logout">' in html
        assert 'href="/logout"' not in html
    same_origin = {"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}
    assert await post(client, {}, same_origin, path="/logout") == 303
    assert not await logged_in(client)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws")
    assert refused.value.status == 401
