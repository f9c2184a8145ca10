"""Retake the README's screenshots from `screenpop demo`, and time what an agent sees first.

    .venv/bin/python tools/demo_screenshots.py [--port 8097] [--pops 8] [--out docs]

Starts the demo daemon on a free loopback port, logs in Alice (agent) and Sam (supervisor) in
Debian's Chromium (headless, never a downloaded browser), and for the next `--pops` calls that
pop on Alice's page measures, in the page, the time from the `pop` frame's arrival on the
websocket to the card's summary strip in the DOM. Then, once a card with flags is on Alice's
page, it writes docs/agent.png (1366x768), docs/agent-wide.png (the same page at 1920x1080) and
docs/supervisor.png (1920x1080); and docs/reports.png (1440x1000): Sam's Reports page on the
demo's generated history, the last two weeks by day. `--reports-only` writes that one alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import signal
import socket
import statistics
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("SCREENPOP_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WAIT_MS = 90_000

# Runs in the page before its scripts: note when each pop frame arrives, and when the summary
# strip of that call's card is in the DOM (both on the page's performance clock).
TIMING = """
window.__popAt = {}; window.__stripAt = {};
const Real = window.WebSocket;
window.WebSocket = class extends Real {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (e) => {
      let m = null;
      try { m = JSON.parse(e.data); } catch { return; }
      if (m.type === "pop" && !(m.call_id in window.__popAt)) {
        window.__popAt[m.call_id] = performance.now();
      }
    });
  }
};
new MutationObserver(() => {
  for (const strip of document.querySelectorAll("article.call .summary-strip")) {
    const id = strip.closest("article.call").dataset.callId;
    if (!(id in window.__stripAt)) window.__stripAt[id] = performance.now();
  }
}).observe(document, { childList: true, subtree: true });
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def demo(port: int) -> AsyncIterator[str]:
    script = Path(sys.executable).parent / "screenpop"
    proc = await asyncio.create_subprocess_exec(
        str(script), "demo", "--port", str(port), cwd=ROOT, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            await asyncio.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)


async def login(browser: Browser, base: str, who: str, width: int, height: int) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": height})
    await context.add_init_script(TIMING)
    page = await context.new_page()
    await page.goto(f"{base}/")
    await page.fill("#agent_id", who)
    await page.fill("#token", f"{who}-demo")
    await page.press("#token", "Enter")
    await page.wait_for_url("**/agent" if who != "sam" else "**/supervisor")
    return page


async def time_pops(page: Page, pops: int) -> list[float]:
    """ms from each pop's arrival to its summary strip, for the next `pops` pops."""
    await page.wait_for_function(
        "(n) => Object.keys(window.__stripAt).filter((id) => id in window.__popAt).length >= n",
        arg=pops,
        timeout=WAIT_MS * 3,
    )
    pairs = await page.evaluate(
        "() => Object.keys(window.__stripAt).filter((id) => id in window.__popAt)"
        ".map((id) => window.__stripAt[id] - window.__popAt[id])"
    )
    return [round(float(ms), 1) for ms in pairs]


async def ring_to_render(page: Page, base: str) -> str:
    """The daemon's own figure (`screenpop_ring_to_render_seconds`, from the tabs' acks): from
    the ring event to the card rendered, over every pop so far."""
    response = await page.request.get(f"{base}/metrics")
    values = {}
    for line in (await response.text()).splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("screenpop_ring_to_render_seconds_") and "{" not in name:
            values[name.rsplit("_", 1)[1]] = float(value)
    count, total = values.get("count", 0.0), values.get("sum", 0.0)
    mean = f"{total / count * 1000:.1f} ms" if count else "-"
    return f"ring event to card rendered (daemon's figure): {count:.0f} pops, mean {mean}"


async def reports_shot(browser: Browser, base: str, out: Path) -> None:
    """docs/reports.png: the queue report of the two weeks before today, by day."""
    page = await login(browser, base, "sam", 1440, 1000)
    await page.goto(f"{base}/reports")
    last = await page.input_value("#to")
    first = dt.date.fromisoformat(last) - dt.timedelta(days=13)
    await page.fill("#from", first.isoformat())
    await page.click("#show")
    await page.locator("[data-chart=service-level] circle.point").nth(13).wait_for(timeout=WAIT_MS)
    await page.screenshot(path=out / "reports.png")
    print(f"written: {out / 'reports.png'}")


async def main(port: int, pops: int, out: Path, reports_only: bool) -> None:
    async with demo(port) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        await reports_shot(browser, base, out)
        if reports_only:
            await browser.close()
            return
        agent = await login(browser, base, "alice", 1366, 768)
        board = await login(browser, base, "sam", 1920, 1080)
        await login(browser, base, "bob", 1920, 1080)  # a second agent taking calls (in French)
        timings = await time_pops(agent, pops)
        print(
            f"pop to summary strip, {len(timings)} pops: median {statistics.median(timings)} ms, "
            f"max {max(timings)} ms ({timings})"
        )
        print(await ring_to_render(agent, base))
        flagged = agent.locator("article.call", has=agent.locator(".flags")).first
        await flagged.wait_for(timeout=WAIT_MS * 3)
        await flagged.scroll_into_view_if_needed()
        await agent.screenshot(path=out / "agent.png")
        await agent.set_viewport_size({"width": 1920, "height": 1080})
        await flagged.scroll_into_view_if_needed()
        await agent.screenshot(path=out / "agent-wide.png")
        await board.locator(".agent").nth(2).wait_for(timeout=WAIT_MS)
        await board.wait_for_timeout(3000)
        await board.screenshot(path=out / "supervisor.png")
        await browser.close()
    print(f"written: {out / 'agent.png'}, {out / 'agent-wide.png'}, {out / 'supervisor.png'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--pops", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--reports-only", action="store_true", help="docs/reports.png alone")
    args = parser.parse_args()
    asyncio.run(main(args.port or free_port(), args.pops, args.out, args.reports_only))
