"""The card as ops laid it out (`[sections.NAME]`), in headless Chromium (Debian's
/usr/bin/chromium): labels in order and formats in the page's locale and the center's zone,
highlight flags in the summary strip, the "open in" link, the last contact, several customers on
one number, an unknown caller, and the layout at 800 and 1920 pixels."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from tests.fakes.web_connectors import JANE, web_settings_raw
from tests.harness import free_port
from tests.test_browser_agent import WAIT_MS, log_in

SHARED = "+12125550000"  # two customers share this number
UNKNOWN = "+13125550199"  # nobody has this one

LAYOUTS: dict[str, Any] = {
    "accounting": {
        "fields": [
            {
                "path": "balance_overdue",
                "label": "Overdue",
                "format": "money",
                "currency_path": "currency",
            },
            {"path": "balance", "label": "Balance", "format": "money", "currency_path": "currency"},
            {"path": "last_payment_at", "label": "Paid on", "format": "date"},
            {"path": "opened", "label": "Customer since", "format": "date"},
        ],
        "highlight": [{"when": "balance_overdue > 0", "level": "alert", "text": "overdue"}],
        "link": "https://crm.example/customers/{customer_id}",
    },
    "sales": {
        "fields": [
            {
                "path": "recent_purchases",
                "label": "Bought",
                "format": "list",
                "columns": [
                    {"path": "date", "label": "On", "format": "date"},
                    {"path": "item", "label": "What"},
                    {"path": "amount", "label": "Paid", "format": "money", "currency": "EUR"},
                ],
            },
        ],
    },
    "credit": {
        "fields": [
            {"path": "limit", "label": "Credit limit", "format": "money", "currency": "USD"},
            {"path": "share", "label": "Used", "format": "percent"},
        ],
        "highlight": [
            {"when": 'risk_band in ["D", "E"]', "level": "warn", "text": "risk band D/E"},
            {"when": "limit <= 0", "level": "alert", "text": "no credit"},
            {"when": "internal_score < 800", "level": "info", "text": "low score"},  # hidden
        ],
    },
}


def card_raw(tmp_path: Path, port: int) -> dict[str, Any]:
    raw = copy.deepcopy(web_settings_raw(tmp_path, port=port))
    raw["ui"] = {"timezone": "America/New_York", "locale": "en-US"}
    raw["sections"] = LAYOUTS
    accounting, _, credit = (c["records"] for c in raw["connectors"])
    accounting[JANE].update(
        balance_overdue=20, last_payment_at="2026-11-02T03:30:00Z", opened="2019-04-15"
    )
    credit[JANE].update(risk_band="E", share=0.25)
    accounting[SHARED] = [
        {
            "customer_id": "C-2001",
            "name": "Ann Shared",
            "balance": 12.0,
            "currency": "USD",
            "balance_overdue": 12.0,
        },
        {
            "customer_id": "C-2002",
            "name": "Bob Shared",
            "balance": 0.0,
            "currency": "GBP",
            "balance_overdue": 0,
        },
    ]
    credit[SHARED] = [
        {"customer_id": "C-2001", "name": "Ann Shared", "limit": 900, "risk_band": "A"},
        {"customer_id": "C-2002", "name": "Bob Shared", "limit": 100, "risk_band": "E"},
    ]
    return raw


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Daemon, str]]:
    settings = parse_settings(card_raw(tmp_path, free_port()), "test")
    async with Daemon(settings) as daemon, daemon.web() as port:
        yield daemon, f"http://127.0.0.1:{port}"


@pytest.fixture
async def context(browser: Any) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def page(context: BrowserContext, site: tuple[Daemon, str]) -> Page:
    page = await context.new_page()
    await log_in(page, site[1])
    return page


def event(daemon: Daemon, call_id: str, kind: EventKind, caller: str | None = None) -> None:
    endpoint = "1001" if kind in (EventKind.RINGING, EventKind.ANSWERED) else None
    daemon.emit(CallEvent("t", call_id, kind, caller, None, endpoint, "support"))


def card_of(page: Page, call_id: str) -> Any:
    return page.locator(f'article[data-call-id="{call_id}"]')


async def labels_and_values(section: Any) -> list[tuple[str, str]]:
    pairs: list[list[str]] = await section.locator(":scope > dl.kv").evaluate(
        "dl => [...dl.querySelectorAll(':scope > dt')].map(dt => "
        "[dt.textContent, dt.nextElementSibling.textContent])"
    )
    return [(label, value) for label, value in pairs]


async def test_the_layout_shows_labels_in_order_formats_and_highlights(
    page: Page, site: tuple[Daemon, str]
) -> None:
    daemon, _ = site
    event(daemon, "c1", EventKind.RINGING, JANE)
    card = card_of(page, "c1")
    accounting = card.locator('[data-section="accounting"]')
    await expect(accounting.locator("dt").first).to_have_text("Overdue", timeout=WAIT_MS)
    # the listed fields first, in order (money with its sign, one date style in the page's
    # locale, the time in the center's zone: 03:30Z is still Nov 1 in New York); then the rest
    assert await labels_and_values(accounting) == [
        ("Overdue", "$20.00overdue"),
        ("Balance", "$120.50"),
        ("Paid on", "Nov 1, 2026"),
        ("Customer since", "Apr 15, 2019"),
        ("Last payment", "DateNov 2, 2026Amount80.00"),
    ]
    overdue = accounting.locator('dd[data-field="balance_overdue"]')
    await expect(overdue).to_have_class("flagged flagged-alert")
    credit = card.locator('[data-section="credit"]')
    assert await labels_and_values(credit) == [
        ("Credit limit", "$5,000.00"),
        ("Used", "25%"),
        ("Terms", "net 30"),
        ("Risk band", "Erisk band D/E"),  # not listed, but flagged all the same
    ]
    await expect(credit.locator('dd[data-field="risk_band"]')).to_have_class("flagged flagged-warn")
    purchases = card.locator('[data-section="sales"] table.mini')
    await expect(purchases.locator("th")).to_have_text(["On", "What", "Paid"])
    await expect(purchases.locator("tbody tr").first.locator("td")).to_have_text(
        ["Oct 1, 2026", "Widget Pro", "€49.00"]
    )
    # the summary strip: the flags, the most serious first; the hidden score raises nothing
    flags = card.locator(".summary-strip .flags li")
    await expect(flags).to_have_text(["alert: overdue", "warning: risk band D/E"])
    await expect(flags.nth(0)).to_have_class("flag flag-alert")
    await expect(flags.nth(1)).to_have_class("flag flag-warn")
    # the CRM link, resolved in the daemon from the section's data
    link = accounting.locator("a.open-in")
    await expect(link).to_have_text("open in Accounting")
    await expect(link).to_have_attribute("href", "https://crm.example/customers/C-1042")
    await expect(credit.locator("a.open-in")).to_have_count(0)  # no link configured


async def test_the_summary_strip_shows_the_last_contact(
    page: Page, site: tuple[Daemon, str]
) -> None:
    daemon, _ = site
    event(daemon, "h1", EventKind.RINGING, JANE)
    event(daemon, "h1", EventKind.ANSWERED)
    card = card_of(page, "h1")
    await expect(card.locator(".state")).to_have_text("On the call", timeout=WAIT_MS)
    await expect(card.locator(".last-contact")).to_have_count(0)  # a first call: nothing before
    await card.locator("select.disposition").select_option("callback")
    await card.locator("textarea.note-input").fill("Wants a refund for the Gadget\nsent photos")
    await card.locator("button.save").click()
    await expect(card.locator(".saved-note")).to_contain_text("Wants a refund", timeout=WAIT_MS)
    event(daemon, "h1", EventKind.ENDED)
    event(daemon, "h2", EventKind.RINGING, JANE)
    strip = card_of(page, "h2").locator(".summary-strip")
    last = strip.locator(".last-contact")
    await expect(last.locator(".label")).to_have_text("Last contact", timeout=WAIT_MS)
    await expect(last.locator(".by")).to_have_text("alice")
    await expect(last.locator(".disposition")).to_have_text("Callback")
    await expect(last.locator(".last-note")).to_have_text("Wants a refund for the Gadget")
    when = await last.locator(".when").text_content()
    assert when is not None and ", 20" in when and ":" in when  # "Dec 2, 2026, 4:05 AM"
    await expect(strip.locator(".caller-name")).to_have_text("Jane Doe")
    await expect(strip.locator(".customer-id")).to_have_text("customer C-1042")


async def test_several_customers_on_one_number_show_the_picked_one_only(
    page: Page, site: tuple[Daemon, str]
) -> None:
    daemon, _ = site
    event(daemon, "s1", EventKind.RINGING, SHARED)
    card = card_of(page, "s1")
    await expect(card.locator(".caller-name")).to_have_text(
        "2 customers on this number", timeout=WAIT_MS
    )
    # the picker comes first, before any section
    first = card.locator(".card-body > *").first
    await expect(first).to_have_class("panel candidates open")
    accounting = card.locator('[data-section="accounting"]')
    await expect(accounting.locator(".pick-first")).to_be_visible()
    await expect(accounting.locator(".match.other")).to_have_count(2)
    await expect(accounting.locator(".match.other").first).to_be_hidden()  # behind the toggle
    flags = card.locator(".summary-strip .flags li")  # whose flag it is, until one is picked
    await expect(flags).to_have_text(
        ["alert: Ann Shared: overdue", "warning: Bob Shared: risk band D/E"]
    )

    await card.get_by_role("button", name="Bob Shared").click()
    await expect(card.locator(".caller-name")).to_have_text("Bob Shared", timeout=WAIT_MS)
    assert await labels_and_values(accounting) == [
        ("Overdue", "£0.00"),
        ("Balance", "£0.00"),
        ("Paid on", "—"),
        ("Customer since", "—"),
    ]
    await expect(flags).to_have_text(["warning: risk band D/E"])
    others = accounting.locator("details.others")
    await expect(others.locator("summary")).to_have_text("Other customers on this number (1)")
    ann = others.locator(".match.other")
    await expect(ann).to_be_hidden()
    await others.locator("summary").click()
    await expect(ann).to_be_visible()
    await expect(ann.locator("h4")).to_have_text("Ann Shared · C-2001")
    await expect(ann).to_contain_text("$12.00")
    credit = card.locator('[data-section="credit"]')
    assert (await labels_and_values(credit))[0] == ("Credit limit", "$100.00")


async def test_an_unknown_caller_gets_one_clear_notice(
    page: Page, site: tuple[Daemon, str]
) -> None:
    daemon, _ = site
    event(daemon, "u1", EventKind.RINGING, UNKNOWN)
    card = card_of(page, "u1")
    notice = card.locator(".no-customer")
    await expect(notice.locator("h3")).to_have_text(
        "No customer found for this number", timeout=WAIT_MS
    )
    await expect(notice).to_contain_text("(312) 555-0199")
    await expect(card.locator("[data-section]")).to_have_count(0)
    await expect(card).not_to_contain_text("not found")


@pytest.mark.parametrize(("width", "height"), [(800, 900), (1920, 1080)])
async def test_the_card_fits_narrow_screens_and_uses_wide_ones(
    browser: Any, site: tuple[Daemon, str], width: int, height: int
) -> None:
    daemon, base = site
    context = await browser.new_context(viewport={"width": width, "height": height})
    try:
        page = await context.new_page()
        await log_in(page, base)
        event(daemon, "p1", EventKind.RINGING, JANE)
        card = card_of(page, "p1")
        await expect(card.locator(".flags li")).to_have_count(2, timeout=WAIT_MS)
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        main = await card.locator(".call-main").bounding_box()
        side = await card.locator(".call-side").bounding_box()
        assert main is not None and side is not None
        if width >= 1400:  # history and notes beside the sections, the card most of the width
            assert side["x"] >= main["x"] + main["width"] - 1 and side["y"] == main["y"]
            box = await card.bounding_box()
            assert box is not None and box["width"] > 0.85 * width
        else:  # history and notes below the sections
            assert side["y"] >= main["y"] + main["height"] - 1
    finally:
        await context.close()
