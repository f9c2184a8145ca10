"""The agent page's customer search in headless Chromium (Debian's /usr/bin/chromium): `/`
focuses the box, a result opens the customer's card, and "This is the caller" links the customer
to a ringing call from an unknown number so the next call from it pops that customer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from tests.harness import free_port
from tests.test_browser_agent import WAIT_MS, log_in
from tests.test_search import accounts_db, sql_entry

UNKNOWN = "+12125553333"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Daemon, str]]:
    port = free_port()
    raw = {
        "server": {
            "port": port,
            "public_origin": f"http://127.0.0.1:{port}",
            "session_secret": "test-secret",
        },
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"},
        "connectors": [sql_entry(f"sqlite+aiosqlite:///{accounts_db(tmp_path)}")],
        "agents": [
            {"id": "alice", "name": "Alice Moreau", "extensions": ["1001"], "token": "alice-t"}
        ],
        "base_dir": tmp_path,
    }
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as bound:
        yield daemon, f"http://127.0.0.1:{bound}"


def ring(daemon: Daemon, call_id: str) -> None:
    daemon.emit(CallEvent("t", call_id, EventKind.RINGING, UNKNOWN, None, "1001", "support"))


async def test_search_opens_a_card_and_links_the_customer_to_the_ringing_call(
    site: tuple[Daemon, str], context: BrowserContext
) -> None:
    daemon, base = site
    page = await context.new_page()
    await log_in(page, base)
    ring(daemon, "b1")
    first = page.locator('article[data-call-id="b1"]')
    await expect(first.locator(".caller-name")).to_have_text("Unknown caller", timeout=WAIT_MS)

    await page.locator("body").press("/")
    await expect(page.locator("#search-q")).to_be_focused()
    await page.keyboard.type("roe")
    await page.keyboard.press("Enter")
    result = page.locator('#search-results li[data-customer-id="C-9"]')
    await expect(result).to_contain_text("Jane Roe", timeout=WAIT_MS)
    await expect(result).to_contain_text("+12125559999")

    await result.locator(".open-result").click()
    opened = page.locator('article[data-call-id="search-C-9"]')
    await expect(opened.locator(".caller-name")).to_have_text("Jane Roe", timeout=WAIT_MS)
    await expect(opened.locator(".state")).to_have_text("Found by search")
    await expect(opened.locator(".notes-box")).to_be_hidden()

    await result.locator(".link-caller").click()
    await expect(page.locator("#search-status")).to_contain_text("Linked", timeout=WAIT_MS)
    await expect(first.locator(".customer-id")).to_contain_text("C-9", timeout=WAIT_MS)

    daemon.emit(CallEvent("t", "b1", EventKind.ABANDONED))
    ring(daemon, "b2")
    second = page.locator('article[data-call-id="b2"]')
    await expect(second.locator(".customer-id")).to_contain_text("C-9", timeout=WAIT_MS)
