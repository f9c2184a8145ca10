"""`screenpop report callbacks`: per queue and day (in `[ui] timezone`), the items made, called
back, returned and open, and how fast they were called back, from a seeded store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from screenpop.cli import main
from screenpop.store.callback_table import CallbackRecord, CallbackReturn
from screenpop.store.callbacks import CallbackStore
from tests.test_reports_api import report_store

NY = dt.timezone(dt.timedelta(hours=-5))


@pytest.fixture
async def config(tmp_path: Path) -> Path:
    path, store = await report_store(tmp_path)
    t = dt.datetime(2026, 11, 18, 9, 0, tzinfo=NY).timestamp()
    items = [
        CallbackRecord("pbx", f"s{n}", "support", f"+1212555000{n}", "abandoned", 30.0, t + n)
        for n in range(4)
    ]
    late = dt.datetime(2026, 11, 18, 23, 30, tzinfo=NY).timestamp()  # 04:30 UTC the next day
    items.append(CallbackRecord("pbx", "x", "sales", "+12125559999", "missed", 5.0, late))
    await store.write(items)
    callbacks = CallbackStore(store)
    ids = {i.call_id: i.id for i in await callbacks.open_items()}
    for n, after in ((0, 60.0), (1, 120.0), (2, 600.0)):  # called back after 1, 2 and 10 min
        await callbacks.take(ids[f"s{n}"], "alice", t + n + 1)
        await callbacks.called_back(ids[f"s{n}"], "alice", f"out-{n}", t + n + after)
        await callbacks.close(ids[f"s{n}"], "alice", "resolved", t + n + after + 60)
    await store.write([CallbackReturn("+12125559999", "back", late + 100)])
    await store.aclose()
    return path


def test_the_cli_prints_the_callback_report_as_csv(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "callbacks", "--config", str(config), "--from", "2026-11-18",
            "--to", "2026-11-18", "--format", "csv"]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out == (
        "queue,interval_start,created,called_back,returned,open,median_call_back_s,"
        "p90_call_back_s\r\n"
        "sales,2026-11-18T00:00:00-05:00,1,0,1,0,,\r\n"
        "support,2026-11-18T00:00:00-05:00,4,3,0,1,120.0,600.0\r\n"
    )
