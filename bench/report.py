"""The benchmark's result: the floor, each case's figures as ratios to it, the daemon's CPU and
memory, the delivery checks and the issue's targets; as a table for people, as JSON for scripts
and as a Markdown table for bench/README.md."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cases import P99_LIMIT_MS, CaseResult
from bench.floor import PARTS
from bench.stats import Figure
from bench.targets import targets

QUANTILES = ("p50_ms", "p90_ms", "p99_ms", "max_ms")


@dataclass
class Report:
    params: dict[str, Any]
    floor_parts: list[Figure] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S %z"))
    seconds: float = 0.0

    def floor(self) -> dict[str, float] | None:
        """The floor per percentile: the sum of its parts' percentiles (None without all)."""
        names = {f.name for f in self.floor_parts}
        if not set(PARTS) <= names:
            return None
        return {q: round(sum(getattr(f, q) for f in self.floor_parts), 4) for q in QUANTILES}

    def ratios(self, latency: Figure) -> dict[str, float]:
        floor = self.floor()
        if floor is None:
            return {}
        return {q: round(getattr(latency, q) / floor[q], 1) for q in QUANTILES if floor[q]}

    def ok(self) -> bool:
        """False when a case lost, doubled or misrouted a pop (the exit status says so)."""
        return all(c.stretch is None or c.stretch.delivery.ok for c in self.cases)

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "seconds": round(self.seconds, 1),
            "machine": machine(),
            "params": self.params,
            "floor_parts": [f.to_json() for f in self.floor_parts],
            "floor_ms": self.floor(),
            "cases": [self._case_json(c) for c in self.cases],
            "targets": targets(self),
            "skipped": self.skipped,
        }

    def _case_json(self, c: CaseResult) -> dict[str, Any]:
        out: dict[str, Any] = {
            "case": c.case,
            "name": c.name,
            "agents": c.agents,
            "supervisors": c.supervisors,
            "skipped": c.skipped,
            "peak_rss_kib": c.peak_rss_kib,
            "extra": c.extra,
            "problems": c.problems,
        }
        s = c.stretch
        if s is not None:
            out |= {
                "latency": s.latency.to_json() if s.latency else None,
                "over_floor": self.ratios(s.latency) if s.latency else {},
                "offered_per_s": s.offered_per_s,
                "achieved_per_s": s.achieved_per_s,
                "pops_per_s": s.pops_per_s,
                "cpu_s": s.cpu_s,
                "harness_cpu_s": s.harness_cpu_s,
                "cpu_ms_per_pop": s.cpu_ms_per_pop,
                "pbx_lag_ms": s.pbx_lag_ms,
                "sections": s.sections,
                "board_frames": s.boards,
                "board_bytes": s.board_bytes,
                "delivery": s.delivery.to_json(),
            }
        return out

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        path.with_suffix(".md").write_text(self.markdown() + "\n", encoding="utf-8")

    # -- for people --------------------------------------------------------------------------

    def rows(self) -> list[list[str]]:
        """The table: a header, the floor, one row per case (every row as long as the header)."""
        head = [
            "case",
            "what",
            "n",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "pops/s",
            "CPU s",
            "harness CPU s",
            "CPU ms/pop",
            "peak RSS MiB",
            "delivery",
        ]
        rows = [head]
        floor = self.floor()
        if floor is not None:
            n = str(min(f.n for f in self.floor_parts))
            rows.append(
                [
                    "floor",
                    " + ".join(PARTS),
                    n,
                    *(f"{floor[q]:.3f}" for q in QUANTILES),
                    *[""] * 6,
                ]
            )
        for c in self.cases:
            rows.append(self._row(c))
        return rows

    def _row(self, c: CaseResult) -> list[str]:
        s = c.stretch
        if s is None:
            shown = f"skipped: {c.skipped}" if c.skipped else "timings below"
            return [c.case, c.name, *[""] * 10, shown]
        cells = ["-"] * 4
        if s.latency is not None:
            ratio = self.ratios(s.latency)
            cells = [_ms(getattr(s.latency, q), ratio.get(q)) for q in QUANTILES]
        d = s.delivery
        verdict = (
            "ok"
            if d.ok
            else (
                f"LOSS: {d.missing} missing, {d.duplicated} twice, "
                f"{d.misrouted} misrouted, {d.seq_gaps} seq gaps, "
                f"{len(d.tabs_closed)} tabs closed"
            )
        )
        per_pop = f"{s.cpu_ms_per_pop:.2f}" if s.cpu_ms_per_pop is not None else "-"
        return [
            c.case,
            c.name,
            f"{d.delivered}/{d.calls}",
            *cells,
            f"{s.pops_per_s:g}",
            f"{s.cpu_s:.1f}",
            f"{s.harness_cpu_s:.1f}",
            per_pop,
            f"{c.peak_rss_kib / 1024:.0f}",
            verdict,
        ]

    def text(self) -> str:
        rows = self.rows()
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in rows
        ]
        lines.insert(1, "-" * len(lines[0]))
        lines += ["", "(x) is the ratio to the floor at the same percentile.", *self._notes()]
        lines += ["", "targets (issue 11):"]
        for t in targets(self):
            lines.append(f"  [{t['verdict']}] {t['target']}: {t['measured']}")
        lines += [f"skipped: {s}" for s in self.skipped]
        return "\n".join(lines)

    def _notes(self) -> list[str]:
        out = []
        for c in self.cases:
            if c.stretch is not None:
                shown = ", ".join(f"{k} {v}" for k, v in sorted(c.stretch.sections.items()))
                out.append(f"case {c.case} sections: {shown or 'none'}")
            if "kib_per_agent" in c.extra:
                out.append(
                    f"case {c.case}, {c.agents} agents: {c.extra['kib_per_agent']} KiB "
                    f"per idle tab, connected in {c.extra['connect']['seconds']} s"
                )
            out += [f"case {c.case} daemon logged: {p}" for p in c.problems]
            if "report_s" in c.extra:
                shown = ", ".join(f"{k} {v:.2f} s" for k, v in c.extra["report_s"].items())
                made = f"loaded with the others in {c.extra['generate_s']} s"
                out.append(f"case {c.case} {c.extra['database']} ({made}): {shown}")
        if any(c.case == "4" for c in self.cases):
            out.append(f"case 4 stops at the first rate whose p99 passes {P99_LIMIT_MS:g} ms")
        return out

    def markdown(self) -> str:
        rows = self.rows()
        out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        out += ["", "| target | measured | met |", "|---|---|---|"]
        out += [f"| {t['target']} | {t['measured']} | {t['verdict']} |" for t in targets(self)]
        return "\n".join(out)


def _ms(value: float, ratio: float | None) -> str:
    shown = f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return f"{shown} ({ratio:g}x)" if ratio is not None else shown


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
