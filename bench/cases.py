"""The cases of issue 11, each on a daemon of its own (a fresh `screenpop run` process).

1. cache hits at 50 calls/s with 1,000 agents connected;
2. cache misses, three `http` connectors answering in 20, 50 and 120 ms (deadline 400 ms) beside
   the `sql` connector on SQLite;
3. the same with the 120 ms connector hanging forever: the pop goes out at its deadline;
4. a ramp of call rates (cache hits) until p99 passes 50 ms;
5. idle agents connected: 100, 1,000, 10,000, the pop latency at each and the memory per agent;
   the same with 100 supervisor tabs watching the board;
6. two nodes on one Redis, agents split across them (:mod:`bench.nodes`);
7. reports on a month of a 500-agent center in SQLite and PostgreSQL (:mod:`bench.reports`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import HttpLatency, Setup, agent_id, free_port, number, token, write_config
from bench.daemon import DaemonProcess, running
from bench.measure import Parts, Stretch, close_tabs, connect_tabs, traffic

CONNECTORS = (HttpLatency("crm", 20), HttpLatency("sales", 50), HttpLatency("credit", 120))
HANGING = (HttpLatency("crm", 20), HttpLatency("sales", 50), HttpLatency("credit", 0, hang=True))
# Sized for the traffic: lookups at once beyond 8 (the default) would queue at 50 calls/s.
OPTIONS = {"max_concurrency": 64}
# Every pop of case 3 meets the hang: the breaker would otherwise skip the connector after five.
HANG_OPTIONS = {"breaker_failures": 1_000_000, "late_ms": 600}
WARM_AT_ONCE = 8  # card API lookups at once while the cache is filled
P99_LIMIT_MS = 50.0  # the ramp stops at the first rate whose p99 passes this


@dataclass(frozen=True)
class Sizes:
    """How big each case is; :func:`sizes` has the full and the quick ones."""

    agents: int  # case 1
    ramp_agents: int  # cases 2, 3 and 4
    idle: tuple[tuple[int, int], ...]  # case 5: (agents, board tabs) per daemon
    seconds: float  # each measured stretch of cases 1, 2 and 3
    idle_seconds: float  # case 5
    ramp_seconds: float
    rate: float  # cases 1, 2, 3 and 5
    rates: tuple[float, ...]  # case 4
    pool: int  # distinct callers of the cache-hit cases
    warm_up_s: float  # unmeasured traffic on each new daemon
    ring_s: float = 1.0  # how long each agent's phone rings before the answer
    talk_s: float = 0.5
    ramp_stops: bool = True  # at the first rate over the p99 limit (quick: every rate runs)
    report_center: tuple[int, int, int] = (500, 30, 67)  # case 7: agents, days, calls a day each


def sizes(quick: bool) -> Sizes:
    if quick:  # every path once, as fast as it goes: the smoke test
        quick = Sizes(6, 4, ((9, 2),), 0.5, 0.5, 0.5, 20.0, (20.0, 40.0), 30, 0.0, 0.5, 0.2, False)
        return dataclasses.replace(quick, report_center=(6, 2, 20))
    idle = tuple((agents, tabs) for tabs in (0, 100) for agents in (100, 1000, 10_000))
    return Sizes(1000, 200, idle, 20.0, 10.0, 8.0, 50.0, (50, 100, 200, 400, 800), 600, 1.0)


@dataclass
class CaseResult:
    """One row of the result: what ran and what it measured."""

    case: str
    name: str
    agents: int
    supervisors: int = 0
    stretch: Stretch | None = None
    peak_rss_kib: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class Context:
    """What every case shares in one run."""

    parts: Parts
    sizes: Sizes
    folder: Path
    cache: dict[str, Any]
    shared_cache: bool  # Redis: cards cached by one daemon are hits for the next
    postgres_url: str = ""  # the shared store of case 6 ("" = not reachable: case 6 skipped)
    warmed: bool = False
    warm_statuses: dict[str, int] = field(default_factory=dict)
    _fresh: itertools.count[int] = field(default_factory=lambda: itertools.count(10_000))
    _labels: itertools.count[int] = field(default_factory=itertools.count)

    def pool(self) -> list[str]:
        return [number(i) for i in range(self.sizes.pool)]

    def fresh(self, n: int) -> list[str]:
        """`n` callers never seen before in this run (cache misses)."""
        return [number(next(self._fresh)) for _ in range(n)]


@contextlib.asynccontextmanager
async def daemon_for(ctx: Context, setup: Setup) -> AsyncIterator[DaemonProcess]:
    """A daemon on this setup, logged in to the fake Asterisk; its tabs are closed after."""
    folder = ctx.folder / f"daemon-{next(ctx._labels)}"
    folder.mkdir(parents=True)
    port = free_port()
    parts = ctx.parts
    config = write_config(setup, folder, port, parts.pbx_port, parts.office_url, ctx.cache)
    counts = await parts.pbx.call("counts")
    async with running(config, port) as daemon:
        await parts.pbx.call("wait_login", **counts)
        try:
            yield daemon
        finally:
            await close_tabs(parts)


async def warm(ctx: Context, daemon: DaemonProcess, agents: int) -> None:
    """Fill the cache with the pool's cards through the card API (once per run on Redis: the
    next daemons find them there), then a little unmeasured traffic so the new daemon's first
    pops are not the ones measured."""
    if not ctx.warmed:
        ctx.warm_statuses = await ctx.parts.clients[0].call(
            "warm_cards",
            port=daemon.port,
            agent=agent_id(0),
            token=token(agent_id(0)),
            numbers=ctx.pool(),
            at_once=WARM_AT_ONCE,
        )
        ctx.warmed = ctx.shared_cache
        await asyncio.sleep(1.0)  # late answers land in the cache
    if ctx.sizes.warm_up_s:
        s = ctx.sizes
        pool = ctx.pool()
        await drive(ctx, daemon, "warm", s.rate, s.warm_up_s, pool, agents, profiled=False)


async def drive(
    ctx: Context,
    daemon: DaemonProcess,
    name: str,
    rate: float,
    seconds: float,
    callers: list[str],
    agents: int,
    short: bool = False,
    others: Sequence[DaemonProcess] = (),
    profiled: bool = True,
) -> Stretch:
    """One stretch of traffic with this run's call lives (shorter ones for the ramp), served by
    `daemon` and any `others` (the nodes of a cluster)."""
    s = ctx.sizes
    ring_s, talk_s = (min(0.3, s.ring_s), 0.2) if short else (s.ring_s, s.talk_s)
    daemons = [daemon, *others]
    parts = ctx.parts
    return await traffic(
        parts, daemons, name, rate, seconds, callers, agents, ring_s, talk_s, profiled
    )


def finish(result: CaseResult, daemon: DaemonProcess) -> CaseResult:
    result.peak_rss_kib = daemon.memory_kib()["VmHWM"]
    result.problems = daemon.problems()
    return result


async def cache_hits(ctx: Context) -> list[CaseResult]:
    s = ctx.sizes
    setup = Setup(agents=s.agents, http=CONNECTORS, connector_options=OPTIONS)
    name = f"cache hit, {s.rate:g} calls/s, {s.agents} agents"
    async with daemon_for(ctx, setup) as daemon:
        tabs = await connect_tabs(ctx.parts, daemon.port, s.agents, 0)
        await warm(ctx, daemon, s.agents)
        stretch = await drive(ctx, daemon, name, s.rate, s.seconds, ctx.pool(), s.agents)
        result = CaseResult("1", name, s.agents, stretch=stretch, extra={"connect": tabs})
        return [finish(result, daemon)]


async def cache_misses(ctx: Context, hanging: bool = False) -> list[CaseResult]:
    s = ctx.sizes
    setup = Setup(
        agents=s.ramp_agents,
        http=HANGING if hanging else CONNECTORS,
        connector_options=OPTIONS,
        hang_options=HANG_OPTIONS,
    )
    if hanging:
        case, name = "3", "cache miss, one connector hanging (deadline 400 ms)"
    else:
        case, name = "2", "cache miss, connectors 20/50/120 ms (deadline 400 ms)"
    async with daemon_for(ctx, setup) as daemon:
        await connect_tabs(ctx.parts, daemon.port, s.ramp_agents, 0)
        await warm(ctx, daemon, s.ramp_agents)
        callers = ctx.fresh(max(1, round(s.rate * s.seconds)))
        stretch = await drive(ctx, daemon, name, s.rate, s.seconds, callers, s.ramp_agents)
        return [finish(CaseResult(case, name, s.ramp_agents, stretch=stretch), daemon)]


async def ramp(ctx: Context) -> list[CaseResult]:
    """Rising call rates on one daemon (short calls: rings of 0.3 s, 0.2 s of talk), until a
    rate's p99 passes :data:`P99_LIMIT_MS` or it loses a pop."""
    s = ctx.sizes
    setup = Setup(agents=s.ramp_agents, http=CONNECTORS, connector_options=OPTIONS)
    results: list[CaseResult] = []
    async with daemon_for(ctx, setup) as daemon:
        await connect_tabs(ctx.parts, daemon.port, s.ramp_agents, 0)
        await warm(ctx, daemon, s.ramp_agents)
        for rate in s.rates:
            name = f"ramp, cache hit, {rate:g} calls/s, {s.ramp_agents} agents"
            pool, agents = ctx.pool(), s.ramp_agents
            stretch = await drive(ctx, daemon, name, rate, s.ramp_seconds, pool, agents, True)
            result = CaseResult("4", name, s.ramp_agents, stretch=stretch, extra={"rate": rate})
            results.append(finish(result, daemon))
            latency = stretch.latency
            over = latency is None or latency.p99_ms > P99_LIMIT_MS or not stretch.delivery.ok
            if over and s.ramp_stops:
                break
            await asyncio.sleep(1.0)
    return results


async def idle_agents(ctx: Context) -> list[CaseResult]:
    """Pops at the case's rate with many tabs open; the memory each idle tab costs."""
    s = ctx.sizes
    return [await _idle(ctx, agents, supervisors) for agents, supervisors in s.idle]


async def _idle(ctx: Context, agents: int, supervisors: int) -> CaseResult:
    s = ctx.sizes
    setup = Setup(
        agents=agents, supervisors=supervisors, http=CONNECTORS, connector_options=OPTIONS
    )
    board = f", {supervisors} board tabs" if supervisors else ""
    name = f"idle agents: {agents} connected{board}, {s.rate:g} calls/s, cache hit"
    async with daemon_for(ctx, setup) as daemon:
        before = daemon.memory_kib()["VmRSS"]
        tabs = await connect_tabs(ctx.parts, daemon.port, agents, 0)
        await asyncio.sleep(1.0)
        after = daemon.memory_kib()["VmRSS"]
        if supervisors:
            await connect_tabs(ctx.parts, daemon.port, 0, supervisors)
        await warm(ctx, daemon, agents)
        stretch = await drive(ctx, daemon, name, s.rate, s.idle_seconds, ctx.pool(), agents)
        extra = {
            "connect": tabs,
            "rss_before_tabs_kib": before,
            "rss_with_tabs_kib": after,
            "kib_per_agent": round((after - before) / agents, 2),
        }
        result = CaseResult("5", name, agents, supervisors, stretch=stretch, extra=extra)
        return finish(result, daemon)
