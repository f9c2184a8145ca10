"""The ring-to-pop cases, each on its own daemon: memory cache, Redis cache, a real AMI feed.

Every case first rings each caller once (nothing cached: the three connectors are asked, the
"cache miss" figure), then rings the same callers again (every section served from the cache:
the "cache hit" figure).
"""

from __future__ import annotations

import asyncio
import functools
import logging

from bench.clients import AgentPool
from bench.components import hot_path
from bench.rig import (
    WITHHELD,
    RigOptions,
    agent_id,
    delete_prefix,
    extension,
    number,
    redis_prefix,
    running,
)
from bench.ring import Timed, emitted_pop, series, timed_pop
from bench.stats import Figure
from screenpop.daemon import Daemon
from tests.fakes.ami_scenarios import Pbx
from tests.fakes.ami_server import FakeAsterisk

log = logging.getLogger(__name__)

AMI_USER, AMI_SECRET = "screenpop", "bench-secret"


async def memory_cache(calls: int, agents: int) -> list[Figure]:
    """Miss, hit and withheld caller, `calls` each, on the in-process cache."""
    callers = [number(i) for i in range(calls)]
    async with running(RigOptions(agents=agents, numbers=calls)) as (daemon, pool):
        one = functools.partial(emitted_pop, daemon, pool)
        return [
            await series("cache miss, 3 connectors (1/3/5 ms), memory", callers, agents, one),
            await series("cache hit, memory", callers, agents, one),
            await series("withheld caller (no lookup)", [WITHHELD] * calls, agents, one),
            *await hot_path(daemon, callers, "memory"),
        ]


async def redis_cache(calls: int, agents: int, url: str) -> list[Figure]:
    """Miss and hit on the real Redis under a key prefix of this run, deleted afterwards."""
    callers = [number(i) for i in range(calls)]
    prefix = redis_prefix()
    options = RigOptions(agents=agents, numbers=calls, cache_url=url, key_prefix=prefix)
    try:
        async with running(options) as (daemon, pool):
            one = functools.partial(emitted_pop, daemon, pool)
            return [
                await series("cache miss, 3 connectors (1/3/5 ms), Redis", callers, agents, one),
                await series("cache hit, Redis", callers, agents, one),
                *await hot_path(daemon, callers, "Redis"),
            ]
    finally:
        await delete_prefix(url, prefix)


async def ami_feed(calls: int, agents: int) -> list[Figure]:
    """Calls dialled straight to an agent on the fake Asterisk: timed from the moment the fake
    starts writing the call's AMI events to the moment the agent's client holds the pop."""
    pbx = Pbx()
    server = FakeAsterisk(pbx, AMI_USER, AMI_SECRET)
    port = await server.start()
    source = {
        "name": "pbx1",
        "kind": "ami",
        "host": "127.0.0.1",
        "port": port,
        "username": AMI_USER,
        "secret": AMI_SECRET,
    }
    options = RigOptions(agents=agents, numbers=calls, telephony=[source])
    callers = [number(i) for i in range(calls)]
    try:
        async with running(options) as (daemon, pool):
            sources = asyncio.create_task(daemon.run_sources(), name="bench sources")
            try:
                await _logged_in(daemon, server)
                one = functools.partial(_ami_pop, server, pool)
                return [
                    await series("AMI bytes -> pop, cache miss, memory", callers, agents, one),
                    await series("AMI bytes -> pop, cache hit, memory", callers, agents, one),
                ]
            finally:
                sources.cancel()
                await asyncio.gather(sources, return_exceptions=True)
    finally:
        await server.stop()


async def _logged_in(daemon: Daemon, server: FakeAsterisk) -> None:
    """Wait until the AMI source has logged in and finished its first resync."""
    for _ in range(1000):
        if daemon.sources["pbx1"].status.logged_in and server.resyncs >= 1:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the daemon never logged in to the fake Asterisk")


async def _ami_pop(server: FakeAsterisk, pool: AgentPool, caller: str, agent_index: int) -> Timed:
    pbx = server.pbx
    device, ext = extension(agent_index), str(3000 + agent_index)
    call, packets = pbx.direct(caller, "Bench Caller", device, ext, f"Agent {agent_index}")

    async def ring() -> None:
        await server.send(packets)

    async def end() -> None:
        await server.send(pbx.abandon(call))

    return await timed_pop(pool, agent_id(agent_index), call.caller.linkedid, ring, end)
