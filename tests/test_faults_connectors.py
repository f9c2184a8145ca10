"""A back office that hangs, fails, answers garbage or floods, seen through the whole daemon while
calls keep ringing (issue 12, "Faults").

Two HTTP connectors (connectors/http.py) over real loopback servers: `accounting` on the healthy
fake back office (tests/fakes/backoffice_http.py), `credit` on one the test breaks and mends
(tests/fakes/faulty_back_office.py), while a call from the same customer rings Alice every 100 ms.
The connector-level answers are tested in tests/test_http_connector.py and the guard rails in
tests/test_guard.py; here is what the agent and ops see: every call still pops, Jane's card
with her accounting section, the broken section saying honestly what went wrong (its own error
while the connector is tried, `unavailable` while its breaker skips it, `timeout` at the
deadline when it hangs, filled in when the late answer comes); `/metrics` counts it; a 50 MB
answer is refused without the daemon's memory following it; once mended, the section is back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from screenpop.daemon import Daemon
from tests.fakes.backoffice_http import FakeBackOffice
from tests.fakes.faults import EmitTraffic, Inbox, PeakRss, metric
from tests.fakes.faulty_back_office import FaultyBackOffice
from tests.harness import agent_tab, make_settings, running

JANE = "+12125551234"
CREDIT = {JANE: {"customer_id": "C-1042", "limit": 5000}}
BREAKER = 'screenpop_connector_breaker_state{connector="credit"}'


@dataclass
class Rig:
    daemon: Daemon
    port: int
    office: FaultyBackOffice
    alice: Inbox
    traffic: EmitTraffic

    async def pops(self, count: int, what: str) -> list[str]:
        """Wait for `count` pops of calls started from now on; the calls that popped."""
        start = len(self.traffic.started)

        def popped() -> list[str]:
            return [c for c in self.traffic.since(start) if self.alice.pops_of(c)]

        await self.alice.until(lambda: len(popped()) >= count, what)
        return popped()

    def section(self, call_id: str, name: str = "credit", *, latest: bool = False) -> Any:
        """A section of the card the call popped with (or of its latest card)."""
        seen = self.alice.calls[call_id]
        card = seen.card if latest else seen.pops[0]["card"]
        return card["sections"][name]

    def jane_with_accounting(self, call_id: str) -> bool:
        card = self.alice.calls[call_id].pops[0]["card"]
        healthy = card["sections"]["accounting"]
        return bool(card["summary"]["name"] == "Jane Doe" and healthy["status"] == "ok")


def connectors(healthy: str, faulty: str, late_ms: int) -> list[dict[str, Any]]:
    account = {"customer_id": "id", "name": "customer.name", "balance": "balance"}
    return [
        {"name": "accounting", "kind": "http", "url": healthy + "/customers/{e164}",
         "map": account, "priority": 10},
        # never cached: each call asks it again; a small breaker that cools off quickly
        {"name": "credit", "kind": "http", "url": faulty + "/customers/{e164}",
         "deadline_ms": 300, "late_ms": late_ms, "ttl_s": 0, "negative_ttl_s": 0,
         "breaker_failures": 3, "breaker_cooloff_s": 0.5, "max_concurrency": 50},
    ]  # fmt: skip


@asynccontextmanager
async def rig(tmp_path: Path, late_ms: int = 5000) -> AsyncIterator[Rig]:
    async with FakeBackOffice() as healthy, FaultyBackOffice(CREDIT) as faulty:
        settings = make_settings(tmp_path, connectors=connectors(healthy.url, faulty.url, late_ms))
        async with (
            running(settings) as (daemon, port),
            agent_tab(port, "ta") as tab,
            Inbox(tab) as alice,
        ):
            async with EmitTraffic(daemon.emit, "1001", JANE, every_s=0.1) as traffic:
                yield Rig(daemon, port, faulty, alice, traffic)
            await alice.until(
                lambda: all(c in alice.calls and alice.calls[c].over for c in traffic.started),
                "every call over on Alice's screen",
            )
            for call_id in traffic.started:  # not one call lost or popped twice
                assert len(alice.calls[call_id].pops) == 1, call_id
                assert alice.calls[call_id].states == ["answered", "ended"], call_id


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("500", "HTTP 500 from credit"),
        ("garbage", "invalid JSON from credit"),
        ("shape", "unexpected JSON from credit: expected an object or a list of them"),
        ("flood", "response too large from credit"),
        ("flood-length", "response too large from credit"),
    ],
)
async def test_a_failing_back_office_leaves_an_honest_card_and_the_pops_flowing(
    tmp_path: Path, mode: str, error: str
) -> None:
    async with rig(tmp_path) as r:
        for call_id in await r.pops(2, "pops while credit answers"):
            assert r.jane_with_accounting(call_id)
            assert r.section(call_id)["data"] == {"customer_id": "C-1042", "limit": 5000}
        with PeakRss() as rss:
            r.office.mode = mode
            failing = await r.pops(6, f"pops while credit answers {mode}")
        assert all(r.jane_with_accounting(c) for c in failing)
        shown = [(r.section(c)["status"], r.section(c).get("error")) for c in failing]
        assert set(shown) <= {("error", error), ("error", "unavailable")}, shown
        assert ("error", error) in shown  # what went wrong, while the connector was tried
        assert ("error", "unavailable") in shown  # then its breaker skipped it
        # a 50 MB answer is refused as it comes: the daemon's memory does not follow it
        assert rss.growth < 20 * 1024 * 1024, rss.growth
        assert await metric(r.port, "screenpop_connector_outcomes_total", connector="credit",
                            outcome="error") >= 3  # fmt: skip
        assert await metric(r.port, "screenpop_connector_outcomes_total", connector="credit",
                            outcome="skipped") >= 1  # fmt: skip

        r.office.mode = "ok"  # mended: the breaker's next probe closes it
        start = len(r.traffic.started)
        await r.alice.until(
            lambda: any(
                r.alice.pops_of(c) and r.section(c)["status"] == "ok"
                for c in r.traffic.since(start)
            ),
            "credit back on the card",
        )
        assert await metric(r.port, "screenpop_connector_breaker_state", connector="credit") == 0


async def test_a_hanging_back_office_pops_at_the_deadline_and_fills_in_later(
    tmp_path: Path,
) -> None:
    # The hard limit is longer than any wait below: a pop that waited for the hung section would
    # not come at all within them.
    async with rig(tmp_path, late_ms=30_000) as r:
        await r.pops(2, "pops while credit answers")
        r.office.mode = "hang"
        hung = await r.pops(4, "pops while credit hangs")
        for call_id in hung:
            assert r.jane_with_accounting(call_id)
            assert r.section(call_id)["status"] == "timeout"
        assert r.office.mode == "hang"  # still hanging: these popped at the deadline

        r.office.mode = "ok"  # the late answers come: the cards on Alice's screen fill in
        await r.alice.until(
            lambda: all(r.section(c, latest=True)["status"] == "ok" for c in hung),
            "the late answers on the cards",
        )
        assert all(r.alice.calls[c].card["complete"] for c in hung)
        assert all(r.section(c, latest=True)["data"]["limit"] == 5000 for c in hung)
        for call_id in await r.pops(2, "pops once credit answers again"):
            assert r.section(call_id)["status"] == "ok"
        outcome = "screenpop_connector_outcomes_total"
        assert await metric(r.port, outcome, connector="credit", outcome="timeout") == 0
        assert await metric(r.port, outcome, connector="credit", outcome="ok") >= len(hung) + 4
        assert await metric(r.port, "screenpop_connector_breaker_state", connector="credit") == 0
