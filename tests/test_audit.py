"""The audit trail: a pop delivered through the daemon, a card read over HTTP and a search each
leave a row (written through the store writer, never on the pop's path); the trail read back by
number and by agent over a range, newest first, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from screenpop.audit import audit_record, erasure_digest
from screenpop.cli import main
from screenpop.events import CallEvent, EventKind
from screenpop.settings import DEFAULT_SESSION_SECRET
from screenpop.store import CallRecord, Store
from screenpop.store.audit_query import AuditFilter, audit_rows
from screenpop.store.schema import AuditRecord
from tests.harness import agent_tab, make_settings, running

JANE = "+12125551234"
BEARER = {"Authorization": "Bearer ta"}
T0 = 1_795_000_000.0


async def audit_of(store: Store, which: AuditFilter, count: int) -> list[AuditRecord]:
    """The rows `which` selects once there are `count` of them (the writer queues them)."""
    for _ in range(500):
        rows = await audit_rows(store, which)
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {count} audit rows for {which}")


async def test_a_pop_delivered_to_an_agent_is_audited(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (daemon, port), agent_tab(port, "ta") as tab:
        await tab.recv_type("hello")
        daemon.emit(CallEvent("pbx", "a1", EventKind.RINGING, caller=JANE, endpoint="1001"))
        await tab.recv_type("pop")
        (row,) = await audit_of(daemon.store, AuditFilter(e164=JANE), 1)
    assert (row.actor, row.action, row.e164, row.call_id) == ("alice", "pop", JANE, "a1")


async def test_a_card_read_and_a_search_over_http_are_audited(tmp_path: Path) -> None:
    async with (
        running(make_settings(tmp_path)) as (daemon, port),
        aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=BEARER) as http,
    ):
        async with http.get("/api/cards/(212) 555-1234") as response:
            assert response.status == 200
        async with http.get("/api/search", params={"q": "Jane Doe"}) as response:
            assert response.status == 200
        async with http.get("/api/search", params={"q": "212 555 1234"}) as response:
            assert response.status == 200
        rows = await audit_of(daemon.store, AuditFilter(actor="alice"), 3)
    assert [(r.action, r.e164, r.detail) for r in rows] == [
        ("search", JANE, "q=212 555 1234"),  # a number searched for is that caller's row
        ("search", None, "q=Jane Doe"),  # the query, never the results
        ("card_read", JANE, ""),
    ]


async def test_nothing_is_recorded_with_the_audit_off(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, audit={"enabled": False})
    async with (
        running(settings) as (daemon, port),
        aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=BEARER) as http,
    ):
        async with http.get(f"/api/cards/{JANE}") as response:
            assert response.status == 200
        daemon.writer.queue(audit_record("probe", "report", at=T0))  # a row that does land
        (probe,) = await audit_of(daemon.store, AuditFilter(), 1)
    assert probe.actor == "probe"


async def test_the_trail_by_number_and_by_agent_newest_first(store: Store) -> None:
    digest = erasure_digest("secret", JANE)
    await store.write(
        [
            audit_record("alice", "pop", JANE, "c1", at=T0),
            audit_record("bob", "pop", JANE, "c2", at=T0 + 10),
            audit_record("alice", "card_read", "+442079460958", at=T0 + 20),
            audit_record("alice", "search", None, detail="q=Jane", at=T0 + 30),
            audit_record("cli", "forget", None, detail=digest, at=T0 + 40),
            audit_record("alice", "pop", JANE, "c3", at=T0 + 86_400),
        ]
    )
    by_number = await audit_rows(store, AuditFilter(e164=JANE, digest=digest))
    assert [(r.actor, r.call_id) for r in by_number] == [
        ("alice", "c3"),
        ("cli", None),  # the erasure of this number, found by its digest
        ("bob", "c2"),
        ("alice", "c1"),
    ]
    day = AuditFilter(actor="alice", start=T0, end=T0 + 86_400)
    assert [r.action for r in await audit_rows(store, day)] == ["search", "card_read", "pop"]
    assert await audit_rows(store, AuditFilter(actor="nobody")) == []


async def test_screenpop_report_audit_lists_a_number_in_csv_and_records_the_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "screenpop.toml"
    url = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    config.write_text(f'[store]\nurl = "{url}"\n[ui]\ntimezone = "America/New_York"\n')
    store = Store(url)
    await store.start()
    jan = datetime(2026, 1, 15, 12, tzinfo=UTC).timestamp()
    await store.write(
        [
            audit_record("alice", "pop", JANE, "c1", at=jan),
            audit_record("bob", "card_read", JANE, at=jan + 86_400),
            audit_record("bob", "pop", "+442079460958", "c9", at=jan + 90_000),
            audit_record("alice", "pop", JANE, "c7", at=jan + 10 * 86_400),
        ]
    )
    by_number = ["report", "audit", "--config", str(config), "--number", "(212) 555-1234"]
    days = ["--from", "2026-01-15", "--to", "2026-01-16", "--format", "csv"]
    assert await asyncio.to_thread(main, [*by_number, *days]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "at,actor,action,e164,call_id,detail",
        f"2026-01-16T12:00:00Z,bob,card_read,{JANE},,",
        f"2026-01-15T12:00:00Z,alice,pop,{JANE},c1,",
    ]
    (reading,) = await audit_rows(store, AuditFilter(actor="cli"))
    assert (reading.action, reading.e164) == ("report", None)  # the number is not written back
    digest = erasure_digest(DEFAULT_SESSION_SECRET, JANE)
    assert reading.detail == f"audit number={digest} 2026-01-15..2026-01-16"
    today = ["--format", "csv"]  # the last three years: the reading just made is in it
    assert await asyncio.to_thread(main, [*by_number, *today]) == 0
    found = [line.split(",") for line in capsys.readouterr().out.splitlines()[1:]]
    assert [(r[1], r[2], r[3]) for r in found][:1] == [("cli", "report", "")]
    assert found[0][5] == reading.detail  # found again by the number's digest

    by_agent = ["report", "audit", "--config", str(config), "--agent", "bob", "--format", "json"]
    assert await asyncio.to_thread(main, by_agent) == 0  # no range: the last three years
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["action"], r["e164"]) for r in rows] == [
        ("pop", "+442079460958"),
        ("card_read", JANE),
    ]
    for wrong in (["--number", "anonymous"], ["--number", JANE, "--agent", "bob"], []):
        assert (
            await asyncio.to_thread(main, ["report", "audit", "--config", str(config), *wrong]) == 2
        )
    await store.aclose()


async def test_the_audit_report_over_the_api_is_itself_audited(tmp_path: Path) -> None:
    supervisor = {"Authorization": "Bearer ts"}
    async with (
        running(make_settings(tmp_path)) as (daemon, port),
        aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http,
    ):
        async with http.get(f"/api/cards/{JANE}", headers=BEARER) as response:
            assert response.status == 200
        await audit_of(daemon.store, AuditFilter(actor="alice"), 1)
        params = {"agent": "alice"}
        async with http.get("/api/reports/audit", params=params, headers=BEARER) as response:
            assert response.status == 403  # an agent's role has no `reports`
        async with http.get("/api/reports/audit", params=params, headers=supervisor) as response:
            assert response.status == 200
            found = await response.json()
        (reading,) = await audit_of(daemon.store, AuditFilter(actor="sam"), 1)
    assert [(r["actor"], r["action"], r["e164"]) for r in found["rows"]] == [
        ("alice", "card_read", JANE)
    ]
    assert (reading.action, reading.e164) == ("report", None)
    assert reading.detail.startswith("audit agent=alice ")


async def test_audit_rows_between_a_calls_writes_leave_their_order(store: Store) -> None:
    ringing = CallRecord("pbx", "c1", JANE, JANE, None, "q", None, "ringing", "inbound", T0)
    ended = dataclasses.replace(ringing, agent_id="alice", state="ended", ended_at=T0 + 60)
    await store.write(
        [
            ringing,
            audit_record("alice", "pop", JANE, "c1", at=T0),
            ended,
            audit_record("bob", "pop", JANE, "c1", at=T0 + 1),
        ]
    )
    (row,) = await store.calls_since(T0 - 1)
    assert (row.state, row.agent_id) == ("ended", "alice")
    assert [r.actor for r in await audit_rows(store, AuditFilter(e164=JANE))] == ["bob", "alice"]
