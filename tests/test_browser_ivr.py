"""The summary strip says what found the customer, in headless Chromium (Debian's
/usr/bin/chromium): the account number the caller typed into the IVR, or the number."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from tests.fakes.web_connectors import web_settings_raw
from tests.harness import free_port
from tests.test_browser_agent import WAIT_MS, log_in
from tests.test_ivr_e2e import LOOKUP, crm


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Daemon, str]]:
    raw = copy.deepcopy(web_settings_raw(tmp_path, port=free_port()))
    raw["connectors"] = [crm(tmp_path)]
    raw["roles"] = {"agent": {}, "supervisor": {"board": True}, "sales": {}}
    raw["lookup"] = LOOKUP
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        yield daemon, f"http://127.0.0.1:{port}"


@pytest.fixture
async def page(browser: Any, site: tuple[Daemon, str]) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = await context.new_page()
        await log_in(page, site[1])
        yield page
    finally:
        await context.close()


def ring(daemon: Daemon, call_id: str, variables: dict[str, str] | None = None) -> None:
    caller = "+12125551234"
    daemon.emit(
        CallEvent("t", call_id, EventKind.RINGING, caller, None, "1001", variables=variables)
    )


async def test_the_summary_strip_says_which_key_matched(
    page: Page, site: tuple[Daemon, str]
) -> None:
    daemon, _ = site
    ring(daemon, "i1", {"IVR_ACCOUNT": "12345"})
    strip = page.locator('article[data-call-id="i1"] .summary-strip')
    await expect(strip.locator(".caller-name")).to_have_text("Acme Ltd", timeout=WAIT_MS)
    await expect(strip.locator(".matched-by")).to_have_text("matched by account 12345")
    ring(daemon, "i2")
    strip = page.locator('article[data-call-id="i2"] .summary-strip')
    await expect(strip.locator(".caller-name")).to_have_text("Phone Only", timeout=WAIT_MS)
    await expect(strip.locator(".matched-by")).to_have_text("matched by number")
