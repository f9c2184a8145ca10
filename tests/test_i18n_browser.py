"""The second language in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
a French browser, the picker and its cookie, an agent whose config says French."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from screenpop.daemon import Daemon
from screenpop.settings import parse_settings
from tests.fakes.web_connectors import web_settings_raw
from tests.harness import free_port


@pytest.fixture
async def base(tmp_path: Path) -> AsyncIterator[str]:
    raw: dict[str, Any] = web_settings_raw(tmp_path, port=free_port())
    raw["agents"].append(
        {"id": "zoe", "name": "Zoé", "extensions": ["1009"], "token": "zoe-t", "locale": "fr"}
    )
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        yield f"http://127.0.0.1:{port}"


async def new_page(browser: Any, locale: str) -> Page:
    context = await browser.new_context(locale=locale)
    page: Page = await context.new_page()
    return page


async def log_in(page: Page, base: str, agent_id: str, token: str) -> None:
    await page.fill("#agent_id", agent_id)
    await page.fill("#token", token)
    await page.press("#token", "Enter")
    await page.wait_for_url(f"{base}/agent")


async def page_t(page: Page, text: str) -> str:
    """`text` as the page's own scripts would show it (static/i18n.js and the page's catalog)."""
    shown: str = await page.evaluate(
        "(text) => import('/static/i18n.js').then(m => m.t(text))", text
    )
    return shown


async def test_a_french_browser_gets_french_pages_and_the_picker_switches_to_english(
    browser: Any, base: str
) -> None:
    page = await new_page(browser, "fr-FR")
    try:
        await page.goto(f"{base}/")
        await expect(page.locator("h1")).to_have_text("Se connecter")
        await expect(page.locator("label[for=token]")).to_have_text("Jeton")
        await expect(page.locator("html")).to_have_attribute("lang", "fr-FR")
        await log_in(page, base, "alice", "alice-t")
        await expect(page.locator("label[for=dial-number]")).to_have_text("Composer")
        await expect(page.locator("#idle")).to_contain_text("votre téléphone sonne")
        await expect(page.locator("#logout")).to_have_text("Se déconnecter")
        assert await page_t(page, "Log out") == "Se déconnecter"
        assert await page.evaluate("import('/static/i18n.js').then(m => m.pageLocale())") == "fr-FR"

        await page.get_by_role("button", name="English").click()
        await page.wait_for_url(f"{base}/agent")
        await expect(page.locator("label[for=dial-number]")).to_have_text("Dial")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        assert await page_t(page, "Log out") == "Log out"
        cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
        assert cookies["screenpop_lang"] == "en"

        await page.reload()  # the choice sticks, although the browser still asks for French
        await expect(page.locator("label[for=dial-number]")).to_have_text("Dial")
        await page.locator("#logout").click()
        await expect(page.locator("h1")).to_have_text("Log in")
        await expect(page.get_by_role("button", name="Français")).to_be_visible()
    finally:
        await page.context.close()


async def test_an_agent_whose_config_says_french_gets_french_without_the_header(
    browser: Any, base: str
) -> None:
    page = await new_page(browser, "en-US")
    try:
        await page.goto(f"{base}/")
        await expect(page.locator("h1")).to_have_text("Log in")
        await log_in(page, base, "zoe", "zoe-t")
        await expect(page.locator("label[for=dial-number]")).to_have_text("Composer")
        await expect(page.locator("html")).to_have_attribute("lang", "fr")
        assert await page_t(page, "Keyboard") == "Clavier"
    finally:
        await page.context.close()
