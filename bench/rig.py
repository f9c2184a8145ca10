"""A real daemon on loopback for the benchmark: settings built in code, agents, back office.

The back office is three `StaticConnector`s (tests/fakes/connectors.py) that know every bench
number and answer after 1, 3 and 5 ms. The call log is SQLite in a temporary folder.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.clients import AgentPool
from screenpop.daemon import Daemon
from screenpop.settings import Settings, parse_settings

CONNECTOR = "tests.fakes.connectors:StaticConnector"
CONNECTOR_SLEEP_MS = {"accounting": 1, "sales": 3, "credit": 5}
WITHHELD = "anonymous"


def number(i: int) -> str:
    """The i-th bench caller: a valid New York number (+1 212 2xx xxxx)."""
    return f"+1212{2000000 + i:07d}"


def agent_id(i: int) -> str:
    return f"agent{i:03d}"


def extension(i: int) -> str:
    """The device that rings for agent i, as an AMI `Interface` spells it."""
    return f"PJSIP/{3000 + i}"


def agents(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": agent_id(i),
            "name": f"Agent {i}",
            "extensions": [extension(i), str(3000 + i)],
            "token": f"bench-token-{i}",
        }
        for i in range(count)
    ]


def records(count: int) -> dict[str, dict[str, dict[str, Any]]]:
    """What each connector knows, per connector name: one record per bench number."""
    out: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in CONNECTOR_SLEEP_MS}
    for i in range(count):
        e164, customer = number(i), f"C-{i}"
        out["accounting"][e164] = {"customer_id": customer, "name": f"Customer {i}", "balance": i}
        out["sales"][e164] = {"customer_id": customer, "last_purchase": "Widget", "offer": "Gizmo"}
        out["credit"][e164] = {"customer_id": customer, "terms": "net 30", "limit": 5000}
    return out


@dataclass(frozen=True)
class RigOptions:
    """How one daemon under test is set up."""

    agents: int
    numbers: int  # how many distinct callers the connectors know
    cache_url: str = "memory://"
    key_prefix: str = "screenpop:"
    telephony: Sequence[dict[str, Any]] = ()


def build_settings(options: RigOptions, base_dir: Path) -> Settings:
    known = records(options.numbers)
    raw: dict[str, Any] = {
        "server": {"port": 0, "public_origin": "http://127.0.0.1"},
        "cache": {"url": options.cache_url, "key_prefix": options.key_prefix},
        "store": {"url": f"sqlite+aiosqlite:///{base_dir / 'bench-store.db'}"},
        "connectors": [
            {
                "name": name,
                "kind": CONNECTOR,
                "records": known[name],
                "sleep_ms": sleep_ms,
                "priority": 10 * (i + 1),
            }
            for i, (name, sleep_ms) in enumerate(CONNECTOR_SLEEP_MS.items())
        ],
        "agents": agents(options.agents),
        "telephony": list(options.telephony),
        "base_dir": base_dir,
    }
    return parse_settings(raw, "bench")


@contextlib.asynccontextmanager
async def running(options: RigOptions) -> AsyncIterator[tuple[Daemon, AgentPool]]:
    """A started daemon serving its web app on a loopback port, every agent's tab connected."""
    with tempfile.TemporaryDirectory(prefix="screenpop-bench-") as tmp:
        settings = build_settings(options, Path(tmp))
        logins = [(agent_id(i), f"bench-token-{i}") for i in range(options.agents)]
        async with (
            Daemon(settings) as daemon,
            daemon.web() as port,
            AgentPool().connected(port, logins) as pool,
        ):
            yield daemon, pool


def redis_prefix() -> str:
    """A key prefix no other run shares; delete its keys with :func:`delete_prefix`."""
    return f"screenpop-bench:{uuid.uuid4().hex[:12]}:"


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
