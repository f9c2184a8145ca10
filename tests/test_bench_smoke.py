"""The benchmark harness runs end to end with tiny counts (no timing asserts: it only has to work
and to report what it measured, delivery checks included)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.report import FLOOR_PARTS
from bench.run import params, run

ROOT = Path(__file__).resolve().parent.parent


async def test_quick_run_measures_every_case_and_delivers_every_pop(redis_url: str) -> None:
    report = await run(params(calls=4, agents=3, quick=True, redis_url=redis_url), progress=False)
    names = {f.name for f in report.figures}
    assert set(FLOOR_PARTS) <= names
    for case in ("cache hit, memory", "cache hit, Redis", "withheld caller (no lookup)"):
        assert case in names
    assert any(n.startswith("AMI bytes -> pop") for n in names)
    assert report.floor() is not None and report.ratios()
    assert all(f.n > 0 and f.p50_ms <= f.max_ms for f in report.figures)
    hit = report.figure("cache hit, memory")
    assert hit is not None and hit.note == "sections: ok+cached=12"
    assert len(report.deliveries) == 3
    assert all(d.ok and d.delivered == 4 for d in report.deliveries.values())
    assert report.skipped == []


def test_command_line_prints_the_table_and_writes_json(tmp_path: Path, redis_url: str) -> None:
    out = tmp_path / "results.json"
    argv = ["--quick", "--calls", "3", "--agents", "2", "--json", str(out), "--quiet"]
    argv += ["--redis-url", redis_url]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "cache hit, memory / floor" in done.stdout
    assert "ring-to-pop: withheld caller" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert {"figures", "floor_ms", "cache_hit_over_floor", "deliveries"} <= result.keys()
    assert all(d["ok"] for d in result["deliveries"].values())
    assert result["params"]["calls"] == 3
