"""The agent page's customer search in headless Chromium (Debian's /usr/bin/chromium): `/`
focuses the box, a result opens the customer's card, and "This is the caller" links the customer
to a ringing call from an unknown number so the next call from it pops that customer; the results
of a SQL and an HTTP back office come merged, each role seeing only its sections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, expect

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from tests.fakes.search_backoffice import SearchBackOffice
from tests.harness import free_port
from tests.test_browser_agent import WAIT_MS, log_in
from tests.test_search import accounts_db, crm_entry, sql_entry

UNKNOWN = "+12125553333"


def site_raw(tmp_path: Path, port: int, connectors: list[dict[str, Any]]) -> dict[str, Any]:
    """A config for the search pages: Alice (role agent, every section) and Ada (role billing:
    accounting only)."""
    return {
        "server": {
            "port": port,
            "public_origin": f"http://127.0.0.1:{port}",
            "session_secret": "test-secret",
        },
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"},
        "connectors": connectors,
        "agents": [
            {"id": "alice", "name": "Alice Moreau", "extensions": ["1001"], "token": "alice-t"},
            {
                "id": "ada",
                "name": "Ada",
                "role": "billing",
                "extensions": ["1002"],
                "token": "ada-t",
            },
        ],
        "roles": {"agent": {}, "billing": {"sections": ["accounting"]}},
        "base_dir": tmp_path,
    }


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Daemon, str]]:
    accounting = sql_entry(f"sqlite+aiosqlite:///{accounts_db(tmp_path)}")
    raw = site_raw(tmp_path, free_port(), [accounting])
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


async def test_the_search_box_merges_sql_and_http_and_follows_the_role(
    tmp_path: Path, context: BrowserContext
) -> None:
    accounting = sql_entry(f"sqlite+aiosqlite:///{accounts_db(tmp_path)}")
    async with SearchBackOffice() as crm:
        raw = site_raw(tmp_path, free_port(), [accounting, crm_entry(crm.url)])
        other: BrowserContext = await context.browser.new_context()  # Ada's own cookies
        async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as bound:
            base = f"http://127.0.0.1:{bound}"
            alice, ada = await context.new_page(), await other.new_page()
            try:
                await log_in(alice, base, "alice", "alice-t")
                await log_in(ada, base, "ada", "ada-t")
                for page in (alice, ada):
                    await page.locator("#search-q").fill("jane")
                    await page.locator("#search-q").press("Enter")
                both = alice.locator('#search-results li[data-customer-id="C-1"]')
                await expect(both.locator(".result-sections")).to_have_text(
                    "accounting, crm", timeout=WAIT_MS
                )
                hill = alice.locator('#search-results li[data-customer-id="H-7"]')
                await expect(hill).to_contain_text("Jane Hill")
                await expect(alice.locator("#search-results li")).to_have_count(3)
                mine = ada.locator('#search-results li[data-customer-id="C-1"]')
                await expect(mine.locator(".result-sections")).to_have_text(
                    "accounting", timeout=WAIT_MS
                )
                await expect(ada.locator("#search-results li")).to_have_count(2)  # no Jane Hill
            finally:
                await other.close()
    assert crm.terms == ["jane"]  # only Alice's role may see the CRM, so only hers asked it
