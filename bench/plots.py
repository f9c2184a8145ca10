"""PNG plots of a run (needs matplotlib: ``pip install -e '.[bench]'``; `make bench` does it).

* ``latency-vs-rate.png``: case 4, p50/p90/p99 against the call rate;
* ``latency-vs-agents.png``: case 5, p50/p99 against the agents connected, with and without the
  board tabs.

Every latency is drawn as a ratio to the floor (right axis) beside milliseconds (left axis).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.cases import CaseResult

QUANTILES = (("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99"))


def available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def draw(cases: Sequence[CaseResult], floor: dict[str, float] | None, folder: Path) -> list[Path]:
    """Write the plots the run has points for; returns their paths (none without matplotlib)."""
    if not available():
        return []
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    ramp = [c for c in cases if c.case == "4" and c.stretch and c.stretch.latency]
    if ramp:
        rates = [float(c.extra["rate"]) for c in ramp]
        by_rate = {label: (rates, [_get(c, q) for c in ramp]) for q, label in QUANTILES}
        path = folder / "latency-vs-rate.png"
        _plot(
            path,
            by_rate,
            floor,
            "calls per second (cache hits)",
            "Pop latency against the call rate",
            log_x=True,
        )
        written.append(path)
    idle = [c for c in cases if c.case == "5" and c.stretch and c.stretch.latency]
    if idle:
        series: dict[str, tuple[list[float], list[float]]] = {}
        for tabs in sorted({c.supervisors for c in idle}):
            points = sorted((c for c in idle if c.supervisors == tabs), key=lambda c: c.agents)
            xs = [float(c.agents) for c in points]
            suffix = f", {tabs} board tabs" if tabs else ""
            for q, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
                series[label + suffix] = (xs, [_get(c, q) for c in points])
        path = folder / "latency-vs-agents.png"
        _plot(
            path,
            series,
            floor,
            "agents connected",
            "Pop latency against the agents connected (cache hits)",
            log_x=True,
        )
        written.append(path)
    return written


def _get(case: CaseResult, q: str) -> float:
    assert case.stretch is not None and case.stretch.latency is not None
    return float(getattr(case.stretch.latency, q))


def _plot(
    path: Path,
    series: dict[str, tuple[list[float], list[float]]],
    floor: dict[str, float] | None,
    xlabel: str,
    title: str,
    log_x: bool,
) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", label=label)
    xs = sorted({x for xs, _ in series.values() for x in xs})
    if log_x:
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs, [f"{x:g}" for x in xs])
    ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel("ms from AgentCalled written to pop held")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    if floor and floor.get("p50_ms"):
        base = floor["p50_ms"]
        ax.axhline(
            base, color="grey", linestyle="--", linewidth=1, label=f"floor p50 {base:.2f} ms"
        )
        twin = ax.secondary_yaxis("right", functions=(_scaled(1 / base), _scaled(base)))
        twin.set_ylabel("x floor p50")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _scaled(factor: float) -> Any:
    """`values * factor` for whatever matplotlib hands the secondary axis (numpy arrays)."""

    def scale(values: Any) -> Any:
        return values * factor

    return scale


def describe(paths: Sequence[Path]) -> dict[str, Any]:
    return {"plots": [str(p) for p in paths], "matplotlib": available()}
