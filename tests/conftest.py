"""Shared fixtures: the real Redis and PostgreSQL servers, and Debian's Chromium.

Service URLs come from the environment (defaults: the servers every machine runs on loopback).
Outside CI a missing service skips the tests that need it; with CI=true it fails them.
`SCREENPOP_TEST_EVENT_LOOP=uvloop` runs every async test on uvloop instead of asyncio's own loop
(what `screenpop run` takes by default where uvloop is installed).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from hypothesis import settings

from screenpop.store import Store

# Property tests explore new inputs on a developer's machine; in CI they replay a fixed set, so a
# red build always means a change broke something (a new find is fixed and pinned as an @example).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)

REDIS_URL = os.environ.get("SCREENPOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get(
    "SCREENPOP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
CHROMIUM = os.environ.get("SCREENPOP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
settings.load_profile("ci" if IN_CI else "dev")

if os.environ.get("SCREENPOP_TEST_EVENT_LOOP") == "uvloop":
    import uvloop

    def pytest_asyncio_loop_factories(config: Any, item: Any) -> dict[str, Any]:
        return {"uvloop": uvloop.new_event_loop}


def _loopback_only(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    host = parsed.hostname or "127.0.0.1"
    if not (host.startswith("127.") or host in ("::1", "localhost")):
        raise RuntimeError(f"tests only talk to loopback services, not {host}")
    return host, parsed.port or 0


def _require(what: str, url: str, default_port: int) -> None:
    host, port = _loopback_only(url)
    try:
        with socket.create_connection((host, port or default_port), timeout=1):
            return
    except OSError as exc:
        message = f"{what} is not reachable at {url}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def redis_url() -> str:
    """A test-only Redis database; tests must use their own key prefix (see `key_prefix`)."""
    _require("Redis", REDIS_URL, 6379)
    return REDIS_URL


@pytest.fixture
def key_prefix() -> str:
    """A unique Redis key prefix for one test, so parallel and repeated runs never collide."""
    return f"screenpop-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis_cleanup(redis_url: str, key_prefix: str) -> AsyncIterator[str]:
    """Yields the prefix; deletes every key under it afterwards."""
    import redis.asyncio as aioredis

    yield key_prefix
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{key_prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def postgres_url() -> str:
    _require("PostgreSQL", POSTGRES_URL, 5432)
    return POSTGRES_URL


@pytest.fixture
def unique_table() -> str:
    """A table name no other test uses; the test drops it when done."""
    return f"sp_test_{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(url, table prefix) of a call log on each database: a SQLite file, the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}", ""
    return request.getfixturevalue("postgres_url"), request.getfixturevalue("unique_table") + "_"


@pytest.fixture
async def store(store_url: tuple[str, str]) -> AsyncIterator[Store]:
    """A started call log on each database, its tables dropped afterwards."""
    url, prefix = store_url
    opened = Store(url, table_prefix=prefix)
    await opened.start()
    try:
        yield opened
    finally:
        await opened.drop_tables()
        await opened.aclose()


def _require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    _require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def context(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser profile (cookies, storage) with a desktop-sized window."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield ctx
    finally:
        await ctx.close()
