"""Latency samples to figures: percentiles and throughput."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured thing: latency percentiles in milliseconds and a rate per second.

    `rate_per_s` is how many were done per second of wall time over the whole measured run
    (sequential runs: one at a time, so it is about 1 / mean latency; bursts: the real rate).
    """

    group: str
    name: str
    n: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    rate_per_s: float
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending, non-empty sequence."""
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(
    group: str, name: str, samples_s: Iterable[float], elapsed_s: float, note: str = ""
) -> Figure:
    """Figures from latency samples in seconds; `elapsed_s` is the wall time of the whole run."""
    ordered = sorted(samples_s)
    if not ordered:
        raise ValueError(f"{group}/{name}: no samples")
    ms = [s * 1000 for s in ordered]
    return Figure(
        group=group,
        name=name,
        n=len(ms),
        p50_ms=round(percentile(ms, 50), 4),
        p90_ms=round(percentile(ms, 90), 4),
        p99_ms=round(percentile(ms, 99), 4),
        max_ms=round(ms[-1], 4),
        mean_ms=round(sum(ms) / len(ms), 4),
        rate_per_s=round(len(ms) / elapsed_s, 1) if elapsed_s > 0 else 0.0,
        note=note,
    )
