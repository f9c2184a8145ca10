"""Scheduled reports from the real report engine: the mail's CSV is the command line's, its
chart is drawn from the report, and in a cluster one node sends each send."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from prometheus_client import CollectorRegistry

from screenpop.cluster.redis import ClusterRedis
from screenpop.daemon import Daemon
from screenpop.errors import ConfigError
from screenpop.report_mailing import redis_claim, series_of, start_mailing
from screenpop.reports.model import ReportQuery, options_from
from screenpop.reports.service import Reporter
from screenpop.settings import load_settings
from screenpop.store.seed import seed_if_empty
from screenpop.tasks import TaskOwner
from screenpop_demo.history import make_history
from tests.harness import free_port
from tests.mailbox import smtp_server

NY = ZoneInfo("America/New_York")
UNTIL = dt.date(2026, 11, 24)  # the history ends on Monday 23 November 2026


def write_config(tmp_path: Path, smtp_port: int) -> Path:
    config = tmp_path / "screenpop.toml"
    config.write_text(
        f"""
[store]
url = "sqlite+aiosqlite:///calls.db"
[ui]
timezone = "America/New_York"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from_addr = "reports@example.com"
[[reports.schedule]]
name = "support-daily"
kind = "queues"
interval = "hour"
queue = "support"
recipients = ["lead@example.com"]
[[reports.schedule]]
name = "agents-weekly"
kind = "agents"
interval = "day"
every = "weekly"
recipients = ["lead@example.com"]
""",
        encoding="utf-8",
    )
    return config


def cli_csv(config: Path, *args: str) -> bytes:
    command = [sys.executable, "-m", "screenpop.cli", "report", *args, "--config", str(config)]
    return subprocess.run(command, capture_output=True, check=True).stdout


async def test_the_mailed_csv_is_the_command_lines_and_the_chart_is_the_reports(
    tmp_path: Path,
) -> None:
    history = make_history(UNTIL, NY)
    await seed_if_empty(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}", history.tables)
    async with smtp_server() as (box, port):
        config = write_config(tmp_path, port)
        cfg = load_settings(config, environ={})
        tasks = TaskOwner()
        async with Reporter(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}") as reporter:
            mailer = start_mailing(cfg, reporter, CollectorRegistry(), tasks, None)
            daily, weekly = mailer.schedules
            due = dt.datetime(2026, 11, 24, 7, tzinfo=NY).timestamp()  # a Tuesday
            assert await mailer.send(daily, due) == "sent"
            assert await mailer.send(weekly, due) == "sent"
            day = UNTIL - dt.timedelta(days=1)
            query = ReportQuery("queues", day, day, "hour", "support", "America/New_York")
            report = await reporter.run(query, options_from(cfg))
        await tasks.aclose()
    day_mail, week_mail = box.messages
    assert day_mail["Subject"] == "support-daily: queues report, 2026-11-23"
    assert week_mail["Subject"] == "agents-weekly: agents report, 2026-11-16 to 2026-11-22"
    (day_csv,) = day_mail.iter_attachments()
    expected = await asyncio.to_thread(
        cli_csv, config, "queues", "--from", "2026-11-23", "--to", "2026-11-23",
        "--interval", "hour", "--queue", "support", "--format", "csv",
    )  # fmt: skip
    assert day_csv.get_payload(decode=True) == expected
    assert expected.count(b"\r\n") == len(report.rows) + 1 > 5  # a header and the day's hours
    (week_csv,) = week_mail.iter_attachments()
    weekly_cli = await asyncio.to_thread(
        cli_csv, config, "agents", "--from", "2026-11-16", "--to", "2026-11-22", "--format", "csv"
    )
    assert week_csv.get_payload(decode=True) == weekly_cli
    series = series_of(report)
    assert series.labels[0] == "08:00" and len(series.bars) == len(report.rows)
    assert series.bars == [row["offered"] for row in report.rows]
    assert series.line is not None
    assert [round(v, 1) for v in series.line] == [row["service_level"] for row in report.rows]
    png = next(p for p in day_mail.walk() if p.get_content_type() == "image/png")
    with Image.open(io.BytesIO(png.get_content())) as image:
        assert image.format == "PNG"
        assert len(image.getcolors(10_000) or []) > 3  # drawn on, not a blank frame


async def test_in_a_cluster_one_node_claims_each_send(redis_url: str, redis_cleanup: str) -> None:
    redis = ClusterRedis(redis_url, redis_cleanup)
    down = ClusterRedis("redis://127.0.0.1:1/0", redis_cleanup)
    try:
        node_a = redis_claim(SimpleNamespace(redis=redis, node_id="a"))  # type: ignore[arg-type]
        node_b = redis_claim(SimpleNamespace(redis=redis, node_id="b"))  # type: ignore[arg-type]
        assert await node_a("daily", 1000.0) is True
        assert await node_b("daily", 1000.0) is False  # the same send: already a's
        assert await node_b("daily", 87400.0) is True  # the next day's: whoever is first
        assert await node_b("weekly", 1000.0) is True  # another schedule
        alone = redis_claim(SimpleNamespace(redis=down, node_id="c"))  # type: ignore[arg-type]
        assert await alone("daily", 1000.0) is True  # Redis away: sent rather than lost
    finally:
        await redis.aclose()
        await down.aclose()


async def test_the_daemon_runs_the_mailer_and_counts_in_metrics(tmp_path: Path) -> None:
    config = write_config(tmp_path, free_port())
    async with Daemon(load_settings(config, environ={})) as daemon:
        text = daemon.metrics_text().decode()
        assert 'screenpop_reports_mailed_total{outcome="sent",schedule="support-daily"} 0.0' in text
        assert (
            'screenpop_reports_mailed_total{outcome="failed",schedule="agents-weekly"} 0.0' in text
        )
        tasks = {t.get_name() for t in asyncio.all_tasks()}
        assert "report mailer" in tasks


async def test_a_schedule_of_an_unknown_kind_stops_the_daemon_with_the_reason(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, free_port())
    config.write_text(config.read_text().replace('kind = "agents"', 'kind = "agent"'))
    with pytest.raises(ConfigError, match="'agents-weekly': kind 'agent' is not one of queues"):
        async with Daemon(load_settings(config, environ={})):
            pass
