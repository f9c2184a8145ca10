"""The pages in the reader's language, over real loopback sockets: the browser's
Accept-Language, the agent's `locale`, the picker's cookie, `[ui] locale`."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from screenpop.daemon import Daemon
from screenpop.settings import parse_settings
from tests.fakes.web_connectors import web_settings_raw

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
MESSAGES = re.compile(r'<script type="application/json" id="messages">(.*?)</script>', re.DOTALL)


@pytest.fixture
def ui_locale() -> str:
    return "en"


@pytest.fixture
async def base(tmp_path: Path, ui_locale: str) -> AsyncIterator[str]:
    raw: dict[str, Any] = web_settings_raw(tmp_path)
    raw["ui"] = {"locale": ui_locale}
    raw["agents"].append({"id": "zoe", "name": "Zoé", "extensions": ["1009"], "token": "zoe-t"})
    raw["agents"][-1]["locale"] = "fr"
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def client(base: str) -> AsyncIterator[aiohttp.ClientSession]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base, cookie_jar=jar) as session:
        yield session


async def page(client: aiohttp.ClientSession, path: str, status: int = 200, **kwargs: Any) -> str:
    async with client.get(path, **kwargs) as response:
        assert response.status == status
        return await response.text()


async def log_in(client: aiohttp.ClientSession, agent_id: str, token: str) -> None:
    form = {"agent_id": agent_id, "token": token}
    async with client.post("/", data=form, allow_redirects=False) as response:
        assert response.status == 303


def catalog(html: str) -> dict[str, str]:
    match = MESSAGES.search(html)
    assert match is not None
    data: dict[str, str] = json.loads(match.group(1))
    return data


async def test_a_french_browser_gets_the_login_page_in_french(
    client: aiohttp.ClientSession,
) -> None:
    async with client.get("/", headers=FRENCH) as response:
        html = await response.text()
        assert response.headers["Content-Language"] == "fr-FR"
        assert "Accept-Language" in response.headers["Vary"]
    assert '<html lang="fr-FR">' in html
    assert "Se connecter" in html and ">Jeton</label>" in html
    assert catalog(html)["Log in"] == "Se connecter"  # the scripts' catalog is French too
    assert 'value="en" lang="en"' in html and ">English</button>" in html  # the picker

    form = {"agent_id": "alice", "token": "wrong"}
    async with client.post("/", data=form, headers=FRENCH) as response:
        assert response.status == 401
        assert "ou jeton incorrect." in await response.text()


async def test_an_english_browser_gets_english_and_an_empty_catalog(
    client: aiohttp.ClientSession,
) -> None:
    html = await page(client, "/", headers={"Accept-Language": "en-GB,fr;q=0.5"})
    assert '<html lang="en-GB">' in html
    assert "<h1>Log in</h1>" in html and catalog(html) == {}
    assert ">Français</button>" in html


async def test_the_picker_keeps_the_choice_in_a_cookie_that_wins_over_the_browser(
    client: aiohttp.ClientSession,
) -> None:
    form = {"language": "en", "next": "/?x=1"}
    async with client.post("/language", data=form, allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/?x=1"
        cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("screenpop_lang=en;") and "SameSite=Lax" in cookie
    assert "HttpOnly" in cookie and "Max-Age=31536000" in cookie
    html = await page(client, "/", headers=FRENCH)
    assert '<html lang="en">' in html and "<h1>Log in</h1>" in html


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil", "/\t/evil.example", ""]
)
async def test_the_picker_only_goes_back_to_a_page_of_this_site(
    client: aiohttp.ClientSession, target: str
) -> None:
    form = {"language": "fr", "next": target}
    async with client.post("/language", data=form, allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/"


async def test_the_picker_refuses_unknown_languages_and_other_sites(
    client: aiohttp.ClientSession,
) -> None:
    async with client.post("/language", data={"language": "xx"}) as response:
        assert response.status == 400 and "Set-Cookie" not in response.headers
    foreign = {"Origin": "https://evil.example", "Accept-Language": "fr"}
    async with client.post("/language", data={"language": "fr"}, headers=foreign) as response:
        assert response.status == 403 and "Set-Cookie" not in response.headers
        assert "autre site" in await response.text()


async def test_an_agent_with_a_french_locale_gets_french_pages_without_the_header(
    client: aiohttp.ClientSession,
) -> None:
    await log_in(client, "zoe", "zoe-t")
    html = await page(client, "/agent", headers={"Accept-Language": "en-US"})
    assert '<html lang="fr">' in html
    assert "votre téléphone sonne." in html and "Se déconnecter" in html
    html = await page(client, "/supervisor", 403)
    assert "accès au tableau des files" in html
    async with client.post("/language", data={"language": "en", "next": "/agent"}) as response:
        html = await response.text()  # the redirect followed: the agent page, in English
    assert "Waiting for calls." in html and '<html lang="en">' in html


async def test_an_agent_without_a_locale_follows_the_browser(
    client: aiohttp.ClientSession,
) -> None:
    await log_in(client, "alice", "alice-t")
    html = await page(client, "/agent", headers=FRENCH)
    assert "Composer" in html and "Se déconnecter" in html
    html = await page(client, "/agent")
    assert "Waiting for calls." in html


@pytest.mark.parametrize("ui_locale", ["fr-CA"])
async def test_the_center_locale_applies_when_the_browser_says_nothing_and_keeps_its_region(
    client: aiohttp.ClientSession,
) -> None:
    html = await page(client, "/", headers={"Accept-Language": ""})
    assert '<html lang="fr-CA">' in html and "Se connecter" in html
    html = await page(client, "/", headers={"Accept-Language": "fr"})
    assert '<html lang="fr-CA">' in html
    html = await page(client, "/", headers={"Accept-Language": "de-DE, en;q=0.2"})
    assert '<html lang="en">' in html
