"""Write-back through a running daemon: an agent's note and the call's end reach an HTTP CRM
that was down when they were made, and the agent's tabs are told pending, then synced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from screenpop.events import CallEvent, EventKind
from tests.fakes.crm_http import FakeCrm
from tests.fakes.faults import readiness
from tests.harness import CUSTOMERS, AgentClient, agent_tab, make_settings, running, static, until

JANE = "+12125551234"


@pytest.fixture
async def crm() -> AsyncIterator[FakeCrm]:
    server = FakeCrm()
    await server.start()
    yield server
    await server.stop()


def crm_entry(crm: FakeCrm) -> dict[str, Any]:
    return {
        "name": "crm",
        "kind": "http",
        "url": f"http://127.0.0.1:{crm.port}/customers/{{e164}}",
        "record_url": crm.url,
    }


async def next_of(tab: AgentClient, kind: str) -> dict[str, Any]:
    for _ in range(50):
        message = await tab.recv(10)
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


async def post_note(
    port: int, call_id: str, text: str, note_id: str, disposition: str = "resolved"
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/api/calls/{call_id}/notes",
            json={"disposition": disposition, "text": text, "id": note_id},
            headers={"Authorization": "Bearer ta"},
        ) as response,
    ):
        return response.status, await response.json()


async def metrics(port: int) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as r:
        return await r.text()


async def test_a_note_and_the_call_end_reach_a_crm_that_was_down(
    crm: FakeCrm, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, connectors=[static("accounting", records=CUSTOMERS), crm_entry(crm)]
    )
    crm.fail_with(503)
    async with running(settings) as (daemon, port), agent_tab(port, "ta") as tab:
        await tab.recv_type("hello")
        daemon.emit(CallEvent("t", "c1", EventKind.RINGING, JANE, "Jane", "1001", queue="support"))
        await next_of(tab, "pop")
        daemon.emit(CallEvent("t", "c1", EventKind.ANSWERED, JANE, "Jane", "1001"))
        status, note = await post_note(port, "c1", "wants a refund", "n-1")
        assert status == 201
        assert note["records"] == {"crm": "pending"}
        await until(lambda: crm.attempts >= 2, "the CRM tried")
        _, ready = await readiness(port)
        assert "1 write-backs wait" in ready["checks"]["store"]["detail"]
        assert 'screenpop_record_items{connector="crm",state="pending"} 1.0' in await metrics(port)
        crm.heal()
        record = await next_of(tab, "record")
        del record["seq"]
        assert record == {
            "type": "record",
            "call_id": "c1",
            "note_id": "n-1",
            "connector": "crm",
            "state": "synced",
            "error": "",
        }
        daemon.emit(CallEvent("t", "c1", EventKind.ENDED, JANE, "Jane", "1001"))
        await until(lambda: len(crm.applied) == 2, "the call's end written back")
        await until(lambda: daemon.writeback.delivered.get("crm") == 2, "both answers read")
        text = await metrics(port)
    note_body, end_body = crm.applied
    assert crm.keys == ["n-1", "c1:end"]
    assert (note_body["kind"], note_body["text"], note_body["customer_id"]) == (
        "note",
        "wants a refund",
        "C-1",
    )
    assert note_body["agent"] == "alice" and note_body["e164"] == JANE
    assert (end_body["kind"], end_body["agent"], end_body["customer_id"]) == (
        "call_end",
        "alice",
        "C-1",
    )
    assert end_body["talk_s"] is not None and end_body["talk_s"] >= 0
    assert 'screenpop_record_delivered_total{connector="crm"} 2.0' in text
    assert 'screenpop_record_retried_total{connector="crm"}' in text


async def test_an_http_connector_without_record_url_is_not_written_back_to(
    crm: FakeCrm, tmp_path: Path
) -> None:
    lookup_only = {**crm_entry(crm), "name": "sales"}
    del lookup_only["record_url"]
    settings = make_settings(
        tmp_path,
        connectors=[static("accounting", records=CUSTOMERS), crm_entry(crm), lookup_only],
    )
    async with running(settings) as (daemon, port), agent_tab(port, "ta") as tab:
        await tab.recv_type("hello")
        daemon.emit(CallEvent("t", "c1", EventKind.RINGING, JANE, "Jane", "1001", queue="support"))
        await next_of(tab, "pop")
        status, note = await post_note(port, "c1", "wants a refund", "n-1")
        assert status == 201
        assert note["records"] == {"crm": "pending"}  # the note's write-backs: crm alone
        daemon.emit(CallEvent("t", "c1", EventKind.ENDED, JANE, "Jane", "1001"))
        await until(lambda: len(crm.applied) == 2, "the note and the call's end written back")
        await until(lambda: daemon.writeback.delivered.get("crm") == 2, "both answers read")
        text = await metrics(port)
    assert 'screenpop_record_delivered_total{connector="crm"} 2.0' in text
    assert 'connector="sales"' not in "\n".join(
        line for line in text.splitlines() if line.startswith("screenpop_record_")
    )
