"""Reports from a running daemon and from the command line: the pauses and transfers the
daemon logs show in them, `GET /api/reports/{kind}` (permission, bad parameters, CSV and JSON)
and `screenpop report` printing CSV byte for byte."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from screenpop.cli import main
from screenpop.events import CallEvent, EventKind
from screenpop.store import CallRecord, Store
from screenpop.store.schema import PauseRecord
from tests.harness import agent_tab, make_settings, running, until

TODAY = dt.date.today()
RANGE = {"from": str(TODAY - dt.timedelta(days=1)), "to": str(TODAY + dt.timedelta(days=1))}


async def get(
    port: int, token: str, params: dict[str, str], kind: str = "queues"
) -> tuple[int, Any, str]:
    url = f"http://127.0.0.1:{port}/api/reports/{kind}"
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, params=params, headers=headers) as resp,
    ):
        return resp.status, resp.headers, await resp.text()


async def rows_when(
    port: int, kind: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The report's rows once `done` says they show what the test waits for (within 10 s)."""
    rows: list[dict[str, Any]] = []
    for _ in range(200):
        status, _, body = await get(port, "ts", {**RANGE, "format": "json"}, kind)
        assert status == 200, body
        rows = json.loads(body)["rows"]
        if done(rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"the {kind} report never showed it: {rows}")


async def test_a_transferred_call_and_a_pause_show_in_the_reports(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (daemon, port):
        async with agent_tab(port, "ta") as alice:
            await alice.recv_type("hello")
            await alice.send({"type": "pause", "reason": "lunch"})
            await until(lambda: daemon.statuses.status("alice").paused, "paused")
            await alice.send({"type": "unpause"})
            await until(lambda: not daemon.statuses.status("alice").paused, "unpaused")
        t0 = time.time()
        steps = [(EventKind.RINGING, "1001", 0), (EventKind.ANSWERED, "1001", 5),
                 (EventKind.TRANSFERRED, "1002", 30), (EventKind.ENDED, None, 90)]  # fmt: skip
        for kind, endpoint, after in steps:
            daemon.emit(CallEvent("pbx", "t1", kind, "+12125551234", endpoint=endpoint,
                                  queue="support", at=t0 + after))  # fmt: skip
        (row,) = await rows_when(
            port, "queues", lambda rows: bool(rows and rows[0]["aht_s"] is not None)
        )
        assert (row["queue"], row["offered"], row["answered"], row["transfers"]) == (
            "support", 1, 1, 1
        )  # fmt: skip
        assert (row["asa_s"], row["aht_s"]) == (5.0, 85.0)
        rows = await rows_when(port, "agents", lambda rows: len(rows) == 2)
        alice_row, bob_row = rows
        assert (alice_row["agent_id"], bob_row["agent_id"]) == ("alice", "bob")
        assert (alice_row["handled"], bob_row["handled"]) == (1, 1)
        # alice talked from her answer to her transfer, bob from then to the end
        assert (alice_row["talk_s"], bob_row["talk_s"]) == (25.0, 60.0)
        assert alice_row["paused_lunch_s"] == alice_row["paused_s"]
        assert alice_row["paused_lunch_s"] is not None and alice_row["paused_lunch_s"] >= 0
        assert alice_row["paused_other_s"] == 0.0


async def test_the_api_needs_the_reports_permission_and_good_parameters(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (_, port):
        status, _, body = await get(port, "ta", RANGE)  # alice is an agent
        assert (status, json.loads(body)) == (403, {"error": "your role may not read reports"})
        for params, message in [
            ({"from": "2026-11-02", "to": "2026-11-01"}, "from (2026-11-02) is after to"),
            ({"from": "yesterday", "to": "2026-11-01"}, "from: 'yesterday' is not a date"),
            ({"to": "2026-11-01"}, "from: a date (YYYY-MM-DD) is required"),
            ({**RANGE, "interval": "year"}, "interval: 'year' is not one of 15m, hour"),
            ({**RANGE, "format": "xlsx"}, "format: 'xlsx' is not one of json, csv"),
        ]:
            status, _, body = await get(port, "ts", params)
            assert status == 400 and message in json.loads(body)["error"], (params, body)
        status, _, body = await get(port, "ts", RANGE, kind="weather")
        assert status == 404 and "one of queues, agents, dispositions" in body


async def test_the_api_gives_csv_as_a_download_and_json_with_its_query(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = Store(settings.store.url)
    await store.start()
    now = dt.datetime.combine(TODAY, dt.time(12)).timestamp()
    await store.write([CallRecord("pbx", "c1", "", None, None, "support", "alice", "ended",
                                  "inbound", now, now + 8, now + 68)])  # fmt: skip
    await store.aclose()
    async with running(settings) as (_, port):
        params = {"from": str(TODAY), "to": str(TODAY), "interval": "hour", "queue": "support"}
        status, headers, body = await get(port, "ts", {**params, "format": "csv"})
        assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
        assert headers["Content-Disposition"] == (
            f'attachment; filename="queues_{TODAY}_{TODAY}_hour_support.csv"'
        )
        header, line = body.splitlines()
        assert header.startswith("queue,interval_start,offered,answered,abandoned,")
        assert line.startswith("support,") and line.endswith(",1,1,0,0,1,100.0,8.0,8.0,8.0,60.0,0")
        status, _, body = await get(port, "ts", params)  # JSON is the default
        doc = json.loads(body)
        assert {k: doc[k] for k in ("kind", "from", "to", "interval", "timezone", "queue")} == {
            "kind": "queues", "from": str(TODAY), "to": str(TODAY), "interval": "hour",
            "timezone": "local", "queue": "support",
        }  # fmt: skip
        assert doc["columns"][:3] == ["queue", "interval_start", "offered"]
        assert doc["rows"][0]["service_level"] == 100.0


CONFIG = """
[store]
url = "sqlite+aiosqlite:///{db}"

[ui]
timezone = "America/New_York"
pause_reasons = ["break", "after-call work"]

[board]
service_level_s = 15

[reports]
short_abandon_s = 3

[[agents]]
id = "alice"
token = "ta"
"""


async def report_store(tmp_path: Path) -> tuple[Path, Store]:
    """The reports' config file (:data:`CONFIG`) and its store, started: seed it, close it."""
    db = tmp_path / "calls.db"
    path = tmp_path / "screenpop.toml"
    path.write_text(CONFIG.format(db=db))
    store = Store(f"sqlite+aiosqlite:///{db}")
    await store.start()
    return path, store


@pytest.fixture
async def config(tmp_path: Path) -> Path:
    path, store = await report_store(tmp_path)
    t = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))).timestamp()
    calls = [
        CallRecord(
            "pbx", "a", "", None, None, "support", "alice", "ended", "inbound", t, t + 15, t + 75, 1
        ),
        CallRecord(
            "pbx",
            "b",
            "",
            None,
            None,
            "support",
            None,
            "abandoned",
            "inbound",
            t + 100,
            None,
            t + 102.5,
        ),
        CallRecord(
            "pbx",
            "c",
            "",
            None,
            None,
            "sales",
            "alice",
            "ended",
            "inbound",
            t + 3600,
            t + 3616,
            t + 3676,
        ),
    ]
    await store.write([*calls, PauseRecord("alice", "after-call work", t + 200, t + 290)])
    await store.aclose()
    return path


def cli_csv(config: Path, capsys: pytest.CaptureFixture[str], kind: str) -> str:
    argv = ["report", kind, "--config", str(config), "--from", "2026-11-18",
            "--to", "2026-11-18", "--format", "csv"]  # fmt: skip
    assert main(argv) == 0
    return capsys.readouterr().out


def test_the_cli_prints_the_queue_report_as_csv(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_csv(config, capsys, "queues") == (
        "queue,interval_start,offered,answered,abandoned,short_abandoned,answered_within_sl,"
        "service_level,asa_s,avg_wait_s,max_wait_s,aht_s,transfers\r\n"
        "sales,2026-11-18T00:00:00-05:00,1,1,0,0,0,0.0,16.0,16.0,16.0,60.0,0\r\n"
        "support,2026-11-18T00:00:00-05:00,2,1,0,1,1,100.0,15.0,8.8,15.0,60.0,1\r\n"
    )


def test_the_cli_agent_report_has_a_column_per_pause_reason(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_csv(config, capsys, "agents") == (
        "agent_id,interval_start,handled,missed_rings,talk_s,wrap_s,aht_s,paused_s,"
        "paused_break_s,paused_after_call_work_s,paused_other_s\r\n"
        "alice,2026-11-18T00:00:00-05:00,0,0,0.0,0.0,,90.0,0.0,90.0,0.0\r\n"
    )  # no rings were seeded: a pause alone


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-19", "--to", "2026-11-18"], "from (2026-11-19) is after to"),
        (["--from", "18/11/2026", "--to", "2026-11-18"], "from: '18/11/2026' is not a date"),
    ],
)
def test_the_cli_says_what_is_wrong_with_the_dates(
    config: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["report", "queues", "--config", str(config), *args]) == 2
    assert message in capsys.readouterr().err


def test_the_cli_table_lines_up_the_columns(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "queues", "--config", str(config), "--from", "2026-11-18",
            "--to", "2026-11-18", "--interval", "hour_of_day"]  # fmt: skip
    assert main(argv) == 0
    header, sales, support = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["queue", "interval_start", "offered"]
    assert sales.split()[:3] == ["sales", "10", "1"] and support.split()[:3] == [
        "support",
        "09",
        "2",
    ]
    assert header.index("offered") == sales.index("1 ")
