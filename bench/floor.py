"""The floor, measured in the same run: what a pop cannot avoid on this machine, each part
crossing processes as the pop does.

* **AMI event from a socket**: the PBX process writes one real `AgentCalled` (804 bytes, from an
  Asterisk 22 capture) to a TCP socket; the floor's peer process reads it and parses it with the
  product's AMI parser. From the write to the parsed message.
* **Redis GET**: one GET of a ~300-byte value on an open connection, in the peer process.
* **ws frame to a client process**: the peer's aiohttp server sends one pop-sized text frame; a
  `websockets` client in the agents' process holds it. From the send to the receive.

Writes are spaced (:data:`GAP_MS`) so each is alone on the wire. The floor per percentile is the
sum of the three parts' percentiles.
"""

from __future__ import annotations

import asyncio

from bench.measure import Parts
from bench.stats import Figure, summarize

GROUP = "floor"
GAP_MS = 2.0
PARTS = ("AMI event from a socket", "Redis GET", "ws frame to a client process")


async def measure(parts: Parts, redis_url: str | None, n: int) -> list[Figure]:
    warmup = max(10, n // 10)
    figures = [await _ami(parts, n, warmup)]
    if redis_url is not None:
        durations = await parts.peer.call("redis_get", url=redis_url, n=n, warmup=warmup)
        samples = [d / 1e9 for d in durations]
        figures.append(summarize(GROUP, PARTS[1], samples, sum(samples), "~300 byte value"))
    figures.append(await _ws(parts, n, warmup))
    return figures


async def _ami(parts: Parts, n: int, warmup: int) -> Figure:
    port = await parts.pbx.call("floor_listen")
    written, parsed = await asyncio.gather(
        parts.pbx.call("floor_write", n=n + warmup, gap_ms=GAP_MS),
        parts.peer.call("ami_read", port=port, n=n + warmup),
    )
    note = "PBX process write -> peer process parsed (AmiParser), one 804-byte AgentCalled"
    return _paired(PARTS[0], written, parsed, warmup, note)


async def _ws(parts: Parts, n: int, warmup: int) -> Figure:
    port = await parts.peer.call("ws_serve")
    sent, received = await asyncio.gather(
        parts.peer.call("ws_send", n=n + warmup, gap_ms=GAP_MS),
        parts.clients[0].call("floor_recv", port=port, n=n + warmup),
    )
    note = "aiohttp send_str in the peer process -> websockets recv in the agents' process"
    return _paired(PARTS[2], sent, received, warmup, note)


def _paired(name: str, start: list[int], end: list[int], warmup: int, note: str) -> Figure:
    if len(start) != len(end):
        raise RuntimeError(f"floor {name}: {len(start)} sent, {len(end)} received")
    samples = [(b - a) / 1e9 for a, b in zip(start[warmup:], end[warmup:], strict=True)]
    elapsed = (end[-1] - start[warmup]) / 1e9
    return summarize(GROUP, name, samples, elapsed, note)
