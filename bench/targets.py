"""The targets of issue 11, read off one run's figures: met, not met, or not measured."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.cases import P99_LIMIT_MS, CaseResult

SLOWEST_ANSWERING_MS = 120.0  # case 2's slowest connector
DEADLINE_MS = 400.0  # cases 2 and 3
MARGIN_MS = 5.0
TARGET_RATE = 400.0
FLATNESS = 1.25
KIB_PER_AGENT = 64.0
DAILY_REPORT_S = 2.0


def targets(report: Any) -> list[dict[str, str]]:
    """One line per target of the issue (`report` is a :class:`bench.report.Report`)."""
    floor: Mapping[str, float] | None = report.floor()
    cases: Sequence[CaseResult] = report.cases
    out = [
        _hit(floor, _case(cases, "1")),
        _near(
            _case(cases, "2"),
            SLOWEST_ANSWERING_MS,
            "cache miss: p99 within 5 ms of the "
            "slowest connector answering before its deadline (120 ms)",
        ),
        _near(
            _case(cases, "3"),
            DEADLINE_MS,
            "a hanging connector: p99 within the deadline (400 ms) plus 5 ms",
        ),
        _rate([c for c in cases if c.case == "4"]),
        *_flat([c for c in cases if c.case == "5"]),
        _nodes([c for c in cases if c.case == "6" and c.stretch is not None]),
        _reports([c for c in cases if c.case == "7" and "report_s" in c.extra]),
    ]
    return out


def _nodes(runs: Sequence[CaseResult]) -> dict[str, str]:
    """Case 6: two nodes' p99 within 25 % of one node's, and each node's CPU per pop of its own
    agents no higher than one node's CPU per pop."""
    target = "two nodes on one Redis: one node's p99, and CPU per pop on each no higher"
    if len(runs) < 2:
        return _verdict(target, None, "case 6 did not run")
    one, two = runs[0], runs[1]
    l1 = one.stretch.latency if one.stretch else None
    l2 = two.stretch.latency if two.stretch else None
    base = one.stretch.cpu_ms_per_pop if one.stretch else None
    each = two.extra.get("node_cpu_ms_per_own_pop") or []
    if l1 is None or l2 is None or base is None or not each or None in each:
        return _verdict(target, None, "no pops")
    measured = (
        f"p99 {l2.p99_ms:.1f} ms vs one node's {l1.p99_ms:.1f} ms; CPU ms per own pop "
        f"{', '.join(f'{c:.1f}' for c in each)} vs one node's {base:.1f}"
    )
    met = l2.p99_ms <= l1.p99_ms * FLATNESS and all(c <= base for c in each)
    return _verdict(target, met, measured)


def _reports(runs: Sequence[CaseResult]) -> dict[str, str]:
    """Case 7: every report of one day under 2 s, on each database."""
    target = f"a daily report under {DAILY_REPORT_S:g} s on a month of a 500-agent center"
    if not runs:
        return _verdict(target, None, "case 7 did not run")
    daily = {
        (c.extra["database"], name): seconds
        for c in runs
        for name, seconds in c.extra["report_s"].items()
        if "one day" in name
    }
    worst = max(daily, key=lambda k: daily[k])
    measured = f"slowest: {worst[1]} on {worst[0]}, {daily[worst]:.2f} s"
    return _verdict(target, daily[worst] < DAILY_REPORT_S, measured)


def _case(cases: Sequence[CaseResult], number: str) -> CaseResult | None:
    return next((c for c in cases if c.case == number and c.stretch is not None), None)


def _verdict(target: str, met: bool | None, measured: str) -> dict[str, str]:
    verdict = "not measured" if met is None else ("met" if met else "NOT met")
    return {"target": target, "measured": measured, "verdict": verdict}


def _hit(floor: Mapping[str, float] | None, case: CaseResult | None) -> dict[str, str]:
    target = "cache hit, 50 calls/s, 1,000 agents: p50 within 2x the floor, p99 within 3x"
    latency = case.stretch.latency if case and case.stretch else None
    if floor is None or latency is None:
        return _verdict(target, None, "no floor or no pops")
    p50, p99 = latency.p50_ms / floor["p50_ms"], latency.p99_ms / floor["p99_ms"]
    measured = f"p50 {p50:.1f}x, p99 {p99:.1f}x the floor"
    return _verdict(target, p50 <= 2 and p99 <= 3, measured)


def _near(case: CaseResult | None, base_ms: float, target: str) -> dict[str, str]:
    latency = case.stretch.latency if case and case.stretch else None
    if latency is None:
        return _verdict(target, None, "no pops")
    over = latency.p99_ms - base_ms
    measured = f"p99 {latency.p99_ms:.1f} ms ({over:+.1f} ms)"
    return _verdict(target, over <= MARGIN_MS, measured)


def _rate(steps: Sequence[CaseResult]) -> dict[str, str]:
    target = f"at least {TARGET_RATE:g} calls/s with p99 under {P99_LIMIT_MS:g} ms"
    good = [
        c.extra["rate"]
        for c in steps
        if c.stretch
        and c.stretch.latency
        and c.stretch.delivery.ok
        and c.stretch.latency.p99_ms < P99_LIMIT_MS
    ]
    if not steps:
        return _verdict(target, None, "no ramp")
    best = max(good, default=0.0)
    tried = ", ".join(f"{c.extra['rate']:g}" for c in steps)
    measured = f"highest rate under the limit: {best:g} calls/s (tried {tried})"
    return _verdict(target, best >= TARGET_RATE, measured)


def _flat(points: Sequence[CaseResult]) -> list[dict[str, str]]:
    target = "latency flat (within 25 %) from 100 to 10,000 agents, with or without board tabs"
    mem_target = f"under {KIB_PER_AGENT:g} KiB per idle agent connection"
    measured = [c for c in points if c.stretch and c.stretch.latency]
    if len(measured) < 2:
        return [_verdict(target, None, "fewer than two points"), _verdict(mem_target, None, "-")]
    spreads = []
    for q in ("p50_ms", "p99_ms"):
        values = [
            getattr(c.stretch.latency, q) for c in measured if c.stretch and c.stretch.latency
        ]
        spreads.append((q[:3], max(values) / min(values) if min(values) > 0 else float("inf")))
    flat = all(s <= FLATNESS for _, s in spreads)
    shown = ", ".join(f"{q} max/min {s:.2f}" for q, s in spreads)
    kib = [c.extra["kib_per_agent"] for c in points if "kib_per_agent" in c.extra]
    worst = max(kib, default=0.0)
    return [
        _verdict(target, flat, f"over {len(measured)} points: {shown}"),
        _verdict(
            mem_target, worst < KIB_PER_AGENT if kib else None, f"at most {worst:.1f} KiB per tab"
        ),
    ]
