"""The agent's day in headless Chromium: "My calls" with a missed call that reopens its card,
timers, a notification while the tab is hidden, the banner while the daemon is out of reach,
and click-to-dial on the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from tests.fakes.tcp_proxy import proxied
from tests.fakes.web_connectors import JANE, web_settings_raw
from tests.harness import free_port, with_sources
from tests.test_browser_agent import WAIT_MS, log_in

OTHER = "+13125550199"  # nobody's number
RECONNECT_MS = 20000  # the page retries with backoff (0.5 s, 1 s, 2 s...)

# Records each Notification the page makes, with what it was told.
RECORD_NOTIFICATIONS = """
window.__notices = [];
const Real = window.Notification;
class Recorded extends Real {
  constructor(title, options) {
    super(title, options);
    window.__notices.push({ title, body: options && options.body, tag: options && options.tag });
  }
}
Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
Recorded.requestPermission = (...args) => Real.requestPermission(...args);
window.Notification = Recorded;
"""

HIDE_TAB = """
Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
document.dispatchEvent(new Event("visibilitychange"));
"""


def emit(daemon: Daemon, call_id: str, kind: EventKind, caller: str | None = None,
         endpoint: str | None = None) -> None:  # fmt: skip
    daemon.emit(CallEvent("t", call_id, kind, caller, None, endpoint, "support"))


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Daemon, str]]:
    raw = web_settings_raw(tmp_path, port=free_port())
    raw["ui"] = {"timezone": "America/New_York"}
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        yield daemon, f"http://127.0.0.1:{port}"


@pytest.fixture
async def context(browser: Any) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        yield ctx
    finally:
        await ctx.close()


async def logged_end(daemon: Daemon, call_id: str) -> None:
    """Wait until the call log holds the end of the call (it is written off the pop path)."""
    for _ in range(500):
        calls = await daemon.store.agent_day("alice", 0.0, 4e9)
        if any(c.call_id == call_id and c.ended_at is not None for c in calls):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the end of {call_id} was never logged")


def card_of(page: Page, call_id: str) -> Any:
    return page.locator(f'article[data-call-id="{call_id}"]')


async def test_my_calls_lists_a_missed_call_and_reopens_its_card(
    site: tuple[Daemon, str], context: BrowserContext
) -> None:
    daemon, base = site
    page = await context.new_page()
    await log_in(page, base)
    emit(daemon, "m1", EventKind.RINGING, JANE, "1001")  # rang Alice and Bob, Bob took it
    emit(daemon, "m1", EventKind.RINGING, JANE, "1002")
    emit(daemon, "m1", EventKind.ANSWERED, endpoint="1002")
    emit(daemon, "a1", EventKind.RINGING, OTHER, "1001")  # Alice takes this one
    emit(daemon, "a1", EventKind.ANSWERED, endpoint="1001")
    timer = card_of(page, "a1").locator(".call-timer")
    await expect(timer).to_have_text("Talk 0:01", timeout=WAIT_MS)  # it runs
    emit(daemon, "a1", EventKind.ENDED)
    await expect(timer).to_contain_text("Wrap-up", timeout=WAIT_MS)
    await logged_end(daemon, "a1")
    await page.reload()  # the list comes from the call log, not from this tab's memory
    await expect(card_of(page, "a1")).to_be_visible(timeout=WAIT_MS)  # still in wrap-up
    await expect(card_of(page, "m1")).to_have_count(0)  # a finished call's card is gone
    summary = page.locator("#my-calls summary")
    await expect(summary).to_have_text("My calls today: 2, 1 missed", timeout=WAIT_MS)
    await summary.click()
    missed = page.locator('.my-call[data-call-id="m1"]')
    await expect(missed).to_contain_text("Missed: answered by someone else")
    await expect(missed).to_contain_text("support")
    answered = page.locator('.my-call[data-call-id="a1"]')
    await expect(answered).to_contain_text("Answered")
    await expect(answered).to_contain_text("talk 0:0")
    await missed.click()
    card = card_of(page, "m1")
    await expect(card.locator(".caller-name")).to_have_text("Jane Doe", timeout=WAIT_MS)
    await expect(card.locator(".state")).to_have_text("Answered by someone else")
    await expect(card.locator('[data-section="accounting"]')).to_contain_text("120.50")

    wrapped = card_of(page, "a1")  # a note in wrap-up, the card closed: the list brings it back
    await wrapped.locator("select.disposition").select_option("resolved")
    await wrapped.locator("textarea.note-input").fill("Refund sent")
    await wrapped.locator("button.save").click()
    await expect(wrapped.locator(".saved-note")).to_contain_text("Refund sent", timeout=WAIT_MS)
    await wrapped.locator("button.close").click()
    await expect(wrapped).to_have_count(0)
    await expect(answered).to_contain_text("wrap-up 0:")  # closing the card ended the wrap-up
    await answered.click()
    await expect(wrapped.locator(".state")).to_have_text("Ended", timeout=WAIT_MS)
    await expect(wrapped.locator(".saved-note")).to_contain_text("Refund sent")
    await expect(wrapped.locator(".saved-note")).to_contain_text("resolved")


async def test_a_pop_in_a_hidden_tab_shows_a_notification(
    site: tuple[Daemon, str], browser: Any
) -> None:
    daemon, base = site
    context = await browser.new_context(permissions=["notifications"])
    try:
        await context.add_init_script(RECORD_NOTIFICATIONS)
        page = await context.new_page()
        await log_in(page, base)
        toggle = page.locator("#notify-toggle")
        await expect(toggle).to_have_text("Enable notifications")
        await toggle.click()
        await expect(toggle).to_have_text("Notifications on")
        emit(daemon, "v1", EventKind.RINGING, JANE, "1001")  # visible tab: no notification
        await expect(card_of(page, "v1")).to_be_visible(timeout=WAIT_MS)
        await page.evaluate(HIDE_TAB)
        emit(daemon, "h1", EventKind.RINGING, JANE, "1001")
        await expect(card_of(page, "h1").locator(".caller-name")).to_have_text(
            "Jane Doe", timeout=WAIT_MS
        )
        notices = await page.evaluate("window.__notices")
        assert notices == [
            {
                "title": "Incoming call: Jane Doe",
                "body": "Incoming call from Jane Doe, (212) 555-1234 · US, queue support",
                "tag": "h1",
            }
        ]
        await page.reload()  # the choice is remembered
        await expect(page.locator("#notify-toggle")).to_have_text("Notifications on")
    finally:
        await context.close()


async def test_the_banner_and_stale_marks_while_the_daemon_is_out_of_reach(
    tmp_path: Path, context: BrowserContext
) -> None:
    daemon_port = free_port()
    async with proxied("127.0.0.1", daemon_port) as proxy:
        raw = web_settings_raw(tmp_path, port=daemon_port, origin=f"http://127.0.0.1:{proxy.port}")
        async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web():
            page = await context.new_page()
            await log_in(page, f"http://127.0.0.1:{proxy.port}")
            banner = page.locator("#link-banner")
            await expect(banner).to_be_hidden()
            emit(daemon, "r1", EventKind.RINGING, JANE, "1001")
            card = card_of(page, "r1")
            await expect(card.locator(".state")).to_have_text("Ringing", timeout=WAIT_MS)

            await proxy.cut()
            await expect(banner).to_be_visible(timeout=WAIT_MS)
            await expect(banner).to_have_text(
                "Connection to screenpop lost, reconnecting… cards below may be out of date"
            )
            await expect(card.locator(".stale-mark")).to_have_text("Not live: may be out of date")
            await expect(card.locator(".state")).to_have_text("Ringing (last known)")
            emit(daemon, "r1", EventKind.ANSWERED, endpoint="1001")  # while the tab cannot know

            await proxy.restore()
            await expect(banner).to_be_hidden(timeout=RECONNECT_MS)
            await expect(card.locator(".stale-mark")).to_have_count(0)
            await expect(card.locator(".state")).to_have_text("On the call", timeout=WAIT_MS)


async def test_click_to_dial_on_the_simulator_pops_an_outbound_card(
    tmp_path: Path, context: BrowserContext
) -> None:
    raw = web_settings_raw(tmp_path, port=free_port())
    (tmp_path / "callers.txt").write_text(f"{OTHER}|Somebody\n", encoding="utf-8")
    quiet = {"interval_s": 1000.0, "first_call_after_s": 1000.0}  # no queue calls meanwhile
    raw["telephony"] = [{"name": "sim", "kind": "simulator", "caller_pool": "callers.txt", **quiet}]
    async with (
        Daemon(parse_settings(raw, "test")) as daemon,
        daemon.web() as port,
        with_sources(daemon),
    ):
        page = await context.new_page()
        await log_in(page, f"http://127.0.0.1:{port}")
        await page.fill("#dial-number", "(212) 555-1234")
        await page.press("#dial-number", "Enter")
        card = page.locator('article[data-direction="outbound"]')
        await expect(card.locator(".caller-name")).to_have_text("Jane Doe", timeout=WAIT_MS)
        await expect(card.locator(".direction")).to_have_text("Outbound")
        await expect(page.locator("#dial-status")).to_have_text("call placed")
        await expect(card.locator(".state")).to_have_text("On the call", timeout=WAIT_MS)
        await expect(card.locator(".call-timer")).to_contain_text("Talk 0:0")
        await page.locator("#my-calls summary").click()
        mine = page.locator(".my-call.outcome-answered")
        await expect(mine).to_contain_text("Outbound")
        await expect(mine).to_contain_text("Jane Doe")
