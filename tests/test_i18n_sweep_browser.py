"""The pages' scripts speak French too, in headless Chromium (Debian's /usr/bin/chromium, driven
by Playwright): during a pop, the agent's link status, card and "My calls" are French, and so is
the supervisor's board (its headline, the agents' states, the queue's figures)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from tests.fakes.web_connectors import JANE, web_settings_raw
from tests.harness import free_port

WAIT_MS = 5000


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Daemon, str]]:
    raw = web_settings_raw(tmp_path, port=free_port())
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        yield daemon, f"http://127.0.0.1:{port}"


async def french_page(browser: Any, stack: AsyncExitStack) -> Page:
    context = await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    stack.push_async_callback(context.close)
    page: Page = await context.new_page()
    return page


async def log_in(page: Page, base: str, agent_id: str, token: str, lands_on: str) -> None:
    await page.goto(f"{base}/")
    await page.fill("#agent_id", agent_id)
    await page.fill("#token", token)
    await page.press("#token", "Enter")
    await page.wait_for_url(f"{base}/{lands_on}")
    await expect(page.locator("#link-status")).to_have_text("connecté", timeout=WAIT_MS)


async def labels(figures: Locator) -> list[str]:
    return [text.strip() for text in await figures.locator("dt").all_text_contents()]


async def test_a_pop_on_french_pages_shows_the_card_my_calls_and_the_board_in_french(
    browser: Any, site: tuple[Daemon, str]
) -> None:
    daemon, base = site
    async with AsyncExitStack() as stack:
        board = await french_page(browser, stack)
        await log_in(board, base, "sam", "sam-t", "supervisor")
        await expect(board.locator("#theme-toggle")).to_have_text("Thème clair")
        desk = await french_page(browser, stack)
        await log_in(desk, base, "alice", "alice-t", "agent")

        daemon.emit(CallEvent("t", "c1", EventKind.QUEUED, caller=JANE, queue="support"))
        daemon.emit(CallEvent("t", "c1", EventKind.RINGING, JANE, "JANE D", "1001", "support"))
        card = desk.locator('article[data-call-id="c1"]')
        await expect(card.locator(".caller-name")).to_have_text("Jane Doe", timeout=WAIT_MS)
        await expect(card.locator(".state")).to_have_text("Sonne")
        await expect(card.locator(".direction")).to_have_text("Entrant")
        await expect(card.locator(".queue")).to_have_text("file support")
        await expect(card.locator("button.save")).to_have_text("Enregistrer la note")
        await expect(desk.locator(".my-calls-title")).to_have_text("Mes appels du jour : 1")
        await expect(desk).to_have_title("Sonne : Jane Doe · Alice Moreau · screenpop")
        await expect(desk.locator("#announcer")).to_have_text(
            "Appel entrant de Jane Doe, (212) 555-1234 · US, file support"
        )

        alice = board.locator('.agent[data-agent-id="alice"]')
        await expect(alice.locator(".agent-state")).to_have_text("Sonne", timeout=WAIT_MS)
        queue = board.locator('.qcard[data-queue="support"]')
        await expect(queue.locator(".ringing-to")).to_have_text("sonne chez Alice Moreau")
        await expect(queue.locator(".sl")).to_have_text("NS 20 s : —")
        assert await labels(queue.locator(".figures")) == [
            "En attente",
            "Attente la plus longue",
            "Décroché",
            "Abandonnés",
            "TMR",
        ]
        assert await labels(board.locator("#totals")) == [
            "En attente",
            "Attente la plus longue",
            "Niveau de service",
            "TMR",
            "Taux d\u2019abandon",
        ]
        assert await labels(board.locator("#agent-totals")) == [
            "Disponible",
            "En communication",
            "Sonne",
            "Post-appel",
            "En pause",
            "Hors ligne",
        ]

        daemon.emit(CallEvent("t", "c1", EventKind.ANSWERED, endpoint="1001"))
        await expect(card.locator(".state")).to_have_text("En communication", timeout=WAIT_MS)
        await expect(alice.locator(".agent-state")).to_have_text(
            "En communication", timeout=WAIT_MS
        )
        await expect(alice.locator(".agent-with")).to_have_text("avec Jane Doe")
        await expect(queue.locator(".none")).to_have_text("Personne en attente")
