"""The supervisor's queue board in headless Chromium (Debian's /usr/bin/chromium via Playwright).

`SCREENPOP_SCREENSHOTS=1` also writes docs/supervisor.png from a board with realistic content.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from screenpop.store import CallRecord, Store
from tests.fakes.web_connectors import JANE, web_settings_raw
from tests.harness import agent_tab, free_port

WAIT_MS = 5000
DOCS = Path(__file__).resolve().parent.parent / "docs"


class Site:
    """A daemon whose web app can be stopped and started again on the same port."""

    def __init__(self, daemon: Daemon, port: int) -> None:
        self.daemon = daemon
        self.base = f"http://127.0.0.1:{port}"
        self._web: AbstractAsyncContextManager[int] | None = None

    async def start_web(self) -> None:
        self._web = self.daemon.web()
        await self._web.__aenter__()

    async def stop_web(self) -> None:
        """Stop serving: every open websocket is closed by the server."""
        if self._web is not None:
            web, self._web = self._web, None
            await web.__aexit__(None, None, None)


async def open_site(stack: AsyncExitStack, raw: dict[str, Any]) -> Site:
    daemon = await stack.enter_async_context(Daemon(parse_settings(raw, "test")))
    site = Site(daemon, raw["server"]["port"])
    await site.start_web()
    stack.push_async_callback(site.stop_web)
    return site


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with AsyncExitStack() as stack:
        yield await open_site(stack, web_settings_raw(tmp_path, port=free_port()))


async def new_page(browser: Any, stack: AsyncExitStack, **options: Any) -> Page:
    context = await browser.new_context(**options)
    stack.push_async_callback(context.close)
    page: Page = await context.new_page()
    return page


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Page]:
    async with AsyncExitStack() as stack:
        yield await new_page(browser, stack, viewport={"width": 1280, "height": 800})


async def log_in(page: Page, base: str, agent_id: str = "sam", token: str = "sam-t") -> None:
    await page.goto(f"{base}/")
    await page.fill("#agent_id", agent_id)
    await page.fill("#token", token)
    await page.press("#token", "Enter")
    await page.wait_for_url(f"{base}/supervisor")
    await expect(page.locator("#link-status")).to_have_text("connected", timeout=WAIT_MS)
    await expect(page.locator("#agents .agent")).not_to_have_count(0, timeout=WAIT_MS)


def call(daemon: Daemon, call_id: str, kind: EventKind, **fields: Any) -> None:
    daemon.emit(CallEvent("t", call_id, kind, **fields))


def seconds(text: str) -> int:
    """`1:05` or `1:02:05` as seconds."""
    assert re.fullmatch(r"\d+(:\d\d){1,2}", text), text
    total = 0
    for part in text.split(":"):
        total = total * 60 + int(part)
    return total


async def test_a_waiting_call_grows_then_is_answered_and_the_agent_goes_on_the_call(
    page: Page, site: Site
) -> None:
    daemon = site.daemon
    await log_in(page, site.base)
    call(daemon, "c1", EventKind.QUEUED, caller=JANE, caller_name="JANE D", queue="support")
    queue = page.locator('.qcard[data-queue="support"]')
    row = queue.locator('.waiting-call[data-call-id="c1"]')
    await expect(row.locator(".waiting-detail")).to_contain_text("(212) 555-1234", timeout=WAIT_MS)
    await expect(queue.locator(".waiting-count")).to_have_text("1")
    await expect(queue.locator(".sl")).to_have_text("SL 20 s: —")

    first = seconds(await row.locator(".wait").inner_text())
    await asyncio.sleep(1.5)  # no message arrives meanwhile: the page counts by itself
    assert seconds(await row.locator(".wait").inner_text()) > first
    assert seconds(await queue.locator(".longest").inner_text()) > first

    call(daemon, "c1", EventKind.RINGING, endpoint="1001")
    alice = page.locator('.agent[data-agent-id="alice"]')
    await expect(alice.locator(".agent-state")).to_have_text("Ringing", timeout=WAIT_MS)
    await expect(row.locator(".ringing-to")).to_have_text("ringing Alice Moreau")

    call(daemon, "c1", EventKind.ANSWERED, endpoint="1001")
    await expect(alice.locator(".agent-state")).to_have_text("On a call", timeout=WAIT_MS)
    await expect(alice.locator(".agent-with")).to_have_text("with Jane Doe")
    await expect(alice.locator(".agent-handled")).to_have_text("1")
    await expect(row).to_have_count(0)
    await expect(queue.locator(".answered")).to_have_text("1")
    await expect(queue.locator(".sl")).to_have_text("SL 20 s: 100 %")
    await expect(queue.locator(".none")).to_have_text("Nobody waiting")


async def test_the_board_recovers_by_itself_after_the_connection_drops(
    page: Page, site: Site
) -> None:
    daemon = site.daemon
    await log_in(page, site.base)
    await page.evaluate("window.sameDocument = true")
    banner = page.locator("#reconnecting")
    await expect(banner).to_be_hidden()

    await site.stop_web()
    await expect(banner).to_be_visible(timeout=WAIT_MS)
    await expect(banner).to_contain_text("reconnecting")
    call(daemon, "d1", EventKind.QUEUED, caller=JANE, queue="billing")  # while it is down
    await site.start_web()

    await expect(banner).to_be_hidden(timeout=10_000)
    await expect(page.locator("#link-status")).to_have_text("connected")
    row = page.locator('.qcard[data-queue="billing"] .waiting-call[data-call-id="d1"]')
    await expect(row).to_be_visible(timeout=WAIT_MS)
    call(daemon, "d1", EventKind.ABANDONED)
    await expect(page.locator('.qcard[data-queue="billing"] .abandoned')).to_have_text(
        "1", timeout=WAIT_MS
    )
    assert await page.evaluate("window.sameDocument") is True  # no reload happened


async def test_names_on_the_board_are_text_never_markup(page: Page, site: Site) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await log_in(page, site.base)
    name = "<img src=x onerror=alert(1)>"
    call(site.daemon, "x1", EventKind.QUEUED, caller="+13125550199", caller_name=name, queue=name)
    row = page.locator('.waiting-call[data-call-id="x1"]')
    await expect(row.locator(".waiting-name")).to_have_text(name, timeout=WAIT_MS)
    await expect(page.locator(".qcard h3")).to_have_text(name)
    assert await page.locator("#board img, #board script").count() == 0
    assert dialogs == []


async def headline(page: Page) -> dict[str, str]:
    """The headline's figures by key (calls and agents), as the page shows them."""
    figures: dict[str, str] = await page.eval_on_selector_all(
        "#totals .fig, #agent-totals .fig",
        "els => Object.fromEntries(els.map(e => [e.dataset.fig, e.querySelector('dd').innerText]))",
    )
    return figures


async def test_the_headline_shows_zeros_and_counts_agents_by_state(page: Page, site: Site) -> None:
    await log_in(page, site.base)
    await expect(page.locator('#agent-totals [data-fig="offline"] dd')).to_have_text("3")
    assert await headline(page) == {
        "waiting": "0",
        "longest_wait_s": "—",
        "service_level": "—",
        "asa_s": "—",
        "abandon_rate": "—",
        "available": "0",
        "on_call": "0",
        "ringing": "0",
        "wrap_up": "0",
        "paused": "0",
        "offline": "3",
    }
    async with agent_tab(int(site.base.rsplit(":", 1)[1]), "alice-t") as alice:
        await alice.recv_type("hello")
        await expect(page.locator('#agent-totals [data-fig="available"] dd')).to_have_text(
            "1", timeout=WAIT_MS
        )
        call(site.daemon, "h1", EventKind.QUEUED, caller=JANE, queue="support")
        call(site.daemon, "h1", EventKind.ANSWERED, endpoint="1001")
        call(site.daemon, "h2", EventKind.QUEUED, caller=JANE, queue="sales")
        call(site.daemon, "h2", EventKind.ABANDONED)
        totals = page.locator("#totals")
        await expect(totals.locator('[data-fig="abandon_rate"] dd')).to_have_text(
            "50 %", timeout=WAIT_MS
        )
        figures = await headline(page)
        assert (figures["service_level"], figures["asa_s"]) == ("50 %", "0:00")
        assert (figures["on_call"], figures["available"], figures["offline"]) == ("1", "0", "2")


async def test_the_alarm_banner_when_callers_wait_and_nobody_is_available(
    browser: Any, site: Site
) -> None:
    async with AsyncExitStack() as stack:
        page = await new_page(browser, stack, viewport={"width": 1366, "height": 768})
        await page.add_init_script(TONE_COUNTER)
        await log_in(page, site.base)
        banner = page.locator("#alarms")
        await expect(banner).to_be_hidden()
        await page.click("#sound-toggle")  # sound is off until the supervisor turns it on
        await expect(page.locator("#sound-toggle")).to_have_attribute("aria-pressed", "true")
        tones = await page.evaluate("window.tones")

        # nobody has the desktop open: every agent is offline
        call(site.daemon, "n1", EventKind.QUEUED, caller=JANE, queue="support")
        call(site.daemon, "n2", EventKind.QUEUED, caller="+13125550199", queue="support")
        await expect(banner).to_be_visible(timeout=WAIT_MS)
        alarm = banner.locator('.alarm[data-queue="support"][data-kind="nobody_available"]')
        await expect(alarm).to_have_text("support: nobody available, 2 waiting")
        await expect(banner).to_have_class(re.compile(r"\bhas-alert\b"))
        await expect(page.locator('.qcard[data-queue="support"]')).to_have_class(
            re.compile(r"\balarm-alert\b")
        )
        assert await page.evaluate("window.tones") > tones  # the new red alarm sounded

        async with agent_tab(int(site.base.rsplit(":", 1)[1]), "alice-t") as alice:
            await alice.recv_type("hello")  # Alice is available now: the alarm goes
            await expect(banner).to_be_hidden(timeout=WAIT_MS)
        await expect(alarm).to_have_count(1, timeout=WAIT_MS)  # her tab closed: back again

        await page.reload()
        await expect(page.locator("#sound-toggle")).to_have_text("Sound on")  # remembered


TONE_COUNTER = """
window.tones = 0;
const Real = window.AudioContext;
window.AudioContext = class extends Real {
  createOscillator() {
    const osc = super.createOscillator();
    const start = osc.start.bind(osc);
    osc.start = (...args) => { window.tones += 1; return start(...args); };
    return osc;
  }
};
"""


async def test_per_agent_state_reason_time_and_todays_figures(page: Page, site: Site) -> None:
    daemon = site.daemon
    await log_in(page, site.base)
    port = int(site.base.rsplit(":", 1)[1])
    async with agent_tab(port, "alice-t") as alice_tab, agent_tab(port, "bob-t") as bob_tab:
        await alice_tab.recv_type("hello")
        await bob_tab.recv_type("hello")
        call(daemon, "p1", EventKind.QUEUED, caller=JANE, queue="support")
        call(daemon, "p1", EventKind.RINGING, endpoint="1002")
        call(daemon, "p1", EventKind.MISSED, endpoint="1002")  # Bob lets it ring out
        call(daemon, "p1", EventKind.RINGING, endpoint="1001")
        call(daemon, "p1", EventKind.ANSWERED, endpoint="1001")
        call(daemon, "p1", EventKind.ENDED)

        alice = page.locator('.agent[data-agent-id="alice"]')
        bob = page.locator('.agent[data-agent-id="bob"]')
        await expect(alice.locator(".agent-state")).to_have_text("Wrap-up", timeout=WAIT_MS)
        await expect(alice.locator(".agent-handled")).to_have_text("1")
        await expect(alice.locator(".agent-missed")).to_have_text("0")
        await expect(alice.locator(".agent-aht")).to_have_text("1:00")  # no talk, 60 s wrap-up
        await expect(bob.locator(".agent-missed")).to_have_text("1")
        await expect(bob.locator(".agent-handled")).to_have_text("0")
        await expect(bob.locator(".agent-aht")).to_have_text("—")

        # the pause itself comes from the agent page or the PBX; here the board is told
        # directly, and the next update (a caller giving up) carries it
        daemon.board.pause("bob", "lunch", time.time())
        call(daemon, "p2", EventKind.QUEUED, caller=JANE, queue="sales")
        call(daemon, "p2", EventKind.ABANDONED)
        await expect(bob.locator(".agent-state")).to_have_text("Paused", timeout=WAIT_MS)
        await expect(bob.locator(".agent-reason")).to_have_text("lunch")
        first = seconds(await bob.locator(".agent-time").inner_text())
        await asyncio.sleep(1.5)  # the time in state grows with no message
        assert seconds(await bob.locator(".agent-time").inner_text()) > first
        await expect(page.locator('#agent-totals [data-fig="paused"] dd')).to_have_text("1")


async def test_the_clock_shows_the_centers_time_of_day(browser: Any, tmp_path: Path) -> None:
    raw = web_settings_raw(tmp_path, port=free_port())
    raw["ui"] = {"timezone": "Pacific/Kiritimati"}  # UTC+14: another hour than the browser's
    async with AsyncExitStack() as stack:
        site = await open_site(stack, raw)
        page = await new_page(browser, stack, timezone_id="UTC", locale="en-US")
        await log_in(page, site.base)
        text = await page.locator("#clock").inner_text()
        center = dt.datetime.now(ZoneInfo("Pacific/Kiritimati"))
        hours = {f"{(center - dt.timedelta(seconds=s)).hour % 12 or 12}:" for s in (0, 5)}
        assert any(text.startswith(h) for h in hours), (text, hours)


# -- the screenshot for the README ---------------------------------------------------------

TEAM = [
    ("alice", "Alice Moreau"),
    ("bob", "Bob Okafor"),
    ("chen", "Chen Wei"),
    ("dana", "Dana Kowalski"),
    ("emil", "Emil Sørensen"),
    ("fatima", "Fatima Haddad"),
    ("gus", "Gus Ferreira"),
    ("hana", "Hana Sato"),
]
CALLERS = [
    "+12125551234",
    "+13125550143",
    "+14155550178",
    "+16175550122",
    "+17185550190",
    "+12025550111",
    "+13035550166",
]


def screenshot_settings(tmp_path: Path) -> dict[str, Any]:
    raw = web_settings_raw(tmp_path, port=free_port())
    raw["agents"] = [
        {"id": aid, "name": name, "extensions": [f"10{i:02d}"], "token": f"{aid}-t"}
        for i, (aid, name) in enumerate(TEAM, start=1)
    ] + [{"id": "sam", "name": "Sam Rivera", "role": "supervisor", "token": "sam-t"}]
    raw["board"] = {
        "thresholds": {
            "default": {
                "waiting": {"warn": 1, "alert": 3},
                "longest_wait_s": {"warn": 30, "alert": 60},
            },
            "billing": {"nobody_available": True},
        }
    }
    raw["connectors"][0]["records"].update(
        {
            CALLERS[1]: {"customer_id": "C-2211", "name": "Marcus Lee", "tier": "gold"},
            CALLERS[2]: {"customer_id": "C-0907", "name": "Priya Natarajan"},
            CALLERS[3]: {"customer_id": "C-3150", "name": "Olivia Brennan"},
            CALLERS[5]: {"customer_id": "C-4471", "name": "Tom Whitaker", "tier": "silver"},
            CALLERS[6]: {"customer_id": "C-5120", "name": "Lena Vogel"},
        }
    )
    return raw


async def seed_call_log(store_url: str, now: float) -> None:
    """Calls earlier today, answered (fast and slow) and abandoned in three queues, as the call
    log holds them: the daemon rebuilds today's figures from it when it starts."""
    store = Store(store_url)
    await store.start()
    plan = {"support": (14, 3, 4), "sales": (9, 1, 6), "billing": (6, 2, 3)}
    n = 0
    for queue, (answered, abandoned, slow_every) in plan.items():
        for i in range(answered + abandoned):
            n += 1
            at = min(now - 3 * 3600 + n * 300, now - 600)
            took = i < answered
            wait = (45 if i % slow_every == 0 else 6 + i % 9) if took else 50
            caller = CALLERS[n % len(CALLERS)]
            await store.record_call(
                CallRecord(
                    source="t",
                    call_id=f"h{n}",
                    caller_raw=caller,
                    caller_e164=caller,
                    caller_name=None,
                    queue=queue,
                    agent_id=TEAM[n % len(TEAM)][0] if took else None,
                    state="ended" if took else "abandoned",
                    direction="inbound",
                    started_at=at,
                    answered_at=at + wait if took else None,
                    ended_at=at + wait + 240,
                )
            )
    await store.aclose()


async def live_calls(daemon: Daemon) -> None:
    """Right now: callers waiting, agents ringing, on calls and in wrap-up (a moment apart, so
    the times in state differ)."""
    now = time.time()
    steps: list[tuple[str, EventKind, dict[str, Any]]] = [
        ("l3", EventKind.QUEUED, {"caller": CALLERS[2], "queue": "support", "at": now - 20}),
        ("l3", EventKind.ANSWERED, {"endpoint": "1004"}),
        ("e1", EventKind.RINGING, {"caller": CALLERS[1], "endpoint": "1005"}),
        ("e1", EventKind.ANSWERED, {"endpoint": "1005"}),
        ("w1", EventKind.QUEUED, {"caller": CALLERS[1], "queue": "support", "at": now - 46}),
        ("l2", EventKind.QUEUED, {"caller": CALLERS[3], "queue": "sales", "at": now - 9}),
        ("l2", EventKind.ANSWERED, {"endpoint": "1003"}),
        ("e1", EventKind.ENDED, {}),
        ("l1", EventKind.QUEUED, {"caller": CALLERS[0], "queue": "support", "at": now - 12}),
        ("l1", EventKind.ANSWERED, {"endpoint": "1001"}),
        (
            "w2",
            EventKind.QUEUED,
            {
                "caller": CALLERS[4],
                "caller_name": "WIRELESS CALLER",
                "queue": "support",
                "at": now - 8,
            },
        ),
        ("w3", EventKind.QUEUED, {"caller": CALLERS[5], "queue": "billing", "at": now - 3}),
        ("w1", EventKind.RINGING, {"endpoint": "1002"}),
        ("w1", EventKind.MISSED, {"endpoint": "1002"}),
        ("w3", EventKind.RINGING, {"endpoint": "1006"}),
    ]
    for call_id, kind, fields in steps:
        call(daemon, call_id, kind, **fields)
        await asyncio.sleep(0.35)


@pytest.mark.skipif(
    os.environ.get("SCREENPOP_SCREENSHOTS") != "1", reason="set SCREENPOP_SCREENSHOTS=1"
)
async def test_screenshot_of_a_busy_board(browser: Any, tmp_path: Path) -> None:
    raw = screenshot_settings(tmp_path)
    await seed_call_log(raw["store"]["url"], time.time())
    async with AsyncExitStack() as stack:
        site = await open_site(stack, raw)
        port = raw["server"]["port"]
        for aid, _ in TEAM[:7]:  # everyone but Hana has the desktop open
            await stack.enter_async_context(agent_tab(port, f"{aid}-t"))
        page = await new_page(browser, stack, viewport={"width": 1920, "height": 1080})
        await log_in(page, site.base)
        site.daemon.board.pause("gus", "training", time.time() - 600)
        await live_calls(site.daemon)
        await expect(page.locator(".waiting-call")).to_have_count(3, timeout=WAIT_MS)
        name = page.locator('.waiting-call[data-call-id="w1"] .waiting-name')
        await expect(name).to_have_text("Marcus Lee")
        DOCS.mkdir(exist_ok=True)
        await page.screenshot(path=str(DOCS / "supervisor.png"), animations="disabled")
