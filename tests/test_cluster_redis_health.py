"""The cluster's Redis client says Redis is down only when it is (issue 11): one slow moment makes
the commands caught in it fail, and nothing more; a Redis that dies is marked down, logged once,
and its idle connections dropped once; a Redis that never answered is down at the first failure."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from screenpop.cluster.redis import ClusterDown, ClusterRedis
from tests.fakes.faults import PrivateRedis, Stall, count_pool_drops, log_lines

TIMEOUT_S = 0.2
DOWN = "each node carries on with what it sees"


def down_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return log_lines(caplog, DOWN)


@dataclass
class Setup:
    server: PrivateRedis
    client: ClusterRedis
    drops: list[bool]  # one entry each time the client dropped its pooled connections


@pytest.fixture
async def setup(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Setup]:
    """A Redis of the test's own and a cluster client that has written key `k` = `v`."""
    caplog.set_level(logging.WARNING, "screenpop.cluster.redis")
    async with PrivateRedis(tmp_path / "redis") as server:
        client = ClusterRedis(server.url, "health:", TIMEOUT_S)
        try:
            drops = count_pool_drops(client.client.connection_pool, monkeypatch)
            await client.call(client.client.set, client.key("k"), "v")
            yield Setup(server, client, drops)
        finally:
            await client.aclose()


async def test_one_stall_fails_the_commands_in_it_and_nothing_more(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    client = setup.client
    stall = Stall(setup.server, 0.5)
    await stall.start()
    with pytest.raises(ClusterDown, match=r"Redis at 127\.0\.0\.1"):
        await client.call(client.client.get, client.key("k"))
    assert client.up, client.detail
    await stall.over()
    assert await client.call(client.client.get, client.key("k")) == b"v"
    assert client.up and down_lines(caplog) == [] and setup.drops == []


async def test_a_dead_redis_is_down_once_and_its_idle_connections_dropped_once(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    client = setup.client
    await setup.server.kill()
    for _ in range(5):
        with pytest.raises(ClusterDown):
            await client.call(client.client.get, client.key("k"))
    assert not client.up and "unreachable" in client.detail
    assert len(down_lines(caplog)) == 1 and setup.drops == [True]
    await setup.server.start()
    assert await client.call(client.client.get, client.key("k")) is None  # it saves nothing
    assert client.up and client.detail.endswith("answers")


async def test_a_redis_that_never_answered_is_down_at_the_first_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "screenpop.cluster.redis")
    server = PrivateRedis(tmp_path / "redis")  # never started
    client = ClusterRedis(server.url, "health:", TIMEOUT_S)
    try:
        with pytest.raises(ClusterDown):
            await client.call(client.client.get, client.key("k"))
        assert not client.up and len(down_lines(caplog)) == 1
    finally:
        await client.aclose()
