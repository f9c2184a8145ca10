"""Creating a customer from an unknown caller's card in headless Chromium (Debian's
/usr/bin/chromium): the form has the connector's fields, submitting it updates the card on every
tab, and the next call from the number pops the new customer."""

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
from tests.test_create import UNKNOWN, accounts_db, sql_entry


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


async def test_an_unknown_caller_is_created_from_the_card_on_every_tab(
    site: tuple[Daemon, str], context: BrowserContext
) -> None:
    daemon, base = site
    page = await context.new_page()
    await log_in(page, base)
    other = await context.new_page()  # the same session in a second tab
    await other.goto(base + "/agent")
    ring(daemon, "c1")
    cards = [p.locator('article[data-call-id="c1"]') for p in (page, other)]
    for card in cards:
        await expect(card.locator(".no-customer")).to_be_visible(timeout=WAIT_MS)
    form = cards[0].locator('form.create-form[data-connector="accounting"]')
    await expect(form.locator("h4")).to_have_text("Create customer in accounting", timeout=WAIT_MS)
    name = form.get_by_label("Name")
    assert await name.get_attribute("required") is not None
    assert await form.get_by_label("E-mail").get_attribute("type") == "email"

    await name.fill("Max Nouveau")
    await form.get_by_label("E-mail").fill("max@example.org")
    await form.locator('button[type="submit"]').click()
    for card in cards:
        await expect(card.locator(".caller-name")).to_have_text("Max Nouveau", timeout=WAIT_MS)
        await expect(card.locator(".no-customer")).to_have_count(0)

    daemon.emit(CallEvent("t", "c1", EventKind.ABANDONED))
    ring(daemon, "c2")
    second = page.locator('article[data-call-id="c2"]')
    await expect(second.locator(".caller-name")).to_have_text("Max Nouveau", timeout=WAIT_MS)
