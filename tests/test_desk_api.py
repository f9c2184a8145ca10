"""Agent actions over HTTP: click-to-dial through Asterisk, picking a candidate, reloading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import load_settings
from tests.fakes.ami_server import FakeAsterisk
from tests.harness import agent_tab, make_settings, running, until


async def call_api(port: int, path: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}{path}", json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def test_click_to_dial_sends_originate_and_pops_the_outbound_card(tmp_path: Path) -> None:
    server = FakeAsterisk()
    ami_port = await server.start()
    source = {"name": "pbx1", "kind": "ami", "port": ami_port, "username": "screenpop",
              "secret": "s3cret"}  # fmt: skip
    try:
        async with running(make_settings(tmp_path, telephony=[source])) as (daemon, port):
            import asyncio

            sources = asyncio.create_task(daemon.run_sources())
            try:
                await until(lambda: daemon.sources["pbx1"].status.logged_in, "AMI login")
                async with agent_tab(port, "ta") as alice:
                    await alice.recv_type("hello")
                    status, body = await call_api(
                        port, "/api/dial", "ta", {"number": "(212) 555-1234"}
                    )
                    assert status == 201
                    (action,) = server.originates
                    assert action["channel"] == ["PJSIP/1001"]
                    assert action["exten"] == ["+12125551234"]
                    assert action["context"] == ["from-internal"]
                    pop = await alice.recv_type("pop")
                    assert pop["call_id"] == body["call_id"]
                    assert pop["direction"] == "outbound"
                    assert pop["card"]["summary"]["name"] == "Jane Doe"
                status, body = await call_api(port, "/api/dial", "ta", {"number": "anonymous"})
                assert status == 400
            finally:
                sources.cancel()
                await asyncio.gather(sources, return_exceptions=True)
    finally:
        await server.stop()


async def test_dial_without_a_pbx_that_can_dial_is_503(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (_, port):
        status, body = await call_api(port, "/api/dial", "ta", {"number": "+12125551234"})
        assert status == 503 and "place calls" in body["error"]


async def test_choosing_a_candidate_reaches_every_tab_and_sticks_to_the_number(
    tmp_path: Path,
) -> None:
    async with (
        running(make_settings(tmp_path)) as (daemon, port),
        agent_tab(port, "ta") as tab1,
        agent_tab(port, "ta") as tab2,
    ):
        await tab1.recv_type("hello")
        await tab2.recv_type("hello")
        daemon.emit(CallEvent("pbx", "s1", EventKind.RINGING, "+12125550000", endpoint="1001"))
        pop = await tab1.recv_type("pop")
        await tab2.recv_type("pop")
        ids = [c["customer_id"] for c in pop["card"]["candidates"]]
        assert ids == ["C-2", "C-3"] and pop["card"]["summary"] == {}
        status, _ = await call_api(port, "/api/calls/s1/choice", "tb", {"customer_id": "C-3"})
        assert status == 404  # bob never got this call
        status, _ = await call_api(port, "/api/calls/s1/choice", "ta", {"customer_id": "C-9"})
        assert status == 404  # not a candidate
        status, _ = await call_api(port, "/api/calls/s1/choice", "ta", {"customer_id": "C-3"})
        assert status == 200
        for tab in (tab1, tab2):
            card = (await tab.recv_type("card"))["card"]
            assert card["chosen"] == "C-3"
            assert card["summary"] == {"name": "Bob Shared", "customer_id": "C-3"}
        daemon.emit(CallEvent("pbx", "s1", EventKind.ABANDONED))
        await tab1.recv_type("call")
        daemon.emit(CallEvent("pbx", "s2", EventKind.RINGING, "+12125550000", endpoint="1001"))
        again = await tab1.recv_type("pop")
        assert again["card"]["summary"]["name"] == "Bob Shared"


async def test_only_a_supervisor_may_reload(tmp_path: Path) -> None:
    path = tmp_path / "screenpop.toml"
    path.write_text(
        '[server]\nport = 0\npublic_origin = "http://127.0.0.1"\n'
        f'[store]\nurl = "sqlite+aiosqlite:///{tmp_path / "store.db"}"\n'
        '[[agents]]\nid = "alice"\ntoken = "ta"\n'
        '[[agents]]\nid = "sam"\nrole = "supervisor"\ntoken = "ts"\n',
        encoding="utf-8",
    )
    async with Daemon(load_settings(path), path) as daemon, daemon.web() as port:
        assert (await call_api(port, "/admin/reload", "ta", {}))[0] == 403
        status, body = await call_api(port, "/admin/reload", "ts", {})
        assert status == 200 and "reloaded" in body["message"]
        path.write_text(path.read_text() + "[bogus]\n", encoding="utf-8")
        status, body = await call_api(port, "/admin/reload", "ts", {})
        assert status == 422 and "bogus" in body["error"]
