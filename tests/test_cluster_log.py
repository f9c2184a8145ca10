"""The delivery log every node shares, on a Redis of the test's own: what an agent resuming on
another node gets back, how far back, and what a takeover's repeats do."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from screenpop.cluster.delivery import RedisDeliveryLog
from screenpop.cluster.redis import ClusterRedis
from screenpop.delivery.wire import Encoded, Frame
from tests.fakes.faults import PrivateRedis, require_binary


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[ClusterRedis]:
    require_binary("redis-server")
    async with PrivateRedis(tmp_path / "redis") as server:
        client = ClusterRedis(server.url, f"log-{uuid.uuid4().hex[:8]}:")
        try:
            yield client
        finally:
            await client.aclose()


def pop(call_id: str, state: str = "ringing", card: str = "") -> Encoded:
    return Encoded.of({"type": "pop", "call_id": call_id, "state": state, "card": {"x": card}})


def call(call_id: str, state: str) -> Encoded:
    return Encoded.of({"type": "call", "call_id": call_id, "state": state, "agent": "alice"})


async def test_a_second_node_numbers_on_and_replays_what_the_first_numbered(
    redis: ClusterRedis,
) -> None:
    a, b = RedisDeliveryLog(redis, "a"), RedisDeliveryLog(redis, "b")
    first = [await a.append("alice", pop(f"c{i}")) for i in range(3)]
    assert [f.seq for f in first] == [1, 2, 3]
    assert (await b.append("alice", pop("c9"))).seq == 4  # node B runs on from node A's seq
    assert await b.last_seq("alice") == 4
    replay = await b.since("alice", 1)
    assert replay is not None
    assert [(f.seq, f.type) for f in replay] == [(2, "pop"), (3, "pop"), (4, "pop")]
    assert replay[0].body == first[1].body  # the very bytes node A numbered
    assert await b.since("alice", 4) == []
    assert await a.last_seq("bob") == 0


async def test_the_replay_stream_is_bounded_by_messages_and_by_bytes(redis: ClusterRedis) -> None:
    by_count = RedisDeliveryLog(redis, "a", buffer_size=3, buffer_bytes=1_000_000)
    for i in range(6):
        await by_count.append("alice", call(f"c{i}", "answered"))
    assert await by_count.since("alice", 2) is None  # 3 already left: the tab gets fresh pops
    kept = await by_count.since("alice", 3)
    assert kept is not None and [f.seq for f in kept] == [4, 5, 6]

    big = "x" * 20_000
    by_bytes = RedisDeliveryLog(redis, "a", buffer_size=512, buffer_bytes=50_000)
    frames: list[Frame] = [await by_bytes.append("bob", pop(f"c{i}", card=big)) for i in range(5)]
    assert await by_bytes.since("bob", 2) is None  # two 20 kB pops are all 50 kB holds
    kept = await by_bytes.since("bob", 3)
    assert kept is not None and [f.seq for f in kept] == [4, 5]
    assert sum(f.size for f in kept) <= 50_000
    held = int(await redis.client.get(redis.key("replay-bytes:bob")))
    assert held == sum(f.size for f in frames[3:])
    huge = await by_bytes.append("bob", pop("c-huge", card="y" * 60_000))
    assert huge.seq == 6  # numbered, not kept: a resume from before it gets fresh pops
    assert await by_bytes.since("bob", 5) is None


async def test_what_a_takeover_repeats_is_not_numbered_twice(redis: ClusterRedis) -> None:
    a, b = RedisDeliveryLog(redis, "a"), RedisDeliveryLog(redis, "b")
    popped = await a.append("alice", pop("c1"))
    answered = await a.append("alice", call("c1", "answered"))
    # node B resyncs after taking the PBX over: the same pop, the same state again
    # (each answers with the seq the agent already has for the call: tabs pass it over)
    assert (await b.append("alice", pop("c1", "answered"))).seq == answered.seq
    assert (await b.append("alice", call("c1", "answered"))).seq == answered.seq
    assert await b.last_seq("alice") == 2
    replay = await b.since("alice", 0)
    assert replay is not None and [f.seq for f in replay] == [popped.seq, answered.seq]
    ended = await b.append("alice", call("c1", "ended"))
    assert ended.seq == 3
    # the same call id ringing the agent again after it ended pops again
    assert (await b.append("alice", pop("c1"))).seq == 4
    # a tab resuming past the buffer gets every active call popped afresh: let those through
    await b.forget_kinds("alice")
    assert (await b.append("alice", pop("c1"))).seq == 5
