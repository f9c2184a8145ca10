"""What the pages show cannot be spoofed or pushed off screen (headless Chromium): bidi controls
and control characters are stripped from every text the JS renders, long unbroken names wrap,
and the agent and supervisor pages log out with a form POST."""

from __future__ import annotations

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

WAIT_MS = 5000
UNKNOWN = "+13125550199"  # no back office knows this number: the card shows the PBX's name
RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Daemon, str]]:
    raw = web_settings_raw(tmp_path, port=free_port())
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        yield daemon, f"http://127.0.0.1:{port}"


@pytest.fixture
async def page(browser: Any, site: tuple[Daemon, str]) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def log_in(page: Page, base: str, agent_id: str, token: str, lands: str) -> None:
    await page.goto(f"{base}/")
    await page.fill("#agent_id", agent_id)
    await page.fill("#token", token)
    await page.press("#token", "Enter")
    await page.wait_for_url(f"{base}{lands}")
    await expect(page.locator("#link-status")).to_have_text("connected", timeout=WAIT_MS)


def ring(daemon: Daemon, call_id: str, name: str, queue: str = "support") -> None:
    daemon.emit(CallEvent("t", call_id, EventKind.RINGING, UNKNOWN, name, "1001", queue))


async def test_a_right_to_left_override_in_a_caller_name_is_not_rendered(
    page: Page, site: tuple[Daemon, str]
) -> None:
    daemon, base = site
    await log_in(page, base, "alice", "alice-t", "/agent")
    # "Bob <RLO>exe.3pm" would show as "Bob mp3.exe": the override is dropped, the text kept
    ring(daemon, "b1", f"Bob {RLO}exe.3pm{PDF} {LRI}x{PDI}\x07\x1b[31m\u0085", queue=f"q{RLO}1")
    card = page.locator('article[data-call-id="b1"]')
    name = card.locator(".caller-name")
    await expect(name).to_have_text("Bob exe.3pm x[31m", timeout=WAIT_MS)
    assert await name.evaluate("n => n.textContent") == "Bob exe.3pm x[31m"
    assert await card.locator(".queue").evaluate("n => n.textContent") == "queue q1"
    title = await page.title()
    assert RLO not in title and "Bob exe.3pm" in title


async def test_the_one_text_function_strips_bidi_and_control_characters(
    page: Page, site: tuple[Daemon, str]
) -> None:
    _, base = site
    await log_in(page, base, "alice", "alice-t", "/agent")
    unsafe = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)])
    unsafe += "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    cleaned = await page.evaluate(
        "async (text) => (await import('/static/dom.js')).safeText(`a${text}b`)", unsafe
    )
    assert cleaned == "a\t\nb"  # tab and newline stay for multi-line text (notes)
    kept = "Zoë 李 مرحبا \u200d👩\u200d💻"  # letters of any script and joiners are not touched
    assert await page.evaluate(
        "async (t) => (await import('/static/dom.js')).safeText(t)", kept
    ) == (kept)


async def test_a_256_character_queue_name_wraps_and_the_close_button_stays_on_screen(
    page: Page, site: tuple[Daemon, str]
) -> None:
    daemon, base = site
    await log_in(page, base, "alice", "alice-t", "/agent")
    ring(daemon, "w1", "W" * 256, queue="Q" * 256)
    card = page.locator('article[data-call-id="w1"]')
    await expect(card.locator(".queue")).to_have_text("queue " + "Q" * 256, timeout=WAIT_MS)
    daemon.emit(CallEvent("t", "w1", EventKind.ANSWERED, endpoint="1001"))
    daemon.emit(CallEvent("t", "w1", EventKind.ENDED))
    close = card.locator("button.close")
    await expect(close).to_be_visible()
    box = await close.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1280
    scroll_width = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 1280
    await close.click()
    await expect(card).to_have_count(0)


@pytest.mark.parametrize(
    ("agent_id", "token", "lands"),
    [("alice", "alice-t", "/agent"), ("sam", "sam-t", "/supervisor")],
)
async def test_the_logout_button_posts_and_ends_the_session(
    page: Page, site: tuple[Daemon, str], agent_id: str, token: str, lands: str
) -> None:
    _, base = site
    await log_in(page, base, agent_id, token, lands)
    await page.click("#logout")
    await page.wait_for_url(f"{base}/")
    await expect(page.locator("#agent_id")).to_be_visible()
    await page.goto(f"{base}{lands}")
    await page.wait_for_url(f"{base}/")  # the session is gone: back at the login form
