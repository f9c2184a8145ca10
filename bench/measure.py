"""One stretch of measured traffic: the PBX process writes calls at a set rate, the agents'
processes record the pops, and the daemon's CPU time and memory are read from /proc around it.

Per pop: from the PBX writing the call's `AgentCalled` to the agent's client holding the `pop`
frame, both taken with ``time.monotonic_ns()`` in their own processes. The delivery check: every
call popped once, at the agent whose phone rang, and no tab saw a gap in its `seq` numbers.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.config import agent_id, supervisor_id, token
from bench.daemon import DaemonProcess, cpu_seconds
from bench.profile import sampling
from bench.stats import Figure, summarize
from bench.worker import Worker

SETTLE_S = 0.3  # after the last pop, for anything arriving twice or at the wrong agent
ARRIVAL_GRACE_S = 10.0  # after the PBX is done: pops later than this count as missing


@dataclass
class Parts:
    """The long-lived processes of a run (everything but the daemon, which each case starts)."""

    pbx: Worker
    office: Worker
    peer: Worker
    clients: list[Worker]
    pbx_port: int
    office_url: str
    profile: Path | None = None  # --profile: py-spy's samples of each stretch go here


@dataclass
class Delivery:
    """The correctness check of one stretch; `ok` when nothing was lost, doubled or misrouted."""

    calls: int = 0
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


@dataclass
class Stretch:
    """What one stretch of traffic measured."""

    latency: Figure | None
    delivery: Delivery
    offered_per_s: float
    achieved_per_s: float
    pops_per_s: float
    cpu_s: float  # every daemon's, added up
    harness_cpu_s: float  # the PBX, back office and agents' processes over the same time
    pbx_lag_ms: float
    sections: dict[str, int]
    boards: int
    board_bytes: int
    node_cpu_s: list[float] = field(default_factory=list)  # each daemon's, when there are several

    @property
    def cpu_ms_per_pop(self) -> float | None:
        if not self.delivery.delivered:
            return None
        return round(self.cpu_s * 1000 / self.delivery.delivered, 3)


async def connect_tabs(
    parts: Parts, port: int, agents: int | range, supervisors: int
) -> dict[str, Any]:
    """Open the agents' tabs (the first `agents`, or those of the range) and the supervisors',
    spread over the client processes."""
    k = len(parts.clients)
    which = agents if isinstance(agents, range) else range(agents)
    logins = [[agent_id(i), token(agent_id(i))] for i in which]
    sups = [[supervisor_id(i), token(supervisor_id(i))] for i in range(supervisors)]
    results = await asyncio.gather(
        *(
            c.call("connect", port=port, logins=logins[j::k], supervisors=sups[j::k])
            for j, c in enumerate(parts.clients)
        )
    )
    failures = sum(r["failures"] for r in results)
    if failures:
        raise RuntimeError(f"{failures} tabs failed to connect: {results[0]['failed']}")
    return {"tabs": sum(r["tabs"] for r in results), "seconds": max(r["seconds"] for r in results)}


async def close_tabs(parts: Parts) -> None:
    await asyncio.gather(*(c.call("close") for c in parts.clients))


async def traffic(
    parts: Parts,
    daemons: Sequence[DaemonProcess],
    name: str,
    rate: float,
    duration_s: float,
    callers: Sequence[str],
    agents: int,
    ring_s: float = 1.0,
    talk_s: float = 0.5,
    profiled: bool = True,
) -> Stretch:
    """Drive `rate` calls/s for `duration_s` round robin over `agents`; measure the pops (and
    the CPU time of each of the `daemons` serving them; with `--profile`, sample them unless
    `profiled` is off)."""
    await _collect(parts)  # forget anything that came before
    harness = [w.pid for w in (parts.pbx, parts.office, *parts.clients)]
    folder = parts.profile if profiled else None
    async with sampling(folder, name, [d.pid for d in daemons]):
        cpu0, harness0 = [d.cpu_s() for d in daemons], sum(map(cpu_seconds, harness))
        drive = await parts.pbx.call(
            "drive",
            rate=rate,
            duration_s=duration_s,
            callers=list(callers),
            agents=agents,
            ring_s=ring_s,
            talk_s=talk_s,
            timeout_s=duration_s * 20 + 120,
        )
        calls: list[list[Any]] = drive["calls"]
        await _arrived(parts, len(calls))
        cpu1 = [d.cpu_s() for d in daemons]
        harness_cpu_s = sum(map(cpu_seconds, harness)) - harness0
    node_cpu_s = [round(after - before, 3) for after, before in zip(cpu1, cpu0, strict=True)]
    got = await _collect(parts)
    delivery, samples, last_ns = check(calls, got)
    first_ns = calls[0][2] if calls else 0
    span_s = (last_ns - first_ns) / 1e9 if last_ns > first_ns else 0.0
    latency = summarize("pop", name, samples, span_s) if samples else None
    return Stretch(
        latency=latency,
        delivery=delivery,
        offered_per_s=rate,
        achieved_per_s=round(len(calls) / max(drive["wrote_s"], 1e-9), 1)
        if len(calls) > 1
        else rate,
        pops_per_s=round(delivery.delivered / span_s, 1) if span_s else 0.0,
        cpu_s=round(sum(node_cpu_s), 3),
        harness_cpu_s=round(harness_cpu_s, 3),
        pbx_lag_ms=drive["lag_ms"],
        sections=got["sections"],
        boards=got["boards"],
        board_bytes=got["board_bytes"],
        node_cpu_s=node_cpu_s if len(daemons) > 1 else [],
    )


async def _arrived(parts: Parts, expected: int) -> None:
    """Wait until the clients hold `expected` pops (or the grace time passes), then settle."""
    deadline = time.monotonic() + ARRIVAL_GRACE_S
    while time.monotonic() < deadline:
        counts = await asyncio.gather(*(c.call("count") for c in parts.clients))
        if sum(counts) >= expected:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(SETTLE_S)


async def _collect(parts: Parts) -> dict[str, Any]:
    """Every client process's pops since the last collect, merged."""
    results = await asyncio.gather(*(c.call("collect") for c in parts.clients))
    merged: dict[str, Any] = {"pops": {}, "seq_gaps": 0, "boards": 0, "board_bytes": 0}
    sections: Counter[str] = Counter()
    closed: list[str] = []
    for r in results:
        merged["pops"].update(r["pops"])
        for key in ("seq_gaps", "boards", "board_bytes"):
            merged[key] += r[key]
        sections.update(r["sections"])
        closed += r["closed"]
    merged["sections"], merged["closed"] = dict(sections), closed
    return merged


def check(calls: list[list[Any]], got: dict[str, Any]) -> tuple[Delivery, list[float], int]:
    """Compare the pops each tab got with the calls the PBX rang: the delivery check, the
    latency samples (seconds) of the pops that reached the right agent, the last pop's time."""
    rang = {call_id: (agent_id(agent), ring_ns) for call_id, agent, ring_ns in calls}
    seen: Counter[str] = Counter()
    samples: list[float] = []
    report = Delivery(calls=len(calls), seq_gaps=got["seq_gaps"], tabs_closed=got["closed"])
    last_ns = 0
    for agent, pops in got["pops"].items():
        for call_id, pop_ns, _seq in pops:
            if call_id not in rang:
                continue  # a straggler of an earlier stretch
            meant_for, ring_ns = rang[call_id]
            if agent != meant_for:
                report.misrouted += 1
                continue
            seen[call_id] += 1
            if seen[call_id] == 1:
                samples.append((pop_ns - ring_ns) / 1e9)
                last_ns = max(last_ns, pop_ns)
    report.delivered = len(seen)
    report.missing = len(rang) - len(seen)
    report.duplicated = sum(n - 1 for n in seen.values())
    return report, samples, last_ns
