"""The cache contract, run on the in-process backend and on the real Redis.

Then stale-while-revalidate and negative caching through the real Lookup/CardBuild, on both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
from pydantic import BaseModel

from screenpop.cache import (
    Cache,
    CacheState,
    MemoryCache,
    RedisCache,
    Revalidator,
    open_cache,
)
from screenpop.card import Card, Status
from screenpop.connectors.contract import LookupQuery, LookupResult
from screenpop.connectors.runtime import ConnectorRuntime
from screenpop.errors import ConfigError, ScreenpopError
from screenpop.keys import section_key
from screenpop.lookup import CardBuild, Lookup
from screenpop.settings import CacheSettings, ConnectorSettings
from tests.harness import free_port

TIMEOUT_S = 0.5


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(url, key prefix) of each backend; the Redis keys are deleted after the test."""
    if request.param == "memory":
        return "memory://", "test:"
    return request.getfixturevalue("redis_url"), request.getfixturevalue("redis_cleanup")


@pytest.fixture
async def cache(backend: tuple[str, str]) -> AsyncIterator[Cache]:
    url, prefix = backend
    opened = open_cache(url, prefix, TIMEOUT_S)
    try:
        yield opened
    finally:
        await opened.aclose()


# -- the contract --------------------------------------------------------------------------------


async def test_miss(cache: Cache) -> None:
    assert await cache.get("nobody") is None
    assert await cache.get_many(["nobody", "nobody-else"]) == [None, None]
    assert await cache.get_many([]) == []


async def test_set_then_fresh_hit(cache: Cache) -> None:
    await cache.set("k", {"status": "ok", "data": {"balance": 120.5}}, 30, 30)
    hit = await cache.get("k")
    assert hit is not None
    assert hit.state is CacheState.FRESH
    assert hit.value == {"status": "ok", "data": {"balance": 120.5}}


async def test_stale_after_fresh_period(cache: Cache) -> None:
    await cache.set("k", {"n": 1}, 0.1, 30)
    await asyncio.sleep(0.2)
    hit = await cache.get("k")
    assert hit is not None
    assert hit.state is CacheState.STALE
    assert hit.value == {"n": 1}


async def test_gone_after_fresh_and_stale(cache: Cache) -> None:
    await cache.set("k", {"n": 1}, 0.1, 0.1)
    await asyncio.sleep(0.35)
    assert await cache.get("k") is None


async def test_overwrite_makes_fresh_again(cache: Cache) -> None:
    await cache.set("k", {"n": 1}, 0.05, 30)
    await asyncio.sleep(0.1)
    await cache.set("k", {"n": 2}, 30, 30)
    hit = await cache.get("k")
    assert hit is not None and hit.state is CacheState.FRESH and hit.value == {"n": 2}


async def test_get_many_keeps_order_with_mixed_hits(cache: Cache) -> None:
    await cache.set("a", {"n": "a"}, 30, 30)
    await cache.set("c", {"n": "c"}, 0.05, 30)
    await asyncio.sleep(0.1)
    await cache.set("d", {"n": "d"}, 30, 30)
    hits = await cache.get_many(["a", "b", "c", "d", "a"])
    summary = [(h.value["n"], h.state) if h else None for h in hits]
    assert summary == [
        ("a", CacheState.FRESH),
        None,
        ("c", CacheState.STALE),
        ("d", CacheState.FRESH),
        ("a", CacheState.FRESH),
    ]


async def test_delete(cache: Cache) -> None:
    await cache.set("k", {"n": 1}, 30, 30)
    await cache.set("other", {"n": 2}, 30, 30)
    await cache.delete("k")
    await cache.delete("never-set")
    assert await cache.get("k") is None
    assert await cache.get("other") is not None


@pytest.mark.parametrize(
    "value",
    [
        {"name": "Zoë Ångström", "city": "Kraków", "note": "日本語のメモ", "emoji": "☎️📞"},
        {"nested": {"list": [1, 2.5, None, True, "x"]}, "empty": {}, "quote": "\"'<>&"},
        {"status": "not_found", "data": None},
    ],
    ids=["unicode", "nested", "negative"],
)
async def test_json_round_trip(cache: Cache, value: dict[str, Any]) -> None:
    await cache.set("k", value, 30, 30)
    hit = await cache.get("k")
    assert hit is not None and hit.value == value


async def test_cached_value_cannot_be_mutated_by_the_caller(cache: Cache) -> None:
    value = {"data": {"n": 1}}
    await cache.set("k", value, 30, 30)
    value["data"]["n"] = 2
    first = await cache.get("k")
    assert first is not None
    first.value["data"]["n"] = 3
    again = await cache.get("k")
    assert again is not None and again.value == {"data": {"n": 1}}


async def test_ping_on_a_live_cache(cache: Cache) -> None:
    await cache.ping()
    assert cache.errors == 0


# -- backend specifics ---------------------------------------------------------------------------


async def test_redis_down_degrades_to_misses(caplog: pytest.LogCaptureFixture) -> None:
    cache = open_cache(f"redis://127.0.0.1:{free_port()}/15", "test:", TIMEOUT_S)
    try:
        with caplog.at_level(logging.INFO, logger="screenpop.cache"):
            assert await cache.get("k") is None
            assert await cache.get_many(["a", "b"]) == [None, None]
            await cache.set("k", {"n": 1}, 30, 30)
            await cache.delete("k")
            assert cache.errors == 4
            with pytest.raises((ScreenpopError, OSError)):
                await cache.ping()
        down = [r for r in caplog.records if "down" in r.getMessage()]
        assert len(down) == 1, "health is logged when it changes, not on every failure"
    finally:
        await cache.aclose()


class RedisProxy:
    """A TCP relay to the real Redis on a fixed loopback port, which a test can stop and restart
    (the Redis 'dies' for the client) or mute (accepts and reads, never answers)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.mute = False
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        if self.mute:
            await reader.read()  # swallow everything, answer nothing
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers.append(up_writer)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except OSError:
            pass
        finally:
            dst.close()


@pytest.fixture
async def redis_proxy(redis_url: str) -> AsyncIterator[RedisProxy]:
    parsed = urlsplit(redis_url)
    proxy = RedisProxy((parsed.hostname or "127.0.0.1", parsed.port or 6379))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def test_redis_restart_misses_then_recovers(
    redis_url: str, redis_cleanup: str, redis_proxy: RedisProxy, caplog: pytest.LogCaptureFixture
) -> None:
    db = urlsplit(redis_url).path
    cache = RedisCache(f"redis://127.0.0.1:{redis_proxy.port}{db}", redis_cleanup, 0.5, 0.05)
    try:
        with caplog.at_level(logging.INFO, logger="screenpop.cache"):
            await cache.set("k", {"n": 1}, 30, 30)
            await redis_proxy.stop()
            for _ in range(3):
                assert await cache.get("k") is None
            assert cache.errors >= 3
            await redis_proxy.start()
            await asyncio.sleep(0.1)  # past the cool-off
            hit = await cache.get("k")
            assert hit is not None and hit.value == {"n": 1}
            await cache.ping()
        messages = [r.getMessage() for r in caplog.records]
        assert sum("down" in m for m in messages) == 1
        assert sum("recovered" in m for m in messages) == 1
    finally:
        await cache.aclose()


async def test_redis_that_never_answers_is_a_miss(redis_url: str, redis_proxy: RedisProxy) -> None:
    redis_proxy.mute = True
    cache = open_cache(f"redis://127.0.0.1:{redis_proxy.port}/15", "test:", 0.2)
    try:
        assert await cache.get_many(["a", "b"]) == [None, None]
        await cache.set("a", {"n": 1}, 30, 30)
        assert cache.errors == 2
        with pytest.raises((ScreenpopError, OSError)):
            await cache.ping()
    finally:
        await cache.aclose()


async def test_redis_keys_carry_the_prefix(redis_url: str, redis_cleanup: str) -> None:
    import redis.asyncio as aioredis

    cache = open_cache(redis_url, redis_cleanup, TIMEOUT_S)
    client = aioredis.Redis.from_url(redis_url)
    try:
        await cache.set("section:x:+12125551234", {"n": 1}, 30, 30)
        keys = [k async for k in client.scan_iter(match=f"{redis_cleanup}*")]
        assert keys == [f"{redis_cleanup}section:x:+12125551234".encode()]
        ttl_ms = await client.pttl(keys[0])
        assert 0 < ttl_ms <= 60_000
    finally:
        await client.aclose()
        await cache.aclose()


async def test_memory_cache_evicts_least_recently_used() -> None:
    cache = MemoryCache("p:", max_entries=3)
    for key in "abc":
        await cache.set(key, {"k": key}, 30, 30)
    assert await cache.get("a") is not None  # a is now the most recently used
    await cache.set("d", {"k": "d"}, 30, 30)
    assert len(cache) == 3
    assert await cache.get("b") is None
    assert [h is not None for h in await cache.get_many(["a", "c", "d"])] == [True] * 3


@pytest.mark.parametrize("url", ["memcached://127.0.0.1", "http://x", "nonsense"])
def test_unknown_scheme_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="scheme"):
        open_cache(url, "p:", TIMEOUT_S)


# -- the revalidator -----------------------------------------------------------------------------


async def test_revalidator_single_flight_and_close() -> None:
    revalidator = Revalidator()
    started: list[str] = []
    release = asyncio.Event()

    async def slow(name: str) -> None:
        started.append(name)
        await release.wait()

    revalidator.refresh("k", lambda: slow("first"))
    revalidator.refresh("k", lambda: slow("second"))
    revalidator.refresh("j", lambda: slow("other key"))
    await asyncio.sleep(0)
    assert sorted(started) == ["first", "other key"]
    release.set()
    await revalidator.wait_idle()
    assert revalidator.running == 0

    release.clear()
    revalidator.refresh("k", lambda: slow("again"))
    await asyncio.sleep(0)
    assert started[-1] == "again"
    await revalidator.aclose()  # cancels the one still waiting
    assert revalidator.running == 0
    revalidator.refresh("k", lambda: slow("after close"))
    assert revalidator.running == 0


async def test_revalidator_logs_failures(caplog: pytest.LogCaptureFixture) -> None:
    revalidator = Revalidator()

    async def boom() -> None:
        raise RuntimeError("backend exploded")

    revalidator.refresh("section:x:+12125551234", boom)
    await revalidator.wait_idle()
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1
    assert "+12125551234" not in failures[0].getMessage()
    await revalidator.aclose()


# -- through the real lookup ---------------------------------------------------------------------


class CountingConnector:
    """A connector that answers from a variable and counts its calls."""

    Settings: ClassVar[type[BaseModel]] = BaseModel

    def __init__(self, answer: dict[str, Any] | None) -> None:
        self.name = "crm"
        self.answer = answer
        self.calls = 0

    async def start(self) -> None:
        return None

    async def lookup(self, query: LookupQuery) -> LookupResult:
        self.calls += 1
        return self.answer

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


QUERY = LookupQuery("+12125551234", "(212) 555-1234", "12125551234", "2125551234", "US")


async def build_card(lookup: Lookup) -> Card:
    card = Card("call-1", {"e164": QUERY.e164}, {}, lookup.priorities)
    build = CardBuild(card, lambda updated: None)
    await build.run(lookup, QUERY)
    return build.card


def make_lookup(
    connector: CountingConnector, cache: Cache, revalidator: Revalidator, **cfg: float
) -> Lookup:
    settings = ConnectorSettings(name="crm", kind="test", deadline_ms=2000)
    return Lookup([ConnectorRuntime(connector, settings)], cache, CacheSettings(**cfg), revalidator)


async def test_stale_section_is_served_at_once_and_refreshed(cache: Cache) -> None:
    connector = CountingConnector({"name": "Jane Doe", "balance": 1})
    revalidator = Revalidator()
    lookup = make_lookup(connector, cache, revalidator, ttl_s=0.1, stale_s=30, negative_ttl_s=30)
    try:
        first = (await build_card(lookup)).sections["crm"]
        assert (first.status, first.cached, first.data["balance"]) == (Status.OK, False, 1)

        await asyncio.sleep(0.2)
        connector.answer = {"name": "Jane Doe", "balance": 2}
        stale = (await build_card(lookup)).sections["crm"]
        assert (stale.status, stale.cached, stale.data["balance"]) == (Status.OK, True, 1)

        await revalidator.wait_idle()
        assert connector.calls == 2
        hit = await cache.get(section_key("crm", QUERY.e164))
        assert hit is not None and hit.state is CacheState.FRESH
        assert hit.value["data"]["balance"] == 2

        fresh = (await build_card(lookup)).sections["crm"]
        assert (fresh.cached, fresh.data["balance"]) == (True, 2)
        await revalidator.wait_idle()
        assert connector.calls == 2
    finally:
        await revalidator.aclose()


async def test_not_found_is_cached_for_the_negative_ttl(cache: Cache) -> None:
    connector = CountingConnector(None)
    revalidator = Revalidator()
    lookup = make_lookup(connector, cache, revalidator, ttl_s=30, stale_s=30, negative_ttl_s=0.3)
    try:
        first = (await build_card(lookup)).sections["crm"]
        assert (first.status, first.cached) == (Status.NOT_FOUND, False)

        again = (await build_card(lookup)).sections["crm"]
        assert (again.status, again.cached) == (Status.NOT_FOUND, True)
        await revalidator.wait_idle()
        assert connector.calls == 1

        await asyncio.sleep(0.4)
        connector.answer = {"name": "New Customer"}
        later = (await build_card(lookup)).sections["crm"]
        assert (later.status, later.cached, later.data) == (
            Status.OK,
            False,
            {"name": "New Customer"},
        )
        assert connector.calls == 2
    finally:
        await revalidator.aclose()
