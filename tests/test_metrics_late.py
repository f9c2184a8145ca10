"""`/metrics` counts, per connector, the card sections that came late: after the card was ready to
pop (the connector missed its deadline_ms) but within its hard limit (late_ms), filling in a
section the agent saw as timed out."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from screenpop.events import CallEvent, EventKind
from tests.harness import agent_tab, make_settings, running, static

CALLER = "+12125551234"
RECORDS = {CALLER: {"customer_id": "C-1", "name": "Jane Doe"}}


async def late_counts(port: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        text = await response.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    family = families["screenpop_connector_late"]
    assert family.type == "counter"
    return {s.labels["connector"]: s.value for s in family.samples if s.name.endswith("_total")}


def ring(call_id: str) -> CallEvent:
    return CallEvent("pbx", call_id, EventKind.RINGING, caller=CALLER, endpoint="1001")


async def test_a_section_arriving_after_the_pop_is_counted_late(tmp_path: Path) -> None:
    connectors = [
        static("fast", records=RECORDS, deadline_ms=2000),
        static("slow", records=RECORDS, sleep_ms=700, deadline_ms=100, late_ms=4000),
        static("dead", records=RECORDS, sleep_ms=10_000, deadline_ms=100, late_ms=400),
    ]
    settings = make_settings(tmp_path, connectors=connectors)
    async with running(settings) as (daemon, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        assert await late_counts(port) == {"fast": 0.0, "slow": 0.0, "dead": 0.0}
        daemon.emit(ring("l1"))
        pop = await alice.recv_type("pop")
        statuses = {name: s["status"] for name, s in pop["card"]["sections"].items()}
        assert statuses == {"fast": "ok", "slow": "timeout", "dead": "timeout"}
        card = await alice.recv_type("card")  # the dead one is cut at its late_ms, still timeout
        while card["card"]["sections"]["slow"]["status"] != "ok":
            card = await alice.recv_type("card")
        await alice.silent(0.3)
        assert await late_counts(port) == {"fast": 0.0, "slow": 1.0, "dead": 0.0}


async def test_a_section_past_its_deadline_that_still_makes_the_pop_is_not_late(
    tmp_path: Path,
) -> None:
    connectors = [
        static("early", records=RECORDS, sleep_ms=150, deadline_ms=50),  # the pop waits anyway
        static("patient", records=RECORDS, sleep_ms=400, deadline_ms=3000),
    ]
    settings = make_settings(tmp_path, connectors=connectors)
    async with running(settings) as (daemon, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        daemon.emit(ring("l2"))
        pop = await alice.recv_type("pop")
        assert {s["status"] for s in pop["card"]["sections"].values()} == {"ok"}
        assert await alice.silent()
        assert await late_counts(port) == {"early": 0.0, "patient": 0.0}
