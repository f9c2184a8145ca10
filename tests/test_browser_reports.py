"""The Reports page in headless Chromium: a seeded call log shows as charts and a table, the CSV
download is the report's, and a role without `reports` gets neither the page nor the link."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from screenpop.store import CallRecord, Store
from screenpop.store.callback_table import CallbackRecord
from screenpop.store.callbacks import CallbackStore
from screenpop.store.schema import RingRecord, Write
from tests.fakes.web_connectors import web_settings_raw
from tests.harness import free_port
from tests.test_browser_display import log_in
from tests.test_browser_supervisor import Site, new_page, open_site

NY = ZoneInfo("America/New_York")
WAIT_MS = 5000
DAYS = ("2026-11-16", "2026-11-17", "2026-11-18")
HOURS = (9, 10, 11, 12)
QUEUE_COLUMNS = (
    "queue,interval_start,offered,answered,abandoned,short_abandoned,answered_within_sl,"
    "service_level,asa_s,avg_wait_s,max_wait_s,aht_s,transfers"
)


def at(day: str, hour: int, minute: int = 0) -> float:
    return (
        dt.datetime.fromisoformat(f"{day}T{hour:02d}:{minute:02d}").replace(tzinfo=NY).timestamp()
    )


def seeded_calls() -> list[Write]:
    """Each day, each hour: a support call alice answered after 10 s and talked 120 s; at 11:00
    also a sales caller who gave up after 40 s."""
    calls: list[Write] = []
    for day in DAYS:
        for hour in HOURS:
            start = at(day, hour, 5)
            calls.append(CallRecord("pbx", f"{day}-{hour}", "2125550100", "+12125550100", None,
                                    "support", "alice", "ended", "inbound", start, start + 10,
                                    start + 130))  # fmt: skip
            calls.append(RingRecord("pbx", f"{day}-{hour}", "alice", 1, start + 5, "answered",
                                    start + 10, queue="support", talk_s=120.0))  # fmt: skip
            if hour == 11:
                calls.append(CallRecord("pbx", f"{day}-{hour}-gone", "2125550101", "+12125550101",
                                        None, "sales", None, "abandoned", "inbound", start,
                                        None, start + 40))  # fmt: skip
    return calls


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    raw = web_settings_raw(tmp_path, port=free_port())
    raw["ui"] = {"timezone": "America/New_York"}
    raw["roles"]["supervisor"] = {"board": True, "reports": True}
    raw["roles"]["lead"] = {"board": True}  # watches the board, reads no report
    raw["agents"].append({"id": "lee", "name": "Lee", "role": "lead", "token": "lee-t"})
    store = Store(raw["store"]["url"])
    await store.start()
    await store.write(seeded_calls())
    await seed_callbacks(store)
    await store.aclose()
    async with AsyncExitStack() as stack:
        yield await open_site(stack, raw)


async def seed_callbacks(store: Store) -> None:
    """The sales caller who gave up each day became a callback item; alice called back the
    first day's and closed it."""
    gone = "+12125550101"
    items = [
        CallbackRecord("pbx", f"{day}-11-gone", "sales", gone, "abandoned", 40.0, at(day, 11, 6))
        for day in DAYS
    ]
    await store.write(items)
    callbacks = CallbackStore(store)
    first = next(i for i in await callbacks.open_items() if i.call_id == items[0].call_id)
    await callbacks.take(first.id, "alice", at(DAYS[0], 12))
    await callbacks.called_back(first.id, "alice", "out-1", at(DAYS[0], 12, 1))
    await callbacks.close(first.id, "alice", "resolved", at(DAYS[0], 12, 5))


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Page]:
    async with AsyncExitStack() as stack:
        yield await new_page(browser, stack, viewport={"width": 1280, "height": 900},
                             accept_downloads=True)  # fmt: skip


async def ask(page: Page, kind: str, start: str, end: str, interval: str) -> None:
    await page.select_option("#kind", kind)
    await page.fill("#from", start)
    await page.fill("#to", end)
    await page.select_option("#interval", interval)
    await page.click("#show")


async def test_the_page_charts_and_tabulates_the_seeded_call_log(site: Site, page: Page) -> None:
    await log_in(page, site.base, "sam", "sam-t", "/supervisor")
    await page.click("#reports-link")
    await page.wait_for_url(f"{site.base}/reports")
    await ask(page, "queues", DAYS[0], DAYS[-1], "day")
    level = page.locator("[data-chart=service-level]")
    await expect(level.locator("circle.point")).to_have_count(len(DAYS), timeout=WAIT_MS)
    await expect(level.locator("svg > title")).to_have_text("Service level (%)")
    bars = page.locator("[data-chart=offered] rect.bar")
    await expect(bars).to_have_count(len(DAYS))
    assert [await b.get_attribute("data-value") for b in await bars.all()] == ["5"] * len(DAYS)
    rate = page.locator("[data-chart=abandon-rate] circle.point")
    assert [await p.get_attribute("data-value") for p in await rate.all()] == ["20"] * len(DAYS)
    table = page.locator("#report-table")
    headers = await table.locator("thead th[scope=col]").all_inner_texts()
    assert ",".join(headers) == QUEUE_COLUMNS
    await expect(table.locator("tbody tr")).to_have_count(2 * len(DAYS))  # support and sales
    await expect(table.locator("tbody tr").first).to_contain_text("2026-11-16T00:00:00-05:00")
    # one day by hour: a point per hour with calls
    await ask(page, "queues", DAYS[1], DAYS[1], "hour")
    await expect(level.locator("circle.point")).to_have_count(len(HOURS), timeout=WAIT_MS)
    await expect(level.locator("circle.point").first.locator("title")).to_have_text("09:00: 100 %")
    # the agents' handle time: one bar for alice, 120 s of talk per call
    await ask(page, "agents", DAYS[0], DAYS[-1], "day")
    handle = page.locator("[data-chart=handle-time] rect.bar")
    await expect(handle).to_have_count(1, timeout=WAIT_MS)
    assert await handle.get_attribute("data-value") == "120"


async def test_the_callback_report_charts_items_and_how_many_were_called_back(
    site: Site, page: Page
) -> None:
    await log_in(page, site.base, "sam", "sam-t", "/supervisor")
    await page.goto(f"{site.base}/reports")
    offered = await page.locator("#kind option").evaluate_all("os => os.map(o => o.value)")
    assert offered == ["queues", "agents", "dispositions", "callbacks"]  # audit: CLI and API
    await ask(page, "callbacks", DAYS[0], DAYS[-1], "day")
    items = page.locator("[data-chart=callbacks] rect.bar")
    await expect(items).to_have_count(len(DAYS), timeout=WAIT_MS)
    assert [await b.get_attribute("data-value") for b in await items.all()] == ["1"] * len(DAYS)
    called = page.locator("[data-chart=called-back] circle.point")
    assert [await p.get_attribute("data-value") for p in await called.all()] == ["100", "0", "0"]
    await expect(page.locator("#report-table tbody tr")).to_have_count(len(DAYS))


async def test_the_csv_download_is_the_report(site: Site, page: Page) -> None:
    await log_in(page, site.base, "sam", "sam-t", "/supervisor")
    await page.goto(f"{site.base}/reports")
    await ask(page, "queues", DAYS[0], DAYS[-1], "day")
    await expect(page.locator("#download")).to_be_visible(timeout=WAIT_MS)
    async with page.expect_download() as info:
        await page.click("#download")
    download = await info.value
    assert download.suggested_filename == "queues_2026-11-16_2026-11-18_day.csv"
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == QUEUE_COLUMNS
    assert len(lines) == 1 + 2 * len(DAYS)
    assert lines[1].startswith("sales,2026-11-16T00:00:00-05:00,1,0,1,0,0,0.0,")
    assert lines[4].startswith("support,2026-11-16T00:00:00-05:00,4,4,0,0,4,100.0,10.0,")


async def test_bad_parameters_are_said_on_the_page(site: Site, page: Page) -> None:
    await log_in(page, site.base, "sam", "sam-t", "/supervisor")
    await page.goto(f"{site.base}/reports")
    await ask(page, "queues", DAYS[-1], DAYS[0], "day")  # to before from
    status = page.locator("#report-status")
    await expect(status).to_have_class("report-status error", timeout=WAIT_MS)
    await expect(status).to_contain_text("is after to")


async def test_a_role_without_reports_gets_no_page_and_no_link(site: Site, page: Page) -> None:
    await log_in(page, site.base, "lee", "lee-t", "/supervisor")
    await expect(page.locator("#agents .agent")).not_to_have_count(0, timeout=WAIT_MS)
    await expect(page.locator("#reports-link")).to_have_count(0)
    response = await page.goto(f"{site.base}/reports")
    assert response is not None and response.status == 403
    await expect(page.locator("main")).to_contain_text("may not read reports")
    api = await page.request.get(f"{site.base}/api/reports/queues?from={DAYS[0]}&to={DAYS[0]}")
    assert api.status == 403
    await page.context.clear_cookies()
    await log_in(page, site.base, "alice", "alice-t", "/agent")
    response = await page.goto(f"{site.base}/reports")
    assert response is not None and response.status == 403
