"""One benchmark run: the floor, ring-to-pop on each daemon set-up, then the bursts."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import sys
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

from bench import burst, cases, floor
from bench.report import Report

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Params:
    """What to run; :func:`params` picks them from the command line."""

    calls: int  # per ring-to-pop series, and the size of each burst
    agents: int
    floor_samples: int
    warmup: int
    redis_url: str
    quick: bool


def params(calls: int | None, agents: int | None, quick: bool, redis_url: str) -> Params:
    if quick:
        return Params(calls or 20, agents or 5, 300, 30, redis_url, True)
    return Params(calls or 500, agents or 50, 5000, 500, redis_url, False)


async def run(p: Params, progress: bool = True) -> Report:
    """Every measurement in turn, each on its own daemon; Redis parts are skipped (and listed)
    when the Redis at `p.redis_url` does not answer."""
    report = Report(params=asdict(p))
    redis_up = reachable(p.redis_url)
    if not redis_up:
        report.skipped.append(f"Redis at {p.redis_url} is not reachable: no Redis figures")
    say = _printer(progress)

    say("floor")
    report.figures.append(floor.ami_parse(p.floor_samples * 10, p.warmup))
    if redis_up:
        report.figures.append(await floor.redis_get(p.redis_url, p.floor_samples, p.warmup))
    report.figures += await floor.ws_frames(p.floor_samples, p.warmup)

    say("ring-to-pop, memory cache")
    report.figures += await _settled(cases.memory_cache(p.calls, p.agents))
    if redis_up:
        say("ring-to-pop, Redis cache")
        report.figures += await _settled(cases.redis_cache(p.calls, p.agents, p.redis_url))
    say("ring-to-pop from the fake Asterisk (AMI)")
    report.figures += await _settled(cases.ami_feed(p.calls, p.agents))

    for mode, what in burst.MODES.items():
        say(f"burst of {p.calls} calls to {p.agents} agents, {what}")
        figure, delivery = await _settled(burst.burst(p.calls, p.agents, mode))
        report.figures.append(figure)
        report.deliveries[figure.name] = delivery
    return report


async def _settled(work: Coroutine[Any, Any, T]) -> T:
    """Run one case on a quiet loop: collect garbage and let stragglers finish first."""
    gc.collect()
    await asyncio.sleep(0.05)
    return await work


def reachable(url: str) -> bool:
    """True when something accepts a TCP connection at the URL's (loopback) host and port."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise ValueError(f"the benchmark only talks to loopback services, not {host}")
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _printer(enabled: bool) -> Callable[[str], None]:
    def say(what: str) -> None:
        if enabled:
            print(f"... {what}", file=sys.stderr, flush=True)

    return say
