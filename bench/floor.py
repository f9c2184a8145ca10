"""The physical floor on this machine: the three things no pop can avoid.

One AMI event parsed (a real `AgentCalled` captured from Asterisk 22), one Redis GET of a
card-sized value, one websocket text frame on loopback from an aiohttp server to a `websockets`
client (the same two libraries a pop crosses). The round trip of a frame is measured too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis
from aiohttp import WSMsgType, web
from websockets.asyncio.client import connect

from bench.stats import Figure, summarize
from screenpop.telephony.asterisk.protocol import AmiParser, Message
from tests.fakes.ami_transcript import load_transcript

GROUP = "floor"
TRANSCRIPT = "a_answered.txt"
RING_EVENT = "AgentCalled"
PAYLOAD_BYTES = 1024  # about the size of a pop message with a three-section card


def ring_event_bytes() -> bytes:
    """The wire bytes of the first real ring event (`AgentCalled`) in the recorded transcript."""
    for packet in load_transcript(TRANSCRIPT):
        if packet.get("Event") == RING_EVENT:
            return packet.wire
    raise LookupError(f"no {RING_EVENT} in {TRANSCRIPT}")


def ami_parse(n: int, warmup: int) -> Figure:
    """Feed one complete AMI event to a parser that has seen the banner; time each feed."""
    data = ring_event_bytes()
    parser = AmiParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    samples: list[float] = []
    start = time.perf_counter()
    for i in range(n + warmup):
        t0 = time.perf_counter()
        items = parser.feed(data)
        t1 = time.perf_counter()
        if len(items) != 1 or not isinstance(items[0], Message):
            raise AssertionError(f"the parser returned {items!r}")
        if i == warmup - 1:
            start = time.perf_counter()
        if i >= warmup:
            samples.append(t1 - t0)
    note = f"{len(data)} bytes, one {RING_EVENT} from a real Asterisk 22 capture"
    return summarize(GROUP, "AMI event parse", samples, time.perf_counter() - start, note)


async def redis_get(url: str, n: int, warmup: int) -> Figure:
    """GET one card-sized value, one at a time, on an open connection; the key is deleted."""
    key = f"screenpop-bench:{uuid.uuid4().hex[:12]}:floor"
    client = aioredis.Redis.from_url(url)
    try:
        await client.set(key, b'{"v": "' + b"x" * 300 + b'"}', ex=600)
        samples: list[float] = []
        for _ in range(warmup):
            await client.get(key)
        start = time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter()
            value = await client.get(key)
            samples.append(time.perf_counter() - t0)
            if value is None:
                raise AssertionError("the floor key vanished")
        elapsed = time.perf_counter() - start
    finally:
        await client.delete(key)
        await client.aclose()
    return summarize(GROUP, "Redis GET", samples, elapsed, f"{url}, ~300 byte value")


@contextlib.asynccontextmanager
async def echo_server() -> AsyncIterator[tuple[int, asyncio.Future[web.WebSocketResponse]]]:
    """An aiohttp websocket endpoint on loopback that echoes text frames; yields its port and
    a future resolved with the server side of the first connection."""
    accepted: asyncio.Future[web.WebSocketResponse] = asyncio.get_running_loop().create_future()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if not accepted.done():
            accepted.set_result(ws)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    try:
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        port = int(sockets[0].getsockname()[1])
        yield port, accepted
    finally:
        await runner.cleanup()


async def ws_frames(n: int, warmup: int) -> list[Figure]:
    """One frame server -> client (what a pop is), and a client -> server -> client round trip."""
    payload = "x" * PAYLOAD_BYTES
    async with echo_server() as (port, accepted), connect(f"ws://127.0.0.1:{port}/ws") as client:
        server_ws = await accepted

        async def one_way() -> None:
            await server_ws.send_str(payload)
            await client.recv()

        async def round_trip_once() -> None:
            await client.send(payload)
            await client.recv()

        one_way_figures = await _timed(one_way, n, warmup)
        round_trip = await _timed(round_trip_once, n, warmup)
    note = f"{PAYLOAD_BYTES} byte text frame, aiohttp server, websockets client"
    return [
        summarize(GROUP, "ws frame server->client", *one_way_figures, note),
        summarize(GROUP, "ws frame round trip", *round_trip, note),
    ]


async def _timed(
    step: Callable[[], Awaitable[object]], n: int, warmup: int
) -> tuple[list[float], float]:
    """`n` timed runs of `step` after `warmup` untimed ones; the samples and the wall time."""
    for _ in range(warmup):
        await step()
    samples: list[float] = []
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        await step()
        samples.append(time.perf_counter() - t0)
    return samples, time.perf_counter() - start
