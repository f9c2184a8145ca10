"""Click-to-dial on the call simulator: the outbound call pops, is answered, talks and ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from tests.harness import agent_tab, make_settings, running, until, with_sources


def simulator(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "callers.txt").write_text("+12125551234|Jane Doe\n", encoding="utf-8")
    quiet = {"interval_s": 1000.0, "first_call_after_s": 1000.0}  # no queue calls meanwhile
    return {"name": "sim", "kind": "simulator", "caller_pool": "callers.txt",
            "talk_s": [0.2, 0.4], **quiet}  # fmt: skip


async def dial(port: int, number: str) -> tuple[int, Any]:
    headers = {"Authorization": "Bearer ta"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/api/dial", json={"number": number}, headers=headers
        ) as resp,
    ):
        return resp.status, await resp.json()


async def test_a_dialled_number_pops_outbound_then_is_answered_and_ends(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, telephony=[simulator(tmp_path)])
    async with running(settings) as (daemon, port), with_sources(daemon):
        await until(lambda: daemon.sources["sim"].status.logged_in, "simulator running")
        async with agent_tab(port, "ta") as alice:
            await alice.recv_type("hello")
            status, body = await dial(port, "(212) 555-1234")
            assert status == 201, body
            pop = await alice.recv_type("pop")
            assert (pop["call_id"], pop["direction"]) == (body["call_id"], "outbound")
            assert pop["card"]["summary"]["name"] == "Jane Doe"
            states = []
            while not states or states[-1] != "ended":
                message = await alice.recv(wait=5.0)
                if message["type"] == "call":
                    states.append(message["state"])
            assert states == ["answered", "ended"]


async def test_dialling_while_the_simulator_is_stopped_says_so(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, telephony=[simulator(tmp_path)])
    async with running(settings) as (_daemon, port):
        status, body = await dial(port, "(212) 555-1234")
        assert status == 503
        assert "not running" in body["error"]
