"""One slow moment of Redis is not an outage (issue 11, found by `make bench`).

A redis-server of the test's own (tests/fakes/faults.py) is stalled with ``DEBUG SLEEP`` for
longer than the cache's timeout. What the daemon must do: the calls caught in the stall are misses
(counted), the next ones are served from the cache again at once (no cool-off without it),
``ping`` (what ``/readyz`` asks) keeps saying the cache is up and nothing is logged as down. A Redis
that stays stalled or dies is still marked down, and its idle connections are dropped once per
outage, not once per failed call. Last, the same stall under the whole daemon, as `/readyz` and
`/metrics` report it and as Alice's tab sees Jane's next call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from screenpop.cache import RedisCache
from screenpop.events import CallEvent, EventKind
from tests.fakes.faults import (
    Inbox,
    PrivateRedis,
    Stall,
    count_pool_drops,
    log_lines,
    metric,
    readiness,
)
from tests.harness import agent_tab, make_settings, running

TIMEOUT_S = 0.2
DOWN = "is down, serving without it"
JANE = "+12125551234"
ERRORS = "screenpop_cache_errors_total"


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    async with PrivateRedis(tmp_path / "redis") as server:
        yield server


def down_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return log_lines(caplog, DOWN)


async def test_one_stall_is_a_miss_for_that_call_only(
    redis: PrivateRedis, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="screenpop.cache")
    cache = RedisCache(redis.url, "stall:", TIMEOUT_S)
    drops = count_pool_drops(cache._client.connection_pool, monkeypatch)
    try:
        await cache.set("jane", {"name": "Jane Doe"}, 30, 30)
        stall = Stall(redis, 0.5)
        await stall.start()
        assert await cache.get("jane") is None  # timed out: a miss for this call
        assert cache.errors == 1
        await stall.over()

        for _ in range(3):  # served from the cache again at once, no cool-off without it
            hit = await cache.get("jane")
            assert hit is not None and hit.value == {"name": "Jane Doe"}
        await cache.ping()  # /readyz: the cache is up
        assert cache.errors == 1
        assert down_lines(caplog) == []
        assert drops == []
    finally:
        await cache.aclose()


async def test_a_burst_of_calls_caught_in_one_stall_is_not_an_outage(
    redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="screenpop.cache")
    cache = RedisCache(redis.url, "stall:", TIMEOUT_S)
    try:
        await cache.set("jane", {"name": "Jane Doe"}, 30, 30)
        stall = Stall(redis, 0.5)
        await stall.start()
        # a busy moment: twenty calls ask at once while Redis sleeps, each one times out
        missed = await asyncio.gather(*(cache.get("jane") for _ in range(20)))
        assert missed == [None] * 20
        assert cache.errors == 20
        await stall.over()

        hit = await cache.get("jane")
        assert hit is not None and hit.value == {"name": "Jane Doe"}
        await cache.ping()
        assert cache.errors == 20
        assert down_lines(caplog) == []
    finally:
        await cache.aclose()


async def test_a_redis_that_stays_stalled_is_down_then_back(
    redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="screenpop.cache")
    cache = RedisCache(redis.url, "stall:", TIMEOUT_S, cooloff_s=0.3)
    try:
        await cache.set("jane", {"name": "Jane Doe"}, 30, 30)
        stall = Stall(redis, 2.5)
        await stall.start()
        for _ in range(8):  # one call after another, each timing out: 1.6 s of failures
            assert await cache.get("jane") is None
        assert len(down_lines(caplog)) == 1  # now it is an outage
        with pytest.raises(ConnectionError):
            await cache.ping()  # /readyz says so
        await stall.over()

        await asyncio.sleep(0.35)  # past the cool-off
        hit = await cache.get("jane")
        assert hit is not None and hit.value == {"name": "Jane Doe"}
        await cache.ping()
        messages = [r.getMessage() for r in caplog.records]
        assert len(down_lines(caplog)) == 1
        assert sum("recovered" in m for m in messages) == 1
    finally:
        await cache.aclose()


async def test_a_dead_redis_drops_its_connections_once_per_outage(
    redis: PrivateRedis, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="screenpop.cache")
    cache = RedisCache(redis.url, "stall:", TIMEOUT_S, cooloff_s=0.02)
    drops = count_pool_drops(cache._client.connection_pool, monkeypatch)
    try:
        await cache.set("jane", {"name": "Jane Doe"}, 30, 30)
        await redis.kill()
        for _ in range(15):  # each past the cool-off, so each really tries the dead Redis
            assert await cache.get("jane") is None
            await asyncio.sleep(0.03)
        assert cache.errors == 15
        with pytest.raises(ConnectionError):
            await cache.ping()
        assert len(down_lines(caplog)) == 1
        assert len(drops) == 1, "the pool is dropped when Redis goes down, not on every failure"

        await redis.start()  # empty, on the same port
        await asyncio.sleep(0.05)
        errors = cache.errors
        assert await cache.get("jane") is None  # a plain miss now: Redis lost its data
        await cache.set("jane", {"name": "Jane Doe"}, 30, 30)
        hit = await cache.get("jane")
        assert hit is not None and hit.value == {"name": "Jane Doe"}
        assert cache.errors == errors
    finally:
        await cache.aclose()


async def test_the_daemon_rides_out_a_stall_of_its_redis(
    redis: PrivateRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As an agent and an ops engineer see it: Redis stalls once for longer than the cache's
    200 ms timeout while `/readyz` is probed; the probe still says the cache is up, one error is
    counted, and Jane's next call pops with her card from the cache at once."""
    caplog.set_level(logging.INFO, logger="screenpop.cache")
    cache = {"url": redis.url, "timeout_ms": round(TIMEOUT_S * 1000), "key_prefix": "stall:"}
    async with (
        running(make_settings(tmp_path, cache=cache)) as (daemon, port),
        agent_tab(port, "ta") as tab,
        Inbox(tab) as alice,
    ):
        calls = iter(range(1, 100))

        async def ring() -> bool:
            """One call from Jane to Alice; whether its card came from the cache."""
            call_id = f"stall-{next(calls)}"
            daemon.emit(CallEvent("pbx", call_id, EventKind.RINGING, caller=JANE, endpoint="1001"))
            seen = await alice.popped(call_id)
            daemon.emit(CallEvent("pbx", call_id, EventKind.ENDED))
            cached: bool = seen.pops[0]["card"]["sections"]["accounting"]["cached"]
            return cached

        for _ in range(20):  # the first call fills the cache, a later one is served from it
            if await ring():
                break
        else:
            raise AssertionError("Jane's card never came from the cache")
        assert await metric(port, ERRORS) == 0

        stall = Stall(redis, 0.5)
        await stall.start()
        _, body = await readiness(port)  # its ping times out in the stall
        assert body["checks"]["cache"]["ok"] is True, body
        await stall.over()

        assert await ring(), "the call after the stall was not served from the cache"
        assert await ring()
        assert await metric(port, ERRORS) == 1
        _, body = await readiness(port)
        assert body["checks"]["cache"]["ok"] is True, body
    assert down_lines(caplog) == []
