"""The benchmark runs end to end in its quick mode: the daemon, the fake PBX, the back office and
the agents' clients each in their own process. No timing is asserted: the run has to measure
every case, deliver every pop once to the right agent, and clean up after itself."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import redis

from bench.config import HttpLatency, Setup, agent_id, to_toml, write_config
from bench.measure import check
from screenpop.settings import parse_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(240)
def test_quick_run_measures_every_case_and_delivers_every_pop(
    tmp_path: Path, redis_url: str, postgres_url: str
) -> None:
    out = tmp_path / "result.json"
    argv = ["--quick", "--json", str(out), "--quiet", "--no-plots", "--redis-url", redis_url]
    argv += ["--postgres-url", postgres_url]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(x) is the ratio to the floor" in done.stdout
    assert "targets (issue 11):" in done.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result["floor_ms"]) == {"p50_ms", "p90_ms", "p99_ms", "max_ms"}
    assert len(result["floor_parts"]) == 3
    cases = {}
    for case in result["cases"]:
        cases.setdefault(case["case"], []).append(case)
    assert sorted(cases) == ["1", "2", "3", "4", "5", "6", "7"]
    for case in result["cases"]:
        if case["case"] == "7":  # reports: no traffic, timings of their own
            continue
        delivery = case["delivery"]
        assert delivery["ok"] and delivery["delivered"] == delivery["calls"] > 0, case
        assert case["latency"]["n"] == delivery["calls"]
        assert case["over_floor"]["p50_ms"] > 0
        assert case["cpu_s"] > 0 and case["harness_cpu_s"] >= 0 and case["peak_rss_kib"] > 0
    # Which sections come from the cache, or miss their deadline, depends on how loaded the
    # machine is (the suite runs beside it); these hold however slow it gets.
    assert "ok+cached" in cases["1"][0]["sections"]
    assert not [s for s in cases["2"][0]["sections"] if s.endswith("+cached")]  # new callers
    assert cases["3"][0]["sections"]["timeout"] >= cases["3"][0]["delivery"]["calls"]
    assert len(cases["4"]) == 2  # both rates of the quick ramp
    (watched,) = cases["5"]  # the quick run has one point: agents and board tabs
    assert watched["extra"]["kib_per_agent"] > 0 and watched["supervisors"] > 0
    assert watched["board_frames"] > 0
    one, two = cases["6"]  # one node in cluster mode, then two with the agents split
    assert len(one["extra"]["node_cpu_s"]) == 1 and len(two["extra"]["node_cpu_s"]) == 2
    assert all(cpu > 0 for cpu in two["extra"]["node_cpu_s"])  # both nodes did work
    sqlite, postgres = cases["7"]  # reports on each database of a generated call log
    for run, database in ((sqlite, "sqlite"), (postgres, "postgresql")):
        assert run["extra"]["database"] == database and run["extra"]["rows"]["calls"] > 0
        assert len(run["extra"]["report_s"]) == 7
    assert "reports on sqlite" in done.stdout and "a daily report under 2 s" in done.stdout
    table, _, verdicts = out.with_suffix(".md").read_text(encoding="utf-8").partition("\n\n")
    assert table.startswith("| case |") and verdicts.startswith("| target |")
    assert len({row.count("|") for row in table.splitlines()}) == 1  # every row has every cell
    client = redis.Redis.from_url(redis_url)
    try:  # the run's keys are gone
        assert not list(client.scan_iter(match=f"{result['params']['key_prefix']}*"))
    finally:
        client.close()


def test_the_delivery_check_counts_what_went_wrong() -> None:
    calls = [["c1", 0, 1_000], ["c2", 1, 2_000], ["c3", 0, 3_000], ["c4", 1, 4_000]]
    got = {
        "pops": {
            agent_id(0): [["c1", 6_000, 1], ["c1", 7_000, 2], ["c2", 8_000, 3], ["old", 1, 4]],
            agent_id(1): [["c4", 9_000, 1]],
        },
        "seq_gaps": 1,
        "closed": [],
    }
    delivery, samples, last_ns = check(calls, got)
    # c2 reached the wrong agent only, c3 nobody: both missing
    assert (delivery.delivered, delivery.missing, delivery.duplicated) == (2, 2, 1)
    assert delivery.misrouted == 1 and delivery.seq_gaps == 1 and not delivery.ok
    assert sorted(samples) == [5e-6, 5e-6] and last_ns == 9_000


def test_the_generated_config_is_one_the_daemon_accepts(tmp_path: Path) -> None:
    setup = Setup(
        agents=3,
        supervisors=1,
        http=(HttpLatency("crm", 20), HttpLatency("credit", 0, hang=True)),
        hang_options={"breaker_failures": 1000},
    )
    folder = tmp_path / "case"
    folder.mkdir()
    path = write_config(setup, folder, 18080, 15038, "http://127.0.0.1:1", {"url": "memory://"})
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    settings = parse_settings({**raw, "base_dir": folder}, str(path))
    assert [c.name for c in settings.connectors] == ["accounting", "crm", "credit"]
    assert settings.connectors[2].breaker_failures == 1000
    assert len(settings.agents) == 4 and settings.logging.level == "WARNING"
    assert tomllib.loads(to_toml({"t": {"s": 'a "q" \\ b', "l": [1, 2]}}))["t"]["s"] == 'a "q" \\ b'
