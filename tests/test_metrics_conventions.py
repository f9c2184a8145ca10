"""`/metrics` as Prometheus and a dashboard read it: counts are counters, the build and the
process are described, the board's figures and each PBX source's liveness are there."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from screenpop.events import CallEvent, EventKind
from tests.harness import agent_tab, make_settings, running, until


async def scrape(port: int) -> dict[str, Metric]:
    url = f"http://127.0.0.1:{port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        text = await response.text()
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Metric) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples}


async def test_counts_are_counters_and_the_build_and_process_are_described(
    tmp_path: Path,
) -> None:
    async with running(make_settings(tmp_path)) as (_, port):
        families = await scrape(port)
    counting = ("rejected", "errors", "reconnects", "aged_out")
    gauges_that_count = [
        name
        for name, f in families.items()
        if f.type == "gauge" and any(w in name for w in counting)
    ]
    assert gauges_that_count == []
    assert families["screenpop_cache_errors"].type == "counter"
    build = samples(families["screenpop_build_info"])
    assert any(dict(labels).get("version") for labels in build)
    assert "process_resident_memory_bytes" in families
    assert "python_info" in families


async def test_the_board_and_the_sources_show_in_metrics(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (daemon, port), agent_tab(port, "ta"):
        daemon.emit(CallEvent("pbx", "m1", EventKind.QUEUED, caller="+12125551234", queue="sales"))
        await until(lambda: "m1" in daemon.board.calls, "the call on the board")
        families = await scrape(port)
    waiting = samples(families["screenpop_queue_callers_waiting"])
    assert waiting[(("queue", "sales"),)] == 1.0
    agents = samples(families["screenpop_agents"])
    assert agents[(("state", "available"),)] >= 1.0  # alice has her page open
    assert "screenpop_board_calls_aged_out" in families
