"""The benchmark's result: figures, the floor and the ratios to it, delivery checks; as a table
for people and as JSON for scripts."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.burst import Delivery
from bench.stats import Figure, render_table

FLOOR_PARTS = ("AMI event parse", "Redis GET", "ws frame server->client")
ROUND_TRIP = "ws frame round trip"
HIT_CASES = ("cache hit, memory", "cache hit, Redis", "AMI bytes -> pop, cache hit, memory")
PERCENTILES = ("p50_ms", "p90_ms", "p99_ms")


@dataclass
class Report:
    """Everything one run measured."""

    params: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def figure(self, name: str) -> Figure | None:
        return next((f for f in self.figures if f.name == name), None)

    def floor(self, round_trip: bool = False) -> dict[str, float] | None:
        """The floor per percentile: AMI parse + Redis GET + one ws frame (or its round trip)."""
        names = [*FLOOR_PARTS[:2], ROUND_TRIP if round_trip else FLOOR_PARTS[2]]
        parts = [self.figure(n) for n in names]
        if any(p is None for p in parts):
            return None
        return {q: round(sum(getattr(p, q) for p in parts), 4) for q in PERCENTILES}

    def ratios(self) -> dict[str, dict[str, float]]:
        """Each cache-hit case over the floor, per percentile (2.0 = the design's budget)."""
        floor = self.floor()
        out: dict[str, dict[str, float]] = {}
        if floor is None:
            return out
        for name in HIT_CASES:
            fig = self.figure(name)
            if fig is not None:
                out[name] = {q: round(getattr(fig, q) / floor[q], 1) for q in PERCENTILES}
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine(),
            "params": self.params,
            "figures": [f.to_json() for f in self.figures],
            "floor_ms": self.floor(),
            "floor_with_ws_round_trip_ms": self.floor(round_trip=True),
            "cache_hit_over_floor": self.ratios(),
            "deliveries": {k: d.to_json() for k, d in self.deliveries.items()},
            "skipped": self.skipped,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    def text(self) -> str:
        lines = [render_table(self.figures), ""]
        floor = self.floor()
        if floor is not None:
            lines.append(
                "floor (AMI parse + Redis GET + ws frame): "
                + ", ".join(f"{q[:3]} {v:.3f} ms" for q, v in floor.items())
            )
        for name, ratio in self.ratios().items():
            shown = ", ".join(f"{q[:3]} {v:.1f}x" for q, v in ratio.items())
            lines.append(f"{name} / floor: {shown}  (budget: 2x)")
        for name, d in self.deliveries.items():
            verdict = "OK" if d.ok else "LOSS"
            lines.append(
                f"{name}: {verdict}: {d.delivered}/{d.calls} pops delivered to {d.agents} agents, "
                f"missing {d.missing}, duplicated {d.duplicated}, misrouted {d.misrouted}, "
                f"seq gaps {d.seq_gaps}, tabs closed {len(d.tabs_closed)}"
            )
        lines += [f"skipped: {s}" for s in self.skipped]
        notes = [f"  {f.group}: {f.name}: {f.note}" for f in self.figures if f.note]
        return "\n".join([*lines, "", "notes:", *notes])


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }
