"""The agent page while the store is away, in headless Chromium: a note is kept ("saved, will
sync") and stored, once, when the store is back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, expect

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from tests.fakes.postgres import cuttable_store
from tests.fakes.web_connectors import JANE, web_settings_raw
from tests.harness import free_port, until
from tests.test_browser_agent import WAIT_MS, log_in


async def test_a_note_saved_while_the_store_is_away_says_will_sync_and_arrives_once(
    tmp_path: Path, postgres_url: str, browser: Any
) -> None:
    async with cuttable_store(postgres_url, tmp_path / "outbox.db") as (proxy, store):
        raw = {**web_settings_raw(tmp_path, port=free_port()), "store": store}
        context: BrowserContext = await browser.new_context()
        try:
            async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
                page = await context.new_page()
                await log_in(page, f"http://127.0.0.1:{port}")
                for kind in (EventKind.RINGING, EventKind.ANSWERED):
                    daemon.emit(CallEvent("t", "c1", kind, JANE, None, "1001", "support"))
                card = page.locator('article[data-call-id="c1"]')
                await expect(card.locator(".state")).to_have_text("On the call", timeout=WAIT_MS)

                await proxy.cut()
                await card.locator("select.disposition").select_option("callback")
                await card.locator("textarea.note-input").fill("Call back about the refund")
                await card.locator("button.save").click()
                status = card.locator(".note-status")
                await expect(status).to_have_text("saved, will sync", timeout=WAIT_MS)
                await expect(card.locator(".saved-note")).to_contain_text("refund")
                await expect(card.locator("textarea.note-input")).to_have_value("")

                await proxy.restore()
                await until(lambda: daemon.writer.waiting == 0, "the outbox written")
                notes = await daemon.store.notes_for("c1")
                assert [n["text"] for n in notes] == ["Call back about the refund"]
        finally:
            await context.close()
