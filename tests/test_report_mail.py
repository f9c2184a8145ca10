"""Scheduled report mails, received by a real SMTP server on loopback and read back."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import time
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from prometheus_client import CollectorRegistry

from screenpop.errors import ConfigError
from screenpop.reloads import restart_only_changes
from screenpop.report_chart import Series, chart_png
from screenpop.report_mail import MailedReport
from screenpop.report_mailer import ReportMailer
from screenpop.report_schedule import ReportSchedule
from screenpop.settings import Settings, load_settings
from screenpop.smtp_settings import SmtpSettings
from tests.harness import free_port
from tests.mailbox import smtp_server

NY = ZoneInfo("America/New_York")
CSV = "queue,interval_start,offered\nsupport,2026-11-22T09:00:00-05:00,12\n"


def schedule(**fields: object) -> ReportSchedule:
    base = {"name": "support-daily", "recipients": ["boss@example.com", "ops@example.com"]}
    return ReportSchedule.model_validate(base | fields)


async def fixed_report(entry: ReportSchedule, first: dt.date, last: dt.date) -> MailedReport:
    series = Series("offered", ["09:00", "10:00"], [12, 7], "offered", [75.0, None], "SL %")
    return MailedReport(
        subject=f"{entry.name}: {first} to {last}",
        heading=f"queues from {first} to {last}, by hour",
        columns=["queue", "interval_start", "offered"],
        rows=[["support", "2026-11-22T09:00:00-05:00", 12], ["<b>x</b>", "", None]],
        csv_text=CSV,
        csv_name=f"queues-{first}.csv",
        chart_png=chart_png(series),
    )


def mailer(port: int, registry: CollectorRegistry, **kw: object) -> ReportMailer:
    smtp = SmtpSettings(host="127.0.0.1", port=port, security="none", from_addr="pop@example.com")
    return ReportMailer([schedule()], smtp, NY, fixed_report, registry, **kw)  # type: ignore[arg-type]


def counted(registry: CollectorRegistry, outcome: str) -> float:
    value = registry.get_sample_value(
        "screenpop_reports_mailed_total", {"schedule": "support-daily", "outcome": outcome}
    )
    return value or 0.0


async def counted_soon(registry: CollectorRegistry, outcome: str) -> None:
    for _ in range(1000):
        if counted(registry, outcome):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {outcome} send counted")


def parts(msg: EmailMessage) -> dict[str, EmailMessage]:
    return {p.get_content_type(): p for p in msg.walk() if isinstance(p, EmailMessage)}


async def test_a_send_arrives_with_table_inline_chart_and_csv() -> None:
    registry = CollectorRegistry()
    async with smtp_server() as (box, port):
        due = dt.datetime(2026, 11, 23, 7, tzinfo=NY).timestamp()
        assert await mailer(port, registry).send(schedule(), due) == "sent"
    (msg,) = box.messages
    assert box.recipients == [["boss@example.com", "ops@example.com"]]
    assert msg["Subject"] == "support-daily: 2026-11-22 to 2026-11-22"
    assert msg["From"] == "pop@example.com"
    found = parts(msg)
    html = found["text/html"].get_content()
    assert '<th scope="col">interval_start</th>' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html  # cells are escaped
    png = found["image/png"]
    assert f'src="cid:{png["Content-ID"].strip("<>")}"' in html
    assert png.get_content_disposition() == "inline"  # in the body, not among the attachments
    with Image.open(io.BytesIO(png.get_content())) as image:
        assert image.format == "PNG" and image.size[0] > 100
    (attachment,) = [
        p for p in msg.iter_attachments() if p.get_filename() == "queues-2026-11-22.csv"
    ]
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_content() == CSV
    assert counted(registry, "sent") == 1


async def test_a_refused_or_unreachable_server_is_counted_not_raised() -> None:
    refused, away, unset = CollectorRegistry(), CollectorRegistry(), CollectorRegistry()
    async with smtp_server() as (box, port):
        box.refuse = True
        assert await mailer(port, refused).send(schedule(), time.time()) == "failed"
    assert await mailer(free_port(), away).send(schedule(), time.time()) == "failed"
    no_host = ReportMailer([schedule()], SmtpSettings(), NY, fixed_report, unset)
    assert await no_host.send(schedule(), time.time()) == "failed"
    for registry in (refused, away, unset):
        assert (counted(registry, "failed"), counted(registry, "sent")) == (1, 0)


async def test_a_report_that_cannot_be_computed_is_counted_and_the_task_goes_on() -> None:
    async def broken(entry: ReportSchedule, first: dt.date, last: dt.date) -> MailedReport:
        raise RuntimeError("no such table")

    registry = CollectorRegistry()
    smtp = SmtpSettings(host="127.0.0.1", port=free_port(), security="none")
    assert (
        await ReportMailer([schedule()], smtp, NY, broken, registry).send(schedule(), 0) == "failed"
    )
    assert counted(registry, "failed") == 1


async def test_the_task_sends_when_due_and_only_the_claiming_node_sends() -> None:
    due = dt.datetime(2026, 11, 23, 7, tzinfo=NY).timestamp()
    start = [0.0]

    def clock() -> float:  # half a second before 07:00 when the task starts
        return due - 0.5 + (time.time() - start[0])

    claimed: list[tuple[str, float]] = []

    async def claim(name: str, at: float) -> bool:
        claimed.append((name, at))
        return len(claimed) == 1  # this node wins the first claim only

    registry = CollectorRegistry()
    async with smtp_server() as (box, port):
        start[0] = time.time()
        task = asyncio.create_task(mailer(port, registry, clock=clock, claim=claim).run())
        try:
            await box.wait_for(1)
            await counted_soon(registry, "sent")  # the send has finished, not only arrived
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert claimed[0] == ("support-daily", due)
    assert box.messages[0]["Subject"] == "support-daily: 2026-11-22 to 2026-11-22"


async def test_a_send_another_node_claimed_is_not_mailed_here() -> None:
    async def taken(name: str, due: float) -> bool:
        return False

    registry = CollectorRegistry()
    async with smtp_server() as (box, port):
        assert (
            await mailer(port, registry, claim=taken).send(schedule(), time.time()) == "elsewhere"
        )
    assert box.messages == [] and counted(registry, "elsewhere") == 1


def test_smtp_settings_take_the_password_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "screenpop.toml"
    config.write_text('[smtp]\nhost = "127.0.0.1"\nusername = "reports"\n', encoding="utf-8")
    settings = load_settings(config, environ={"SCREENPOP__SMTP__PASSWORD": "s3cret"})
    assert (settings.smtp.username, settings.smtp.password) == ("reports", "s3cret")
    with pytest.raises(ConfigError, match="username and password go together"):
        load_settings(config, environ={})
    config.write_text('[smtp]\nsecurity = "ssl"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"smtp\.security"):
        load_settings(config, environ={})


def test_a_reload_says_smtp_changes_take_a_restart() -> None:
    old, new = Settings(), Settings(smtp=SmtpSettings(host="127.0.0.1"))
    assert restart_only_changes(old, new) == ["[smtp] changed: takes effect after a restart"]
