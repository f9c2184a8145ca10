"""The agent page in headless Chromium while the CRM that records notes is down: the saved note
says "crm: pending", then "crm: synced" once the CRM takes it; a refused one "failed: why"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, expect

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from tests.fakes.crm_http import FakeCrm
from tests.fakes.web_connectors import JANE, web_settings_raw
from tests.harness import free_port
from tests.test_browser_agent import WAIT_MS, log_in


@pytest.fixture
async def crm() -> AsyncIterator[FakeCrm]:
    server = FakeCrm()
    await server.start()
    yield server
    await server.stop()


async def test_the_note_says_pending_then_synced(
    tmp_path: Path, crm: FakeCrm, browser: Any
) -> None:
    raw = web_settings_raw(tmp_path, port=free_port())
    raw["connectors"].append(
        {
            "name": "crm",
            "kind": "http",
            "url": f"http://127.0.0.1:{crm.port}/customers/{{e164}}",
            "record_url": crm.url,
        }
    )
    crm.fail_with(503)
    context: BrowserContext = await browser.new_context()
    try:
        async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
            page = await context.new_page()
            await log_in(page, f"http://127.0.0.1:{port}")
            for kind in (EventKind.RINGING, EventKind.ANSWERED):
                daemon.emit(CallEvent("t", "c1", kind, JANE, None, "1001", "support"))
            card = page.locator('article[data-call-id="c1"]')
            await expect(card.locator(".state")).to_have_text("On the call", timeout=WAIT_MS)

            await card.locator("select.disposition").select_option("callback")
            await card.locator("textarea.note-input").fill("Call back about the refund")
            await card.locator("button.save").click()
            line = card.locator(".saved-note .note-records")
            await expect(line).to_have_text("crm: pending", timeout=WAIT_MS)
            crm.heal()
            await expect(line).to_have_text("crm: synced", timeout=WAIT_MS)
            assert [b["text"] for b in crm.applied] == ["Call back about the refund"]

            await card.locator("textarea.note-input").fill("reject me")
            await card.locator("button.save").click()
            refused = card.locator(".saved-note .note-records").first
            await expect(refused).to_have_text("crm: failed: HTTP 422 from crm", timeout=WAIT_MS)
    finally:
        await context.close()
