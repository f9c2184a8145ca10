"""The agent page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from agent_ui.deflate import SHARED_MIN_BYTES
from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from tests.fakes.web_connectors import JANE, SCRIPT_CALLER, SCRIPT_NAME, web_settings_raw
from tests.harness import free_port

WAIT_MS = 5000


@pytest.fixture
def slow_credit() -> bool:
    """Overridden by tests whose credit connector answers after its deadline."""
    return False


@pytest.fixture
async def site(tmp_path: Path, slow_credit: bool) -> AsyncIterator[tuple[Daemon, str]]:
    raw = web_settings_raw(tmp_path, port=free_port())
    if slow_credit:
        credit = raw["connectors"][2]
        credit.update(deadline_ms=150, sleep_ms=1000)
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        yield daemon, f"http://127.0.0.1:{port}"


@pytest.fixture
async def page(browser: Any, site: tuple[Daemon, str]) -> AsyncIterator[Page]:
    context = await browser.new_context()
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def log_in(page: Page, base: str, agent_id: str = "alice", token: str = "alice-t") -> None:
    await page.goto(f"{base}/")
    await page.fill("#agent_id", agent_id)
    await page.fill("#token", token)
    await page.press("#token", "Enter")
    await page.wait_for_url(f"{base}/agent")
    await expect(page.locator(".origin-warning")).to_have_count(0)
    await expect(page.locator("#link-status")).to_have_text("connected", timeout=WAIT_MS)


def ring(daemon: Daemon, call_id: str, caller: str, name: str | None = None) -> None:
    daemon.emit(CallEvent("t", call_id, EventKind.RINGING, caller, name, "1001", "support"))


async def test_a_ring_pops_the_card_and_follows_the_call(
    page: Page, site: tuple[Daemon, str]
) -> None:
    daemon, base = site
    await log_in(page, base)
    ring(daemon, "c1", JANE, "JANE D")
    card = page.locator('article[data-call-id="c1"]')
    await expect(card.locator(".caller-name")).to_have_text("Jane Doe", timeout=WAIT_MS)
    await expect(card.locator(".caller-number")).to_have_text("(212) 555-1234 · US")
    await expect(card.locator(".state")).to_have_text("Ringing")
    for section in ("accounting", "sales", "credit"):
        await expect(card.locator(f'[data-section="{section}"]')).to_be_visible()
    await expect(card.locator('[data-section="sales"]')).to_contain_text("Widget Pro care plan")
    await expect(card.locator('[data-section="credit"]')).to_contain_text("net 30")
    await expect(card.locator('[data-section="credit"]')).not_to_contain_text("Internal score")

    daemon.emit(CallEvent("t", "c1", EventKind.ANSWERED, endpoint="1001"))
    await expect(card.locator(".state")).to_have_text("On the call", timeout=WAIT_MS)

    await card.locator("select.disposition").select_option("callback")
    await card.locator("textarea.note-input").fill("Wants a call back on Monday")
    await card.locator("button.save").click()
    saved = card.locator(".saved-note")
    await expect(saved).to_contain_text("Wants a call back on Monday", timeout=WAIT_MS)
    await expect(saved).to_contain_text("callback")

    daemon.emit(CallEvent("t", "c1", EventKind.ENDED))
    await expect(card.locator(".state")).to_have_text("Ended", timeout=WAIT_MS)
    await expect(card).to_have_class("call state-ended finished")
    assert b"screenpop_ring_to_render_seconds_count 1.0" in daemon.metrics_text()
    await card.locator("button.close").click()
    await expect(card).to_have_count(0)


async def test_names_and_connector_data_render_as_text_never_as_markup(
    page: Page, site: tuple[Daemon, str]
) -> None:
    daemon, base = site
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await log_in(page, base)
    ring(daemon, "x1", SCRIPT_CALLER, "<script>alert(3)</script>")
    card = page.locator('article[data-call-id="x1"]')
    await expect(card.locator(".caller-name")).to_have_text(SCRIPT_NAME, timeout=WAIT_MS)
    sales = card.locator('[data-section="sales"]')
    await expect(sales).to_contain_text("<img src=x onerror=alert(2)>")
    assert await page.locator("#calls script, #calls img").count() == 0
    ring(daemon, "x2", "+13125550199", "<script>alert(4)</script>")  # nobody has this number
    unknown = page.locator('article[data-call-id="x2"]')
    await expect(unknown.locator(".caller-name")).to_have_text(
        "<script>alert(4)</script>", timeout=WAIT_MS
    )
    await expect(unknown.locator(".no-customer h3")).to_have_text(
        "No customer found for this number"
    )
    assert dialogs == []


async def test_withheld_callers_and_a_reload_while_ringing(
    page: Page, site: tuple[Daemon, str]
) -> None:
    daemon, base = site
    await log_in(page, base)
    ring(daemon, "w1", "anonymous")
    card = page.locator('article[data-call-id="w1"]')
    await expect(card.locator(".caller-number")).to_have_text("number withheld", timeout=WAIT_MS)
    await expect(card.locator(".caller-name")).to_have_text("Unknown caller")
    await page.reload()  # the ringing call comes back; nothing is lost
    await expect(card.locator(".state")).to_have_text("Ringing", timeout=WAIT_MS)
    await expect(page.locator("article.call")).to_have_count(1)


@pytest.mark.parametrize("slow_credit", [True])
async def test_a_late_section_shows_timed_out_then_fills_in(
    page: Page, site: tuple[Daemon, str]
) -> None:
    daemon, base = site
    await log_in(page, base)
    ring(daemon, "s1", JANE)
    credit = page.locator('article[data-call-id="s1"] [data-section="credit"]')
    await expect(credit.locator(".badge")).to_have_text("timed out", timeout=WAIT_MS)
    await expect(page.locator('article[data-call-id="s1"] .caller-name')).to_have_text("Jane Doe")
    await expect(credit).to_contain_text("net 30", timeout=WAIT_MS)
    await expect(credit.locator(".badge")).not_to_have_text("timed out")


async def test_chromium_inflates_the_frames_compressed_once_for_every_tab(
    page: Page, site: tuple[Daemon, str]
) -> None:
    """Chromium offers permessage-deflate and the daemon accepts it, so every frame of at least
    SHARED_MIN_BYTES goes out deflated once for all tabs (agent_ui/deflate.py): the page must
    read each such frame as the very JSON the daemon numbered, and show the card."""
    daemon, base = site
    frames: list[str] = []

    def on_frame(payload: str | bytes) -> None:
        frames.append(payload if isinstance(payload, str) else payload.decode())

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    await log_in(page, base)
    ring(daemon, "c9", JANE, "JANE D")
    card = page.locator('article[data-call-id="c9"]')
    await expect(card.locator('[data-section="credit"]')).to_contain_text("net 30", timeout=WAIT_MS)
    large = [json.loads(f) for f in frames if len(f.encode()) >= SHARED_MIN_BYTES]
    assert any(m["type"] == "pop" and m["call_id"] == "c9" for m in large), [len(f) for f in frames]
    assert all(isinstance(m["seq"], int) for m in large)
