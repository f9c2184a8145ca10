"""One benchmark run: start the parts, measure the floor, run the cases, report.

Every part is its own process: the fake Asterisk (:mod:`bench.pbx`), the back office
(:mod:`bench.backoffice`), the floor's peer (:mod:`bench.floor_peer`), the agents' clients
(:mod:`bench.agents`, several processes), and for each case a fresh daemon (`screenpop run`).
The Redis parts use db 15 under a key prefix of this run only, deleted at the end; without a
reachable Redis the cache is in memory and the floor has no Redis GET (the run says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlparse

import redis.asyncio as aioredis

from bench import floor
from bench.cases import Context, sizes
from bench.catalog import CASES
from bench.measure import Parts
from bench.report import Report
from bench.worker import Worker

FLOOR_SAMPLES = {True: 200, False: 2000}
CLIENT_PROCESSES = {True: 2, False: 4}
QUICK_CACHE_TIMEOUT_MS = 2000


async def run(
    quick: bool,
    redis_url: str,
    only: Sequence[str] = (),
    progress: bool = True,
    postgres_url: str = "",
    profile: Path | None = None,
    event_loop: str = "",
    idle: tuple[tuple[int, int], ...] = (),
) -> Report:
    say = _printer(progress)
    measured = dataclasses.replace(sizes(quick), idle=idle) if idle else sizes(quick)
    started = time.monotonic()
    chosen = [c for c in CASES if not only or c in only]
    report = Report(
        params={
            "quick": quick,
            "cases": chosen,
            "redis_url": redis_url,
            "postgres_url": postgres_url,
            "event_loop": event_loop,  # the daemons'
            "sizes": asdict(measured),
        }
    )
    redis_up = reachable(redis_url)
    prefix = report.params["key_prefix"] = f"screenpop-bench:{uuid.uuid4().hex[:12]}:"
    if redis_up:
        cache = {"url": redis_url, "key_prefix": prefix, "ttl_s": 3600, "stale_s": 7200}
        if quick:  # the smoke test runs beside the whole suite: a slow GET must not skip the cache
            cache["timeout_ms"] = QUICK_CACHE_TIMEOUT_MS
    else:
        report.skipped.append(f"Redis at {redis_url} is not reachable: memory cache, no GET floor")
        cache = {"url": "memory://"}
    if postgres_url and not reachable(postgres_url, 5432):
        report.skipped.append(f"PostgreSQL at {postgres_url} is not reachable: no case 6")
        postgres_url = ""
    say(f"starting the PBX, back office, floor peer and agents' processes (daemons: {event_loop})")
    async with contextlib.AsyncExitStack() as stack:
        workers = [Worker("pbx"), Worker("backoffice"), Worker("floor_peer")]
        workers += [Worker("agents", f"agents-{k}") for k in range(CLIENT_PROCESSES[quick])]
        await asyncio.gather(*(stack.enter_async_context(w) for w in workers))
        pbx, office, peer, *clients = workers
        pbx_port, office_url = await pbx.call("start"), await office.call("start")
        parts = Parts(pbx, office, peer, clients, pbx_port, office_url, profile)
        try:
            say("floor")
            samples = FLOOR_SAMPLES[quick]
            report.floor_parts = await floor.measure(
                parts, redis_url if redis_up else None, samples
            )
            with tempfile.TemporaryDirectory(prefix="screenpop-bench-") as tmp:
                ctx = Context(
                    parts, measured, Path(tmp), cache, redis_up, postgres_url=postgres_url
                )
                for case in chosen:
                    say(f"case {case}")
                    report.cases += await CASES[case](ctx)
                report.params["warm_sections"] = ctx.warm_statuses
        finally:
            await asyncio.gather(pbx.call("stop"), office.call("stop"))
            if redis_up:
                await delete_prefix(redis_url, prefix)
    report.seconds = time.monotonic() - started
    return report


def reachable(url: str, default_port: int = 6379) -> bool:
    """True when something accepts a TCP connection at the URL's (loopback) host and port."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise ValueError(f"the benchmark only talks to loopback services, not {host}")
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


async def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key under `prefix`; returns how many there were."""
    client = aioredis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


def _printer(enabled: bool) -> Callable[[str], None]:
    t0 = time.monotonic()

    def say(what: str) -> None:
        if enabled:
            print(f"... {time.monotonic() - t0:6.1f} s  {what}", file=sys.stderr, flush=True)

    return say
