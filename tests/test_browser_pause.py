"""Pausing in headless Chromium (Debian's /usr/bin/chromium): the agent page's status control
and the board's pause buttons, through a real daemon to a fake Asterisk and back.

The pause reaches the fake as `Action: QueuePause` (Interface, Paused, Reason, no Queue); the
fake answers and confirms with a `QueueMemberPause` per queue, which is what the page and the
board then show.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from screenpop.daemon import Daemon
from tests.fakes.ami_server import FakeAsterisk
from tests.test_agent_pause import pause_raw, running
from tests.test_browser_agent import WAIT_MS, log_in
from tests.test_browser_supervisor import log_in as supervisor_log_in

Site = tuple[Daemon, str, FakeAsterisk]


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    pbx = FakeAsterisk()
    await pbx.start()
    ami = {"name": "pbx1", "kind": "ami", "port": pbx.port, "username": "screenpop"}
    try:
        async with running(pause_raw(tmp_path, {**ami, "secret": "s3cret"})) as (daemon, base):
            yield daemon, base, pbx
    finally:
        await pbx.stop()


@pytest.fixture
async def contexts(browser: Any) -> AsyncIterator[tuple[BrowserContext, BrowserContext]]:
    agent = await browser.new_context(viewport={"width": 1280, "height": 800})
    supervisor = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield agent, supervisor
    finally:
        await agent.close()
        await supervisor.close()


def row(board: Page, agent_id: str) -> Any:
    return board.locator(f'#agents .agent[data-agent-id="{agent_id}"]')


async def test_pause_and_unpause_from_the_page_reach_asterisk_and_show_on_the_board(
    site: Site, contexts: tuple[BrowserContext, BrowserContext]
) -> None:
    _, base, pbx = site
    agent_page, board = await contexts[0].new_page(), await contexts[1].new_page()
    await log_in(agent_page, base)
    await supervisor_log_in(board, base)
    status = agent_page.locator("#status-text")
    await expect(status).to_have_text("Available")

    await agent_page.bring_to_front()
    await agent_page.select_option("#pause-reason", "lunch")
    await agent_page.click("#pause-button")
    await expect(status).to_have_text("Paused (lunch)", timeout=WAIT_MS)
    [action] = pbx.pauses
    assert action["interface"] == ["PJSIP/1001"] and action["paused"] == ["true"]
    assert action["reason"] == ["lunch"] and "queue" not in action
    await expect(agent_page.locator("#pause-button")).to_be_hidden()
    await expect(row(board, "alice")).to_have_class("agent is-paused", timeout=WAIT_MS)
    await expect(row(board, "alice").locator(".agent-reason")).to_have_text("lunch")

    await agent_page.click("#unpause-button")
    await expect(status).to_have_text("Available", timeout=WAIT_MS)
    assert pbx.pauses[1]["paused"] == ["false"]
    await expect(row(board, "alice")).not_to_have_class("agent is-paused", timeout=WAIT_MS)

    pbx.refuse_pause = "Interface not found"
    await agent_page.click("#pause-button")
    await expect(status).to_contain_text("Interface not found", timeout=WAIT_MS)


async def test_a_supervisor_pauses_an_agent_from_the_board(
    site: Site, contexts: tuple[BrowserContext, BrowserContext]
) -> None:
    _, base, pbx = site
    agent_page, board = await contexts[0].new_page(), await contexts[1].new_page()
    await log_in(agent_page, base, "bob", "bob-t")
    await supervisor_log_in(board, base)
    await board.bring_to_front()
    bob = row(board, "bob")
    await bob.locator("select.pause-reason").select_option("training")
    await bob.locator("button.pause").click()
    await expect(bob).to_have_class("agent is-paused", timeout=WAIT_MS)
    await expect(bob.locator(".agent-reason")).to_have_text("training")
    assert pbx.pauses[0]["interface"] == ["PJSIP/1002"]
    await expect(agent_page.locator("#status-text")).to_have_text(
        "Paused (training)", timeout=WAIT_MS
    )
    await bob.locator("button.unpause").click()
    await expect(bob).not_to_have_class("agent is-paused", timeout=WAIT_MS)
