"""The demo's "CRM" page in headless Chromium: a demo agent saves a note on a call and sees it
arrive on `/demo/crm`, the table the demo's back office writes notes and call ends into."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import BrowserContext, expect

from screenpop import cli
from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import Settings
from screenpop_demo import ACCOUNTING
from tests.harness import free_port
from tests.test_browser_agent import WAIT_MS, log_in

DEMO_TOML = Path(__file__).resolve().parent.parent / "config" / "demo.toml"


def demo_settings(folder: Path) -> Settings:
    """The bundled demo config run from `folder` (its own back office, store and port)."""
    shutil.copy(DEMO_TOML, folder / "demo.toml")
    return cli._demo_settings(str(folder / "demo.toml"), free_port())


def a_customer(folder: Path) -> tuple[str, str, str]:
    """A demo customer with exactly one number that nobody else shares: (e164, id, name)."""
    with closing(sqlite3.connect(folder / ACCOUNTING)) as db:
        row = db.execute(
            "SELECT p.e164, c.customer_id, c.name FROM phones AS p"
            " JOIN customers AS c ON c.customer_id = p.customer_id"
            " GROUP BY p.e164 HAVING count(*) = 1 ORDER BY p.e164 LIMIT 1"
        ).fetchone()
    return str(row[0]), str(row[1]), str(row[2])


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[Daemon, str]]:
    settings = demo_settings(tmp_path)
    async with Daemon(settings, demo_dir=tmp_path) as daemon, daemon.web() as port:
        yield daemon, f"http://127.0.0.1:{port}"


async def test_a_note_typed_on_the_agent_page_shows_on_the_demo_crm_page(
    demo: tuple[Daemon, str], context: BrowserContext, tmp_path: Path
) -> None:
    daemon, base = demo
    e164, customer_id, name = a_customer(tmp_path)
    page = await context.new_page()
    await log_in(page, base, "alice", "alice-demo")
    for kind in (EventKind.RINGING, EventKind.ANSWERED):
        daemon.emit(CallEvent("sim", "demo-c1", kind, e164, None, "PJSIP/1001", "support"))
    card = page.locator('article[data-call-id="demo-c1"]')
    await expect(card.locator(".caller-name")).to_have_text(name, timeout=WAIT_MS)
    await expect(card.locator(".state")).to_have_text("On the call", timeout=WAIT_MS)
    await card.locator("textarea.note-input").fill("Wants the invoice <b>re-sent</b>")
    await card.locator("button.save").click()
    records = card.locator(".saved-note .note-records")
    await expect(records).to_have_text("accounting: synced", timeout=WAIT_MS)

    crm = await context.new_page()
    await crm.goto(f"{base}/agent")
    await crm.locator("#demo-crm-link").click()  # the agent page links it under the demo only
    await crm.wait_for_url(f"{base}/demo/crm")
    row = crm.locator('tr.crm-row[data-kind="note"]')
    await expect(row).to_have_count(1)
    await expect(row.locator(".crm-text")).to_have_text("Wants the invoice <b>re-sent</b>")
    await expect(row).to_contain_text(customer_id)
    await expect(row).to_contain_text("alice")
    await expect(row).to_contain_text("demo-c1")

    daemon.emit(CallEvent("sim", "demo-c1", EventKind.ENDED, e164, None, "PJSIP/1001", "support"))
    ended = crm.locator('tr.crm-row[data-kind="call_end"]')  # the page refreshes by itself
    await expect(ended).to_have_count(1, timeout=3 * WAIT_MS)
    await expect(ended).to_contain_text("demo-c1")
    await expect(crm.locator("tr.crm-row").first).to_have_attribute("data-kind", "call_end")


async def test_the_crm_page_needs_a_login_and_shows_an_empty_crm(
    demo: tuple[Daemon, str],
) -> None:
    _, base = demo
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/demo/crm", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/"
        form = {"agent_id": "bob", "token": "bob-demo"}
        async with http.post(f"{base}/", data=form, headers={"Origin": base}) as response:
            assert response.status == 200
        async with http.get(f"{base}/demo/crm", headers={"Accept-Language": "en"}) as response:
            assert response.status == 200
            text = await response.text()
    assert 'id="crm-empty"' in text


async def test_only_the_demo_serves_the_crm_page(tmp_path: Path) -> None:
    daemon = Daemon(demo_settings(tmp_path))
    jar = aiohttp.CookieJar(unsafe=True)
    async with daemon, daemon.web() as port, aiohttp.ClientSession(cookie_jar=jar) as http:
        base = f"http://127.0.0.1:{port}"
        response = await http.get(f"{base}/demo/crm")
        response.release()
        form = {"agent_id": "alice", "token": "alice-demo"}
        async with http.post(f"{base}/", data=form, headers={"Origin": base}) as page:
            agent_page = await page.text()
    assert response.status == 404
    assert "Log out" in agent_page and "/demo/crm" not in agent_page


def test_the_demo_prints_the_crm_page_with_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = demo_settings(tmp_path)
    cli._announce(settings, tmp_path / "demo.toml", 8123, demo=True)
    lines = capsys.readouterr().out.splitlines()
    assert "  agent page:      http://127.0.0.1:8123/agent" in lines
    assert any(
        line.startswith("  reports page:    http://127.0.0.1:8123/reports") for line in lines
    )
    assert any(
        line.startswith("  demo CRM:        http://127.0.0.1:8123/demo/crm") for line in lines
    )
    cli._announce(settings, tmp_path / "demo.toml", 8123, demo=False)
    assert "/demo/crm" not in capsys.readouterr().out
