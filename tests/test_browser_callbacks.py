"""Callbacks in headless Chromium: an abandoned caller shows on the agent page and on the board;
the agent takes the item (the board shows who has it), calls back through click-to-dial and
closes it with a disposition, and it leaves both pages."""

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
from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.web_connectors import JANE, web_settings_raw
from tests.harness import free_port, until, with_sources
from tests.test_browser_agent import WAIT_MS, log_in

Site = tuple[Daemon, str, FakeAsterisk]


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    pbx = FakeAsterisk()
    ami_port = await pbx.start()
    raw: dict[str, Any] = copy.deepcopy(web_settings_raw(tmp_path, port=free_port()))
    ami = {"name": "pbx1", "kind": "ami", "port": ami_port}
    raw["telephony"] = [{**ami, "username": "screenpop", "secret": "s3cret"}]
    raw["callbacks"] = {"min_wait_s": 0}
    try:
        async with (
            Daemon(parse_settings(raw, "test")) as daemon,
            daemon.web() as port,
            with_sources(daemon),
        ):
            await until(lambda: daemon.sources["pbx1"].status.logged_in, "AMI login")
            yield daemon, f"http://127.0.0.1:{port}", pbx
    finally:
        await pbx.stop()


async def page_of(browser: Any, base: str, agent: str, token: str, path: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    if path == "/agent":
        await log_in(page, base, agent, token)
        return page
    await page.goto(f"{base}/")
    await page.fill("#agent_id", agent)
    await page.fill("#token", token)
    await page.press("#token", "Enter")
    await page.wait_for_url(f"{base}{path}")
    return page


async def test_agent_takes_calls_back_and_closes_while_the_board_follows(
    browser: Any, site: Site
) -> None:
    daemon, base, pbx = site
    agent = await page_of(browser, base, "alice", "alice-t", "/agent")
    board = await page_of(browser, base, "sam", "sam-t", "/supervisor")
    try:
        await expect(agent.locator("#callbacks")).to_be_hidden()
        daemon.emit(CallEvent("t", "gone-1", EventKind.QUEUED, JANE, queue="support"))
        daemon.emit(CallEvent("t", "gone-1", EventKind.RINGING, JANE, None, "1001", "support"))
        await expect(agent.locator("article.call")).to_have_count(1, timeout=WAIT_MS)
        daemon.emit(CallEvent("t", "gone-1", EventKind.ABANDONED, JANE, queue="support"))

        item = agent.locator("#callbacks li.callback")
        await expect(item).to_have_count(1, timeout=WAIT_MS)
        await expect(item.locator(".callback-who")).to_have_text("Jane Doe")
        await expect(agent.locator("#callbacks-title")).to_have_text("Callbacks: 1")
        on_board = board.locator("#callbacks li.callback")
        await expect(on_board.locator(".callback-state")).to_have_text("Open", timeout=WAIT_MS)
        await expect(on_board.locator("button")).to_have_count(0)  # the board only shows

        await item.get_by_role("button", name="Take").click()
        await expect(item.locator(".callback-state")).to_have_text("Taken by alice")
        await expect(on_board.locator(".callback-state")).to_have_text(
            "Taken by alice", timeout=WAIT_MS
        )

        await item.get_by_role("button", name="Call back").click()
        await until(lambda: len(pbx.originates) == 1, "the call back dialled")
        assert pbx.originates[0]["exten"] == [JANE]
        await expect(item.get_by_role("button", name="Call back again")).to_be_visible(
            timeout=WAIT_MS
        )

        await item.locator("select.callback-disposition").select_option("resolved")
        await item.get_by_role("button", name="Close").click()
        await expect(agent.locator("#callbacks")).to_be_hidden(timeout=WAIT_MS)
        await expect(board.locator("#callbacks")).to_be_hidden(timeout=WAIT_MS)
    finally:
        await agent.context.close()
        await board.context.close()
