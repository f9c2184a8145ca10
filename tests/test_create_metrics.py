"""`/metrics` counts the customer creations agents ask for, by connector and outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.create_backoffice import CreateBackOffice
from tests.harness import agent_tab, make_settings, running
from tests.test_create import crm_entry, ring
from tests.test_search import post


@pytest.fixture
async def crm() -> AsyncIterator[CreateBackOffice]:
    async with CreateBackOffice() as server:
        yield server


async def creates_counted(port: int) -> dict[str, float]:
    """`screenpop_creates_total` of the `crm` connector by outcome."""
    url = f"http://127.0.0.1:{port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        scraped = await response.text()
    families = text_string_to_metric_families(scraped)
    (family,) = [f for f in families if f.name == "screenpop_creates"]
    return {
        s.labels["outcome"]: s.value
        for s in family.samples
        if s.name == "screenpop_creates_total" and s.labels["connector"] == "crm"
    }


async def test_metrics_count_creates_by_outcome(tmp_path: Path, crm: CreateBackOffice) -> None:
    entry = {**crm_entry(crm.url), "deadline_ms": 300}
    async with (
        running(make_settings(tmp_path, connectors=[entry])) as (daemon, port),
        agent_tab(port, "ta") as tab,
    ):
        await tab.recv_type("hello")
        zero = {"invalid": 0.0, "failed": 0.0, "timeout": 0.0, "created": 0.0}
        assert await creates_counted(port) == zero  # every outcome there before the first create
        ring(daemon, "m1")
        await tab.recv_type("pop")
        wrong = {"connector": "crm", "fields": {"email": "nobody@x.org"}}  # no name
        assert (await post(port, "/api/calls/m1/create", wrong))[0] == 400
        body = {"connector": "crm", "fields": {"name": "Wes Web"}}
        crm.failing = True
        assert (await post(port, "/api/calls/m1/create", body))[0] == 502
        crm.failing, crm.delay_s = False, 2.0
        status, answer = await post(port, "/api/calls/m1/create", body)
        assert (status, answer) == (502, {"error": "crm did not answer in time"})
        crm.delay_s = 0.0
        assert (await post(port, "/api/calls/m1/create", body))[0] == 201
        counted = await creates_counted(port)
    assert counted == {"invalid": 1.0, "failed": 1.0, "timeout": 1.0, "created": 1.0}
