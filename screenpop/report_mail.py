"""A report as a mail: an HTML table with the chart inline (``cid:``), a plain-text part, the CSV
attached; and sending it over SMTP (aiosmtplib) as `[smtp]` says."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from screenpop.errors import ScreenpopError
from screenpop.smtp_settings import SmtpSettings

MAX_HTML_ROWS = 500  # the table in the body stops there; the attachment has every row


class MailError(ScreenpopError):
    """A report mail could not be sent (no server configured, refused, unreachable...)."""


@dataclass(frozen=True, slots=True)
class MailedReport:
    """What one mail carries: its subject, the table, the CSV and the chart (a PNG, or None)."""

    subject: str
    heading: str  # the first line of the body: the report, its range and interval
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    csv_text: str
    csv_name: str  # the attachment's file name
    chart_png: bytes | None


def build_message(report: MailedReport, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The mail: multipart/mixed of (text | html with the inline chart) and the CSV."""
    msg = EmailMessage()
    msg["Subject"] = report.subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(_text_body(report))
    cid = make_msgid(domain="screenpop.chart")
    msg.add_alternative(_html_body(report, cid[1:-1] if report.chart_png else None), subtype="html")
    if report.chart_png:
        html_part = msg.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)  # the part just added
        html_part.add_related(  # inline: shown in the body, not listed as an attachment
            report.chart_png,
            maintype="image",
            subtype="png",
            cid=cid,
            filename="chart.png",
            disposition="inline",
        )
    msg.add_attachment(
        report.csv_text.encode("utf-8"),
        maintype="text",
        subtype="csv",
        filename=report.csv_name,
    )
    return msg


async def send_message(smtp: SmtpSettings, msg: EmailMessage) -> None:
    """Send `msg` through `[smtp]`; MailError (with the server's reason) when it is not sent."""
    if not smtp.enabled:
        raise MailError("no [smtp] host configured")
    try:
        await aiosmtplib.send(
            msg,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username or None,
            password=smtp.password or None,
            use_tls=smtp.security == "tls",
            start_tls=smtp.security == "starttls",
            timeout=smtp.timeout_s,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise MailError(f"smtp {smtp.host}:{smtp.port}: {exc}") from exc


def _text_body(report: MailedReport) -> str:
    return (
        f"{report.heading}\n\n{len(report.rows)} rows; the table is in {report.csv_name}, "
        "attached.\n"
    )


def _html_body(report: MailedReport, cid: str | None) -> str:
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in report.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in report.rows[:MAX_HTML_ROWS]
    )
    more = len(report.rows) - MAX_HTML_ROWS
    note = f"<p>{more} more rows in the attachment.</p>" if more > 0 else ""
    chart = f'<p><img src="cid:{cid}" alt="{html.escape(report.heading)}"></p>' if cid else ""
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f'<h1 style="font-size:1.2em">{html.escape(report.heading)}</h1>{chart}'
        f'<table border="1" cellspacing="0" cellpadding="3"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>{note}</body></html>"
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)
