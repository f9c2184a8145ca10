"""Probes with thousands of callers waiting and supervisors watching: `/healthz` only says the
process is up and touches nothing of the board; `/metrics` reads the board's calls once per
scrape (the waiting list), not once per agent; `/readyz` still answers with its checks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from screenpop.board.model import CallView
from screenpop.events import CallEvent, EventKind
from tests.harness import agent_tab, agents, make_settings, running, until

WAITING = 2000


class CountedCalls(dict[str, CallView]):
    """The board's live calls, counting the walks over all of them."""

    walks = 0

    def values(self) -> Any:
        CountedCalls.walks += 1
        return super().values()


def crowd() -> list[dict[str, Any]]:
    """The usual agents and 200 more, all with an extension (all on the board)."""
    extra = [
        {"id": f"agent{i}", "extensions": [f"2{i:03d}"], "token": f"tok{i}"} for i in range(200)
    ]
    return [*agents(), *extra]


async def test_probes_answer_with_two_thousand_callers_waiting(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, agents=crowd())
    async with (
        running(settings) as (daemon, port),
        agent_tab(port, "ts") as sam,
        agent_tab(port, "ts"),
        aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http,
    ):
        await sam.recv_type("hello")
        for i in range(WAITING):
            caller = f"+1212555{i:04d}"
            daemon.emit(CallEvent("t", f"w{i}", EventKind.QUEUED, caller, None, None, "support"))
            if i % 200 == 0:
                await asyncio.sleep(0)
        await until(
            lambda: len(daemon.board.waiting().get("support", [])) == WAITING, "all callers waiting"
        )
        await asyncio.sleep(0.5)  # the board's last flush after the burst
        daemon.board.calls = CountedCalls(daemon.board.calls)
        CountedCalls.walks = 0

        async with http.get("/healthz") as response:
            assert (response.status, await response.json()) == (200, {"status": "ok"})
        assert CountedCalls.walks == 0, "/healthz looked at the board"

        async with http.get("/metrics") as response:
            assert response.status == 200
            text = await response.text()
        assert f'screenpop_queue_callers_waiting{{queue="support"}} {WAITING}.0' in text
        assert 'screenpop_agents{state="available"} 1.0' in text  # sam, whose tabs are open
        assert 'screenpop_agents{state="offline"} 202.0' in text
        assert CountedCalls.walks <= 1, "the scrape walked every call for each agent"

        async with http.get("/readyz") as response:
            ready = await response.json()
        assert response.status in (200, 503) and {"cache", "store"} <= set(ready["checks"])
