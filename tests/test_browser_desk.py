"""The agent desktop's everyday actions in headless Chromium (Debian's /usr/bin/chromium).

A real daemon on loopback with a fake Asterisk for click-to-dial; two pages of one browser
context are two tabs of the same agent.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.web_connectors import JANE, web_settings_raw
from tests.harness import free_port, until, with_sources
from tests.test_browser_agent import WAIT_MS, log_in

SHARED = "+12125550000"  # two customers share this number
JANE_MOBILE = "+1 646 555 0199"
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "agent.png"


def desk_raw(tmp_path: Path, port: int, ami_port: int) -> dict[str, Any]:
    raw = copy.deepcopy(web_settings_raw(tmp_path, port=port))
    accounting = raw["connectors"][0]["records"]
    accounting[JANE]["mobile"] = JANE_MOBILE
    accounting[SHARED] = [
        {"customer_id": "C-2001", "name": "Ann Shared", "balance": 12.0},
        {"customer_id": "C-2002", "name": "Bob Shared", "balance": 0.0},
    ]
    ami = {"name": "pbx1", "kind": "ami", "port": ami_port}
    raw["telephony"] = [{**ami, "username": "screenpop", "secret": "s3cret"}]
    return raw


Site = tuple[Daemon, str, FakeAsterisk]


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    pbx = FakeAsterisk()
    settings = parse_settings(desk_raw(tmp_path, free_port(), await pbx.start()), "test")
    try:
        async with Daemon(settings) as daemon, daemon.web() as port, with_sources(daemon):
            await until(lambda: daemon.sources["pbx1"].status.logged_in, "AMI login")
            yield daemon, f"http://127.0.0.1:{port}", pbx
    finally:
        await pbx.stop()


async def two_tabs(context: BrowserContext, base: str) -> tuple[Page, Page]:
    """Alice logged in, with the agent page open in two tabs."""
    first = await context.new_page()
    await log_in(first, base)
    second = await context.new_page()
    await second.goto(f"{base}/agent")
    await expect(second.locator("#link-status")).to_have_text("connected", timeout=WAIT_MS)
    return first, second


def event(daemon: Daemon, call_id: str, kind: EventKind, caller: str | None = None) -> None:
    endpoint = "1001" if kind in (EventKind.RINGING, EventKind.ANSWERED) else None
    daemon.emit(CallEvent("t", call_id, kind, caller, None, endpoint, "support"))


def card_of(page: Page, call_id: str) -> Any:
    return page.locator(f'article[data-call-id="{call_id}"]')


async def test_a_candidate_picked_in_one_tab_shows_in_the_other_and_sticks(
    site: Site, context: BrowserContext
) -> None:
    daemon, base, _ = site
    first, second = await two_tabs(context, base)
    event(daemon, "s1", EventKind.RINGING, SHARED)
    for page in (first, second):
        candidates = card_of(page, "s1").locator("button.candidate")
        await expect(candidates).to_have_count(2, timeout=WAIT_MS)
        await expect(card_of(page, "s1").locator(".caller-name")).to_have_text(
            "2 customers on this number"
        )
    await first.bring_to_front()
    await card_of(first, "s1").get_by_role("button", name="Bob Shared").click()
    for page in (first, second):
        card = card_of(page, "s1")
        await expect(card.locator('button.candidate[aria-pressed="true"]')).to_contain_text(
            "Bob Shared", timeout=WAIT_MS
        )
        await expect(card.locator(".caller-name")).to_have_text("Bob Shared")
        await expect(card.locator(".customer-id")).to_have_text("customer C-2002")
    event(daemon, "s1", EventKind.ABANDONED)
    event(daemon, "s2", EventKind.RINGING, SHARED)  # the same number again: straight to Bob
    await expect(card_of(second, "s2").locator(".caller-name")).to_have_text(
        "Bob Shared", timeout=WAIT_MS
    )


async def save_note(page: Page, call_id: str, disposition: str, text: str) -> None:
    await page.bring_to_front()  # a background tab's frames are throttled: clicks wait on them
    card = card_of(page, call_id)
    await card.locator("select.disposition").select_option(disposition)
    await card.locator("textarea.note-input").fill(text)
    await card.locator("button.save").click()


async def test_notes_reach_every_tab_and_the_next_call_from_the_number(
    site: Site, context: BrowserContext
) -> None:
    daemon, base, _ = site
    first, second = await two_tabs(context, base)
    for call_id, disposition, text in (("n1", "callback", "first"), ("n2", "resolved", "second")):
        event(daemon, call_id, EventKind.RINGING, JANE)
        event(daemon, call_id, EventKind.ANSWERED)
        await expect(card_of(first, call_id).locator(".state")).to_have_text(
            "On the call", timeout=WAIT_MS
        )
        await save_note(first, call_id, disposition, f"{text} note")
        saved = card_of(second, call_id).locator(".saved-note")
        await expect(saved).to_contain_text(f"{text} note", timeout=WAIT_MS)
        await expect(saved).to_contain_text(disposition)
        event(daemon, call_id, EventKind.ENDED)
    event(daemon, "n3", EventKind.RINGING, JANE)
    for page in (first, second):
        entries = card_of(page, "n3").locator(".history .history-entry")
        await expect(entries).to_have_count(2, timeout=WAIT_MS)
        await expect(entries.nth(0)).to_contain_text("second note")  # newest first
        await expect(entries.nth(0)).to_contain_text("alice")
        await expect(entries.nth(0)).to_contain_text("resolved")
        await expect(entries.nth(1)).to_contain_text("first note")
        await expect(entries.nth(1)).to_contain_text("callback")


async def jane_ringing(site: Site, context: BrowserContext, call_id: str) -> tuple[Page, Any]:
    """Alice's page with Jane's inbound call `call_id` popped: the page and the card."""
    daemon, base, _ = site
    page = await context.new_page()
    await log_in(page, base)
    event(daemon, call_id, EventKind.RINGING, JANE)
    card = card_of(page, call_id)
    await expect(card.locator(".direction")).to_have_text("Inbound", timeout=WAIT_MS)
    return page, card


async def test_click_to_dial_originates_from_the_agents_phone_and_pops_outbound(
    site: Site, context: BrowserContext
) -> None:
    pbx = site[2]
    page, card = await jane_ringing(site, context, "d1")
    await card.get_by_role("button", name="Call (212) 555-1234 · US").click()
    await until(lambda: len(pbx.originates) == 1, "the first Originate")
    action = pbx.originates[0]
    assert action["channel"] == ["PJSIP/1001"] and action["exten"] == [JANE]
    outbound = page.locator('article[data-direction="outbound"]')
    await expect(outbound).to_have_count(1, timeout=WAIT_MS)
    await expect(outbound.locator(".direction")).to_have_text("Outbound")
    await expect(outbound.locator(".caller-name")).to_have_text("Jane Doe")
    await expect(page.locator("#dial-status")).to_have_text("call placed")

    mobile = card.locator('[data-section="accounting"]').get_by_role("button", name=JANE_MOBILE)
    await mobile.click()
    await until(lambda: len(pbx.originates) == 2, "the Originate for the mobile number")
    assert pbx.originates[1]["exten"] == ["+16465550199"]

    await page.fill("#dial-number", "(212) 555-0000")
    await page.press("#dial-number", "Enter")
    await until(lambda: len(pbx.originates) == 3, "the Originate for the typed number")
    assert pbx.originates[2]["exten"] == [SHARED]
    await expect(page.locator('article[data-direction="outbound"]')).to_have_count(3)
    await page.fill("#dial-number", "anonymous")
    await page.press("#dial-number", "Enter")
    refused = "not a phone number that can be dialled"
    await expect(page.locator("#dial-status")).to_contain_text(refused)
    assert len(pbx.originates) == 3


async def test_a_number_being_typed_survives_the_pop_of_an_earlier_dial(
    site: Site, context: BrowserContext
) -> None:
    pbx = site[2]
    page, card = await jane_ringing(site, context, "t1")
    await page.fill("#dial-number", "(212) 555-00")  # the agent is typing the next number
    await card.get_by_role("button", name="Call (212) 555-1234 · US").click()
    await until(lambda: len(pbx.originates) == 1, "the button's Originate")
    outbound = page.locator('article[data-direction="outbound"]')
    await expect(outbound).to_have_count(1, timeout=WAIT_MS)
    await expect(page.locator("#dial-status")).to_have_text("call placed")
    await expect(page.locator("#dial-number")).to_have_value("(212) 555-00")


async def test_an_ended_call_stays_in_wrap_up_until_closed_or_the_next_call(
    site: Site, context: BrowserContext
) -> None:
    daemon, base, _ = site
    page = await context.new_page()
    await log_in(page, base)
    event(daemon, "w1", EventKind.RINGING, JANE)
    event(daemon, "w1", EventKind.ANSWERED)
    event(daemon, "w1", EventKind.ENDED)
    card = card_of(page, "w1")
    await expect(card.locator(".wrap-up")).to_have_text("Wrap-up", timeout=WAIT_MS)
    await expect(card.locator(".state")).to_have_text("Ended")
    assert daemon.board.agents["alice"].wrap_up_until is not None
    event(daemon, "w2", EventKind.RINGING, SHARED)  # a new call rings: the wrap-up card stays
    await expect(card_of(page, "w2")).to_have_count(1, timeout=WAIT_MS)
    await expect(card).to_have_count(1)
    await card.get_by_role("button", name="Close this card").click()
    await expect(card).to_have_count(0)
    await until(lambda: daemon.board.agents["alice"].wrap_up_until is None, "ready")

    event(daemon, "w2", EventKind.ANSWERED)
    event(daemon, "w2", EventKind.ENDED)
    await expect(card_of(page, "w2").locator(".wrap-up")).to_be_visible(timeout=WAIT_MS)
    event(daemon, "w3", EventKind.RINGING, JANE)
    event(daemon, "w3", EventKind.ANSWERED)  # picking up the next call ends the wrap-up
    await expect(card_of(page, "w3").locator(".state")).to_have_text("On the call", timeout=WAIT_MS)
    await expect(card_of(page, "w2")).to_have_count(0)


async def focused(page: Page) -> str:
    """What has the focus: tag, class and accessible text, for Tab-order checks."""
    description: str = await page.evaluate(
        """() => {
          const el = document.activeElement;
          return `${el.tagName.toLowerCase()}.${el.className} ${el.getAttribute("aria-label")
            ?? el.textContent.trim().slice(0, 40)}`;
        }"""
    )
    return description


async def test_the_desk_works_without_a_mouse(site: Site, context: BrowserContext) -> None:
    daemon, base, pbx = site
    page = await context.new_page()
    await page.goto(f"{base}/")
    await expect(page.locator("#agent_id")).to_be_focused()  # the form starts in the right field
    await page.keyboard.type("alice")
    await page.keyboard.press("Tab")
    await page.keyboard.type("alice-t")
    await page.keyboard.press("Enter")
    await expect(page.locator("#link-status")).to_have_text("connected", timeout=WAIT_MS)

    event(daemon, "k1", EventKind.RINGING, SHARED)
    card = card_of(page, "k1")
    await expect(page.locator("#announcer")).to_have_text(
        "Incoming call from one of 2 customers, (212) 555-0000 · US, queue support",
        timeout=WAIT_MS,
    )
    stops = []
    for _ in range(27):  # the top bar (status control, log out, language), the desk bar, My calls
        await page.keyboard.press("Tab")
        stops.append(await focused(page))
    for wanted in ("Close this card", "Call (212) 555-0000", "Ann Shared", "Bob Shared",
                   "select.disposition", "textarea.note-input", "Save note"):  # fmt: skip
        assert any(wanted in stop for stop in stops), (wanted, stops)

    await page.locator("body").focus()
    await page.keyboard.press("2")
    await expect(card.locator(".caller-name")).to_have_text("Bob Shared", timeout=WAIT_MS)
    event(daemon, "k1", EventKind.ANSWERED)
    await page.keyboard.press("n")
    await expect(card.locator("textarea.note-input")).to_be_focused()
    await page.keyboard.type("Moved house, new address sent")
    await page.keyboard.press("Control+Enter")
    await expect(card.locator(".saved-note")).to_contain_text("Moved house", timeout=WAIT_MS)
    await page.keyboard.press("Escape")
    await expect(card).to_be_focused()
    event(daemon, "k1", EventKind.ENDED)
    await expect(card.locator(".wrap-up")).to_be_visible(timeout=WAIT_MS)
    await page.keyboard.press("c")
    await expect(card).to_have_count(0)
    await until(lambda: daemon.board.agents["alice"].wrap_up_until is None, "ready")

    await page.keyboard.press("d")
    await expect(page.locator("#dial-number")).to_be_focused()
    await page.keyboard.type("+1 212 555 1234")
    await page.keyboard.press("Enter")
    await until(lambda: len(pbx.originates) == 1, "Originate")
    await expect(page.locator("#announcer")).to_have_text(
        "Outbound call to Jane Doe, (212) 555-1234 · US", timeout=WAIT_MS
    )
    await page.keyboard.press("Escape")  # out of the dial box
    await page.keyboard.press("?")
    await expect(page.locator("#help")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("#help")).to_be_hidden()


async def test_a_realistic_card_for_the_readme_screenshot(
    site: Site, context: BrowserContext, tmp_path: Path
) -> None:
    """Takes docs/agent.png when SCREENPOP_SCREENSHOTS=1 (else into a temporary folder)."""
    daemon, base, _ = site
    for call_id, days_ago, endpoint, agent, disposition, text in (
        ("h1", 9, "1002", "bob", "callback", "Asked about the care plan; call back after payday."),
        ("h2", 2, "1001", "alice", "sale", "Bought the Widget Pro care plan, 12 months."),
    ):
        at = time.time() - days_ago * 86400 - 3000
        ring = CallEvent("t", call_id, EventKind.RINGING, JANE, None, endpoint, "support", at=at)
        daemon.emit(ring)
        daemon.emit(CallEvent("t", call_id, EventKind.ANSWERED, endpoint=endpoint, at=at + 20))
        await until(lambda c=call_id: daemon.tracker.get(c) is not None, "call")  # type: ignore[misc]
        await daemon.desk.save_note(agent, call_id, disposition, text)
        daemon.emit(CallEvent("t", call_id, EventKind.ENDED))
    page = await context.new_page()
    await log_in(page, base)
    event(daemon, "live", EventKind.RINGING, JANE)
    event(daemon, "live", EventKind.ANSWERED)
    card = card_of(page, "live")
    await expect(card.locator(".state")).to_have_text("On the call", timeout=WAIT_MS)
    await expect(card.locator(".history .history-entry")).to_have_count(2)
    await card.locator("textarea.note-input").fill("Wants the invoice address changed")
    wanted = os.environ.get("SCREENPOP_SCREENSHOTS") == "1"
    path = SCREENSHOT if wanted else tmp_path / "agent.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000


async def test_logging_out_in_one_tab_closes_the_agents_other_tabs(
    site: Site, context: BrowserContext
) -> None:
    daemon, base, _ = site
    first, second = await two_tabs(context, base)
    assert daemon.board.agents["alice"].online
    await first.bring_to_front()
    await first.get_by_role("link", name="Log out").click()
    await first.wait_for_url(f"{base}/")
    await second.wait_for_url(f"{base}/")  # the other tab left too, its websocket with it
    await expect(second.locator("#agent_id")).to_be_visible()
    await until(lambda: not daemon.board.agents["alice"].online, "alice offline")
