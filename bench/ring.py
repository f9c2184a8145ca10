"""Ring-to-pop, one call at a time: from the moment a ring enters the daemon to the moment the
agent's websocket client holds the `pop`.

Each call rings one agent (round robin), is timed to its pop, then abandoned; the next call starts
once the agent has the `call` message that ends it, so calls never overlap.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.clients import AgentPool
from bench.rig import agent_id, extension
from bench.stats import Figure, summarize
from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind

GROUP = "ring-to-pop"
SOURCE = "bench"
WAIT_S = 10.0
_call_ids = itertools.count(1)

Trigger = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Timed:
    """One call's ring-to-pop time and the card it popped with."""

    seconds: float
    card: dict[str, Any]


async def timed_pop(
    pool: AgentPool, agent: str, call_id: str, ring: Trigger, end: Trigger
) -> Timed:
    """Time `ring()` to `agent`'s pop for `call_id`; then `end()` it and wait for its end."""
    popped = pool.expect("pop", agent, call_id)
    ended = pool.expect("call", agent, call_id)
    t0 = time.perf_counter()
    await ring()
    t1 = await asyncio.wait_for(popped, WAIT_S)
    await end()
    await asyncio.wait_for(ended, WAIT_S)
    return Timed(t1 - t0, pool.tabs[agent].cards[call_id])


async def emitted_pop(daemon: Daemon, pool: AgentPool, caller: str, agent_index: int) -> Timed:
    """A RINGING CallEvent handed to `Daemon.emit`, as a telephony source would."""
    call_id = f"bench.{next(_call_ids)}"

    async def ring() -> None:
        daemon.emit(CallEvent(SOURCE, call_id, EventKind.RINGING, caller, None, extension_of))

    async def end() -> None:
        daemon.emit(CallEvent(SOURCE, call_id, EventKind.ABANDONED, caller))

    extension_of = extension(agent_index)
    return await timed_pop(pool, agent_id(agent_index), call_id, ring, end)


async def series(
    name: str, callers: Sequence[str], agents: int, one: Callable[[str, int], Awaitable[Timed]]
) -> Figure:
    """Run one call per caller, one at a time, round robin over the agents; a figure of it."""
    samples: list[float] = []
    statuses: Counter[str] = Counter()
    start = time.perf_counter()
    for k, caller in enumerate(callers):
        timed = await one(caller, k % agents)
        samples.append(timed.seconds)
        statuses.update(section_statuses(timed.card))
    elapsed = time.perf_counter() - start
    return summarize(GROUP, name, samples, elapsed, describe(statuses))


def section_statuses(card: dict[str, Any]) -> list[str]:
    """`ok`, `ok+cached`, `timeout`... for each section of a popped card; `withheld` if the
    caller was withheld and no section was looked up."""
    sections = card.get("sections") or {}
    if not sections and (card.get("caller") or {}).get("withheld"):
        return ["withheld"]
    return [
        str(s.get("status")) + ("+cached" if s.get("cached") else "") for s in sections.values()
    ]


def describe(statuses: Counter[str]) -> str:
    return "sections: " + ", ".join(f"{k}={v}" for k, v in sorted(statuses.items()))
