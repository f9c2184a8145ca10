"""Throughput: a burst of calls emitted at once, each ringing one of many agents.

Every call of the burst is handed to `Daemon.emit` in one go (as a PBX reader would after a large
read), then the harness waits until every agent holds every pop meant for it. Reported: the pop
rate over the burst, each call's emit-to-pop latency under that load, and the delivery check:
each agent got exactly its calls, none twice, none meant for someone else, and its `seq` numbers
have no gap.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.clients import AgentPool
from bench.rig import WITHHELD, RigOptions, agent_id, extension, number, running
from bench.ring import SOURCE, describe, emitted_pop, section_statuses
from bench.stats import Figure, summarize
from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind

GROUP = "burst"
WAIT_S = 30.0


@dataclass
class Delivery:
    """The correctness check of one burst; `ok` when nothing was lost, doubled or misrouted."""

    calls: int
    agents: int
    delivered: int = 0
    missing: int = 0
    duplicated: int = 0
    misrouted: int = 0
    seq_gaps: int = 0
    tabs_closed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        lost = self.missing + self.duplicated + self.misrouted + self.seq_gaps
        return lost == 0 and not self.tabs_closed

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


MODES = {
    "hit": "cache hit",  # every caller rung once beforehand: the burst is all cache hits
    "miss": "cache miss",  # nothing cached: every call of the burst fans out to the connectors
    "withheld": "withheld callers",  # no call-log read, no lookup: the delivery path alone
}


async def burst(calls: int, agents: int, mode: str) -> tuple[Figure, Delivery]:
    """One burst on a fresh daemon, in one of the :data:`MODES`."""
    distinct = min(calls, 1000)
    options = RigOptions(agents=agents, numbers=distinct)
    async with running(options) as (daemon, pool):
        if mode == "hit":
            await _warm(daemon, pool, distinct, agents)
        plan = {
            f"burst.{k}": (WITHHELD if mode == "withheld" else number(k % distinct), k % agents)
            for k in range(calls)
        }
        sent = {cid: pool.expect("pop", agent_id(i), cid) for cid, (_, i) in plan.items()}
        t0 = time.perf_counter()
        for call_id, (caller, i) in plan.items():
            event = CallEvent(SOURCE, call_id, EventKind.RINGING, caller, endpoint=extension(i))
            daemon.emit(event)
        done, _ = await asyncio.wait(sent.values(), timeout=WAIT_S)
        arrivals = [f.result() for f in done]
        elapsed = (max(arrivals) - t0) if arrivals else WAIT_S
        await asyncio.sleep(0.2)  # anything arriving twice or at the wrong agent shows up now
        delivery = check(pool, plan)
        statuses: Counter[str] = Counter()
        for call_id, (_, i) in plan.items():
            statuses.update(section_statuses(pool.tabs[agent_id(i)].cards.get(call_id, {})))
    name = f"{calls} calls to {agents} agents, {MODES[mode]}"
    samples = [t - t0 for t in arrivals]
    return summarize(GROUP, name, samples, elapsed, describe(statuses)), delivery


async def _warm(daemon: Daemon, pool: AgentPool, distinct: int, agents: int) -> None:
    """Ring every caller once, one at a time, until its pop: their cards are then cached."""
    for k in range(distinct):
        await emitted_pop(daemon, pool, number(k), k % agents)


def check(pool: AgentPool, plan: dict[str, tuple[str, int]]) -> Delivery:
    """Compare what each tab received with what was meant for it."""
    report = Delivery(calls=len(plan), agents=len(pool.tabs))
    wanted: dict[str, set[str]] = {a: set() for a in pool.tabs}
    for call_id, (_, i) in plan.items():
        wanted[agent_id(i)].add(call_id)
    for agent, tab in pool.tabs.items():
        got = {cid: len(times) for cid, times in tab.pops.items() if cid.startswith("burst.")}
        report.delivered += sum(1 for cid in got if cid in wanted[agent])
        report.missing += len(wanted[agent] - got.keys())
        report.duplicated += sum(n - 1 for n in got.values() if n > 1)
        report.misrouted += len(got.keys() - wanted[agent])
        report.seq_gaps += gaps(tab.seqs)
    report.tabs_closed = sorted(pool.closed_early)
    return report


def gaps(seqs: list[int]) -> int:
    """How many times a seq is not the one before it plus one."""
    return sum(1 for a, b in itertools.pairwise(seqs) if b != a + 1)
