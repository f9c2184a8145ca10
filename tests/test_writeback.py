"""Write-back of notes and call ends to back offices through the durable queue: an HTTP CRM
that is down for a while, SQL tables (SQLite and PostgreSQL), a restart in between, and a
refusal that is shown and not retried."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import asyncpg
import pytest
from pydantic import ValidationError

from connectors.http import HttpConnector, HttpSettings
from connectors.sql import SqlConnector, SqlSettings
from screenpop.cli import main
from screenpop.connectors.contract import ConnectorContext, Recorder, RecordItem
from screenpop.errors import ConnectorError
from screenpop.store.records import RecordQueue
from screenpop.writeback import RecordStatus, Writeback
from tests.fakes.crm_http import FakeCrm, crm_in_thread
from tests.fakes.postgres import scratch_database
from tests.harness import until

FAST = (0.02, 0.1)
CRM_TABLE = (
    "CREATE TABLE crm_notes (record_id TEXT PRIMARY KEY, kind TEXT, call_id TEXT, agent TEXT,"
    " disposition TEXT, text TEXT, talk_s REAL)"
)
CRM_INSERT = (
    "INSERT INTO crm_notes (record_id, kind, call_id, agent, disposition, text, talk_s)"
    " VALUES (:record_id, :kind, :call_id, :agent, :disposition, :text, :talk_s)"
    " ON CONFLICT (record_id) DO NOTHING"
)


def note(call_id: str, n: int, text: str = "") -> RecordItem:
    return RecordItem(
        record_id=f"{call_id}-n{n}",
        kind="note",
        call_id=call_id,
        agent="alice",
        disposition="resolved",
        text=text or f"note {n} of {call_id}",
        at="2026-12-02T05:00:00Z",
    )


@pytest.fixture
async def crm() -> AsyncIterator[FakeCrm]:
    server = FakeCrm()
    await server.start()
    yield server
    await server.stop()


async def http_recorder(url: str) -> HttpConnector:
    settings = HttpSettings(url="http://127.0.0.1:9/{e164}", record_url=url)
    connector = HttpConnector("crm", settings, ConnectorContext())
    await connector.start()
    return connector


class Seen:
    def __init__(self) -> None:
        self.statuses: list[RecordStatus] = []

    async def __call__(self, status: RecordStatus) -> None:
        self.statuses.append(status)

    def states(self, record_id: str) -> list[str]:
        return [s.state for s in self.statuses if s.item.record_id == record_id]


async def writeback(
    path: Path | None, recorders: Mapping[str, Recorder], seen: Seen | None = None
) -> tuple[RecordQueue, Writeback]:
    queue = RecordQueue(path, 1000)
    await queue.open()
    return queue, Writeback(queue, lambda: recorders, seen or Seen(), retry_s=FAST)


async def test_notes_reach_a_crm_that_was_down_once_each_in_order(
    crm: FakeCrm, tmp_path: Path
) -> None:
    connector = await http_recorder(crm.url)
    seen = Seen()
    queue, wb = await writeback(tmp_path / "records.db", {"crm": connector}, seen)
    crm.fail_with(503)
    async with wb:
        states = [await wb.put(note(c, n)) for n in range(3) for c in ("c1", "c2")]
        assert all(s == {"crm": "pending"} for s in states)
        await until(lambda: crm.attempts >= 3)  # tried again and again while it answers 503
        await crm.stop()  # then it is gone altogether: connections refused
        await asyncio.sleep(0.3)
        assert crm.applied == []
        crm.heal()
        await crm.start()
        await until(lambda: len(crm.applied) == 6)
        await asyncio.sleep(0.2)
    await queue.aclose()
    await connector.aclose()
    assert len(crm.applied) == 6  # each once
    for call_id in ("c1", "c2"):
        texts = [b["text"] for b in crm.applied if b["call_id"] == call_id]
        assert texts == [f"note {n} of {call_id}" for n in range(3)]
    assert crm.keys == [b["record_id"] for b in crm.applied]  # the Idempotency-Key
    assert seen.states("c1-n0") == ["synced"]
    assert wb.delivered == {"crm": 6}
    assert wb.retried["crm"] >= 2
    assert len(queue) == 0


async def test_items_waiting_in_the_file_are_delivered_after_a_restart(
    crm: FakeCrm, tmp_path: Path
) -> None:
    path = tmp_path / "records.db"
    connector = await http_recorder(crm.url)
    crm.fail_with(503)
    queue, wb = await writeback(path, {"crm": connector})
    async with wb:
        await wb.put(note("c1", 0))
        await wb.put(note("c1", 1))
        await until(lambda: crm.attempts >= 1)
    await queue.aclose()
    assert crm.applied == []
    crm.heal()
    queue, wb = await writeback(path, {"crm": connector})  # the daemon again
    assert len(queue) == 2
    async with wb:
        await until(lambda: len(crm.applied) == 2)
    await queue.aclose()
    await connector.aclose()
    assert [b["record_id"] for b in crm.applied] == ["c1-n0", "c1-n1"]


async def test_a_4xx_is_failed_with_why_and_not_tried_again(crm: FakeCrm, tmp_path: Path) -> None:
    connector = await http_recorder(crm.url)
    seen = Seen()
    queue, wb = await writeback(None, {"crm": connector}, seen)
    async with wb:
        await wb.put(note("c1", 0, "reject me"))
        await wb.put(note("c1", 1))
        await until(lambda: len(crm.applied) == 1)
        await asyncio.sleep(0.3)
    await queue.aclose()
    await connector.aclose()
    assert crm.attempts == 2  # the refused one once, never again
    failed = [s for s in seen.statuses if s.state == "failed"]
    assert [(s.item.record_id, s.error) for s in failed] == [("c1-n0", "HTTP 422 from crm")]
    assert wb.rejected == {"crm": 1}
    assert queue.failed == {"crm": 1}


@pytest.mark.parametrize("status", [429, 408, 425])
async def test_a_rate_limit_or_request_timeout_is_tried_again_not_failed(
    crm: FakeCrm, status: int
) -> None:
    connector = await http_recorder(crm.url)
    seen = Seen()
    queue, wb = await writeback(None, {"crm": connector}, seen)
    crm.fail_with(status)  # "not now": a CRM rate-limiting its callers
    async with wb:
        await wb.put(note("c1", 0))
        await until(lambda: crm.attempts >= 3, "tries while the CRM says not now")
        crm.heal()
        await until(lambda: len(crm.applied) == 1, "the note once the CRM takes it")
    await queue.aclose()
    await connector.aclose()
    assert "failed" not in seen.states("c1-n0")
    assert seen.states("c1-n0")[-1] == "synced"
    assert wb.rejected == {} and queue.failed == {}


async def test_the_same_item_twice_is_sent_once(crm: FakeCrm) -> None:
    connector = await http_recorder(crm.url)
    queue, wb = await writeback(None, {"crm": connector})
    async with wb:
        await wb.put(note("c1", 0))
        await until(lambda: len(crm.applied) == 1)
        await wb.put(note("c1", 0))  # sent again (a retry of the page): the CRM says 409
        await until(lambda: wb.delivered.get("crm") == 2)
    await queue.aclose()
    await connector.aclose()
    assert len(crm.applied) == 1


class Stuck:
    """A back office that takes its time: each record() waits until released."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.kept: list[str] = []

    async def record(self, item: RecordItem, *, dry_run: bool = False) -> None:
        self.started.set()
        await self.release.wait()
        self.kept.append(item.record_id)


async def test_a_call_end_is_filed_at_once_while_a_slow_back_office_holds_the_drain(
    tmp_path: Path,
) -> None:
    crm = Stuck()
    queue, wb = await writeback(tmp_path / "records.db", {"crm": crm})
    async with wb:
        await wb.put(note("c1", 0))
        await asyncio.wait_for(crm.started.wait(), 5)  # the drain is inside a slow POST
        wb.put_later(RecordItem(record_id="c1:end", kind="call_end", call_id="c1", talk_s=9.0))
        await until(lambda: len(queue) == 2, "the call end in the queue file")
        crm.release.set()
        await until(lambda: crm.kept == ["c1-n0", "c1:end"], "both delivered, in order")
    await queue.aclose()


async def test_a_full_queue_drops_the_oldest_call_end_never_a_note_silently() -> None:
    queue = RecordQueue(None, 2)
    await queue.open()
    end = RecordItem(record_id="c1:end", kind="call_end", call_id="c1", talk_s=12.0)
    assert await queue.put("crm", end)
    assert await queue.put("crm", note("c1", 0))
    assert await queue.put("crm", note("c1", 1))  # the call end made room
    assert queue.dropped == 1
    assert not await queue.put("crm", note("c1", 2))  # nothing left to push out: refused
    assert queue.refused == 1
    assert [w.item.record_id for w in await queue.head("crm", 10)] == ["c1-n0", "c1-n1"]
    await queue.aclose()


async def test_a_write_back_has_its_own_timeout_not_the_lookups(crm: FakeCrm) -> None:
    crm.delay_s = 0.3
    lookup_cap = {"url": "http://127.0.0.1:9/{e164}", "record_url": crm.url, "timeout_ms": 50}
    patient = HttpConnector("crm", HttpSettings(**lookup_cap), ConnectorContext())
    hasty = HttpConnector(
        "crm", HttpSettings(**lookup_cap, record_timeout_s=0.05), ConnectorContext()
    )
    for connector in (patient, hasty):
        await connector.start()
    try:
        await patient.record(note("c1", 0))  # 5 s by default: the lookup's 50 ms do not apply
        with pytest.raises(ConnectorError, match=r"^crm did not answer within 0\.05 s$"):
            await hasty.record(note("c1", 1))
    finally:
        for connector in (patient, hasty):
            await connector.aclose()
    assert [item["record_id"] for item in crm.applied] == ["c1-n0"]


@pytest.mark.parametrize("seconds", [0, -1, 61])
def test_record_timeout_s_is_checked(seconds: float) -> None:
    with pytest.raises(ValidationError, match="record_timeout_s"):
        HttpSettings(
            url="http://127.0.0.1:9/{e164}",
            record_url="http://127.0.0.1:9/r",
            record_timeout_s=seconds,
        )


async def test_dry_run_keeps_nothing(crm: FakeCrm) -> None:
    connector = await http_recorder(crm.url)
    await connector.record(note("c1", 0), dry_run=True)
    await connector.aclose()
    assert crm.dry_runs == 1
    assert crm.applied == []


# -- SQL --------------------------------------------------------------------------------------


async def sql_recorder(url: str, base_dir: Path) -> SqlConnector:
    settings = SqlSettings(url=url, query="SELECT 1 WHERE :e164 = ''", record_query=CRM_INSERT)
    connector = SqlConnector("accounting", settings, ConnectorContext(base_dir=base_dir))
    await connector.start()
    return connector


async def deliver_to_sql(connector: SqlConnector) -> None:
    queue, wb = await writeback(None, {"accounting": connector})
    end = RecordItem(record_id="c1:end", kind="call_end", call_id="c1", agent="alice", talk_s=42.5)
    async with wb:
        for item in (note("c1", 0), note("c1", 1), end, note("c1", 0)):
            await wb.put(item)
        await until(lambda: len(queue) == 0)
    await connector.record(note("c1", 1))  # applied twice by hand: still one row
    await connector.record(note("c9", 0), dry_run=True)  # rolled back
    await queue.aclose()
    await connector.aclose()


async def test_write_back_into_a_sqlite_table(tmp_path: Path) -> None:
    db = tmp_path / "accounting.db"
    with sqlite3.connect(db) as conn:
        conn.execute(CRM_TABLE)
    await deliver_to_sql(await sql_recorder("sqlite+aiosqlite:///accounting.db", tmp_path))
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT record_id, kind, talk_s FROM crm_notes ORDER BY rowid"
        ).fetchall()
    assert rows == [("c1-n0", "note", None), ("c1-n1", "note", None), ("c1:end", "call_end", 42.5)]


async def test_write_back_into_a_postgresql_table(postgres_url: str, tmp_path: Path) -> None:
    async with scratch_database(postgres_url) as (host, port, name):
        dsn = f"postgresql://{_userinfo(postgres_url)}{host}:{port}/{name}"
        conn = await asyncpg.connect(dsn)
        await conn.execute(CRM_TABLE.replace("REAL", "DOUBLE PRECISION"))
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        await deliver_to_sql(await sql_recorder(url, tmp_path))
        rows = await conn.fetch("SELECT record_id, kind, talk_s FROM crm_notes ORDER BY record_id")
        await conn.close()
    assert [tuple(r) for r in rows] == [
        ("c1-n0", "note", None),
        ("c1-n1", "note", None),
        ("c1:end", "call_end", 42.5),
    ]


def _userinfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if not u.username:
        return ""
    return f"{u.username}:{u.password}@" if u.password else f"{u.username}@"


# -- `screenpop check` ------------------------------------------------------------------------


def _check_config(tmp_path: Path, connector: str) -> Path:
    path = tmp_path / "screenpop.toml"
    path.write_text(
        f"""
[store]
url = "sqlite+aiosqlite:///calls.db"

{connector}

[[agents]]
id = "alice"
extensions = ["1001"]
token = "alice-t"
""",
        encoding="utf-8",
    )
    return path


def _sql_connector(record_query: str) -> str:
    return f'''
[[connectors]]
name = "accounting"
kind = "sql"
url = "sqlite+aiosqlite:///accounting.db"
query = "SELECT 1 AS one WHERE :e164 = ''"
record_query = "{record_query}"
'''


def test_check_dry_runs_the_sql_write_back_and_keeps_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(tmp_path / "accounting.db") as conn:
        conn.execute(CRM_TABLE)
    code = main(["check", "--config", str(_check_config(tmp_path, _sql_connector(CRM_INSERT)))])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "write-back dry run ok" in out
    config = str(_check_config(tmp_path, _sql_connector(CRM_INSERT)))
    assert main(["check", "--config", config, "--number", "+12125551234"]) == 0
    out = capsys.readouterr().out  # with a lookup, the dry run is still said
    assert "lookup: not_found" in out and "write-back dry run ok" in out, out
    with sqlite3.connect(tmp_path / "accounting.db") as conn:
        assert conn.execute("SELECT count(*) FROM crm_notes").fetchone() == (0,)
    broken = CRM_INSERT.replace("crm_notes", "no_such_table")
    code = main(["check", "--config", str(_check_config(tmp_path, _sql_connector(broken)))])
    out = capsys.readouterr().out
    assert code == 1 and "write-back failed" in out


def test_check_dry_runs_the_http_write_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crm = FakeCrm()
    connector = f'''
[[connectors]]
name = "crm"
kind = "http"
url = "http://127.0.0.1:{crm.port}/customers/{{e164}}"
check_url = "http://127.0.0.1:{crm.port}/health"
record_url = "{crm.url}"
'''
    with crm_in_thread(crm):
        code = main(["check", "--config", str(_check_config(tmp_path, connector))])
    out = capsys.readouterr().out
    assert code == 0 and "write-back dry run ok" in out, out
    assert (crm.dry_runs, crm.applied) == (1, [])


class SlowQueue(RecordQueue):
    """A queue file that, once told to, takes its time to say which connectors have items."""

    slow_s = 0.0

    async def connectors(self) -> list[str]:
        names = await super().connectors()
        await asyncio.sleep(self.slow_s)
        return names


class FailsOnce:
    """A back office that is away for its first write, then takes every one."""

    def __init__(self) -> None:
        self.attempts = 0
        self.applied: list[str] = []

    async def record(self, item: RecordItem) -> None:
        self.attempts += 1
        if self.attempts == 1:
            raise ConnectorError("connection refused")
        self.applied.append(item.record_id)


async def test_a_retry_that_falls_due_while_the_queue_is_read_still_goes_out() -> None:
    queue, office = SlowQueue(None, 1000), FailsOnce()
    await queue.open()
    wb = Writeback(queue, lambda: {"crm": office}, Seen(), retry_s=(0.2, 0.2))
    async with wb:
        await wb.put(note("c1", 0))
        await until(lambda: office.attempts == 1)  # refused: tried again in 0.2 s
        # a pass starts before that (another note), and its read of the queue lasts past it
        queue.slow_s = 0.3
        await wb.put(note("c1", 1))
        await asyncio.sleep(0.35)
        queue.slow_s = 0.0
        await until(lambda: office.applied == ["c1-n0", "c1-n1"], "the retry went out")
    await queue.aclose()
