"""Case 6: several nodes on one Redis (`[cluster]`), the agents split across them.

Both runs use cluster mode and a shared PostgreSQL store (a scratch database made for the case
and dropped after), so the only difference is the number of nodes: first one node with every
agent on it, then two nodes on the same config (each with its own `SCREENPOP__SERVER__PORT`
and `SCREENPOP__CLUSTER__NODE_ID`, as an operator runs them) with half the agents on each. The
same traffic as case 1 (cache hits). Per node: CPU time per pop of the whole run and per pop
delivered to that node's own agents (the PBX rings its agents round robin, so each half gets
half the calls; the node holding the PBX lease also parses every AMI event).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.engine import make_url

from bench.cases import CONNECTORS, OPTIONS, CaseResult, Context, drive, finish, warm
from bench.config import Setup, free_port, write_config
from bench.daemon import DaemonProcess, running
from bench.measure import Stretch, close_tabs, connect_tabs
from tests.fakes.postgres import scratch_database

LEASE_S = 5.0


@contextlib.asynccontextmanager
async def scratch_store(postgres_url: str) -> AsyncIterator[str]:
    """A database of its own on the PostgreSQL of `postgres_url` (dropped after): its URL."""
    async with scratch_database(postgres_url) as (_host, _port, name):
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)


async def two_nodes(ctx: Context) -> list[CaseResult]:
    name = "two nodes on one Redis, agents split across them"
    if not ctx.shared_cache:
        return [CaseResult("6", name, 0, skipped="needs a reachable Redis (cluster mode)")]
    if not ctx.postgres_url:
        return [CaseResult("6", name, 0, skipped="needs a reachable PostgreSQL (shared store)")]
    async with scratch_store(ctx.postgres_url) as store_url:
        one = await _nodes(ctx, store_url, 1)
        two = await _nodes(ctx, store_url, 2)
    return [one, two]


async def _nodes(ctx: Context, store_url: str, count: int) -> CaseResult:
    s = ctx.sizes
    cluster = {
        "url": ctx.cache["url"],
        "key_prefix": f"{ctx.cache['key_prefix']}cluster-{count}:",
        "lease_s": LEASE_S,
    }
    setup = Setup(
        agents=s.agents,
        http=CONNECTORS,
        connector_options=OPTIONS,
        store_url=store_url,
        cluster=cluster,
    )
    label = "one node" if count == 1 else f"{count} nodes"
    name = f"cluster, {label}, cache hit, {s.rate:g} calls/s, {s.agents} agents"
    async with _cluster(ctx, setup, count) as daemons:
        tabs = [
            await connect_tabs(ctx.parts, d.port, _share(s.agents, count, k), 0)
            for k, d in enumerate(daemons)
        ]
        await warm(ctx, daemons[0], s.agents)
        stretch = await drive_all(ctx, daemons, name)
        result = CaseResult("6", name, s.agents, stretch=stretch, extra=_per_node(stretch, tabs))
        finish(result, daemons[0])
        result.peak_rss_kib = max(d.memory_kib()["VmHWM"] for d in daemons)
        result.problems = [p for d in daemons for p in d.problems()]
        return result


def _share(agents: int, count: int, k: int) -> range:
    """Node k's agents: a contiguous share of them."""
    per = -(-agents // count)
    return range(k * per, min(agents, (k + 1) * per))


async def drive_all(ctx: Context, daemons: list[DaemonProcess], name: str) -> Stretch:
    s = ctx.sizes
    first, *others = daemons
    return await drive(ctx, first, name, s.rate, s.seconds, ctx.pool(), s.agents, others=others)


def _per_node(stretch: Stretch, tabs: list[dict[str, Any]]) -> dict[str, Any]:
    delivered = stretch.delivery.delivered
    cpu = stretch.node_cpu_s or [stretch.cpu_s]
    own = [delivered / len(cpu)] * len(cpu)  # round robin over contiguous halves
    return {
        "connect": tabs,
        "node_cpu_s": cpu,
        "node_cpu_ms_per_pop": [round(c * 1000 / delivered, 3) if delivered else None for c in cpu],
        "node_cpu_ms_per_own_pop": [
            round(c * 1000 / n, 3) if n else None for c, n in zip(cpu, own, strict=True)
        ],
    }


@contextlib.asynccontextmanager
async def _cluster(ctx: Context, setup: Setup, count: int) -> AsyncIterator[list[DaemonProcess]]:
    """`count` daemons on one config, each its own port and node id; one of them logged in to
    the fake Asterisk (the lease holder)."""
    folder = ctx.folder / f"cluster-{count}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    ports = [free_port() for _ in range(count)]
    parts = ctx.parts
    config = write_config(setup, folder, ports[0], parts.pbx_port, parts.office_url, ctx.cache)
    counts = await parts.pbx.call("counts")
    async with contextlib.AsyncExitStack() as stack:
        daemons = []
        for k, port in enumerate(ports):
            env = {
                "SCREENPOP__SERVER__PORT": str(port),
                "SCREENPOP__SERVER__PUBLIC_ORIGIN": f"http://127.0.0.1:{port}",
                "SCREENPOP__CLUSTER__NODE_ID": f"node-{k}",
            }
            node = running(config, port, env, log_name=f"node-{k}.log")
            daemons.append(await stack.enter_async_context(node))
        await parts.pbx.call("wait_login", **counts)
        try:
            yield daemons
        finally:
            await close_tabs(parts)
