"""Scheduled reports: one background task that mails each `[[reports.schedule]]` entry when it
is due (:mod:`screenpop.report_schedule` says when and over which days).

A send that fails (the report could not be computed, the mail server refused it or did not
answer) is logged and counted in ``screenpop_reports_mailed_total{schedule,outcome="failed"}``;
it is not retried, and the next one goes out at its own time. The task never ends on a failure.
In cluster mode each send is claimed first (:func:`redis_claim`): the node that claims it sends,
the others count ``outcome="elsewhere"``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CollectorRegistry, Counter

from screenpop.errors import ScreenpopError
from screenpop.report_mail import MailedReport, build_message, send_message
from screenpop.report_schedule import ReportSchedule, covered, next_send
from screenpop.smtp_settings import SmtpSettings

log = logging.getLogger(__name__)

MAX_SLEEP_S = 60.0  # wake at least this often: a clock changed by hand is noticed within it

MakeReport = Callable[[ReportSchedule, dt.date, dt.date], Awaitable[MailedReport]]
"""Computes the report an entry sends, over local dates first..last (both included)."""
Claim = Callable[[str, float], Awaitable[bool]]
"""True when this node is the one to send schedule `name`'s send due at epoch time `due`."""


class ReportMailer:
    """Mails the scheduled reports. :meth:`run` until cancelled; :meth:`send` one send."""

    def __init__(
        self,
        schedules: Sequence[ReportSchedule],
        smtp: SmtpSettings,
        tz: dt.tzinfo | None,
        make_report: MakeReport,
        registry: CollectorRegistry,
        claim: Claim | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.schedules = tuple(schedules)
        self._smtp = smtp
        self._tz = tz
        self._make = make_report
        self._claim = claim
        self._clock = clock
        self.mailed = Counter(
            "screenpop_reports_mailed_total",
            "Scheduled report sends by outcome: sent, failed (logged), elsewhere (another"
            " cluster node sent it)",
            ["schedule", "outcome"],
            registry=registry,
        )
        for entry in self.schedules:  # at 0 from the start, so a dashboard sees every schedule
            for outcome in ("sent", "failed"):
                self.mailed.labels(entry.name, outcome)

    async def run(self) -> None:
        """Send every entry at its times, until cancelled."""
        if not self.schedules:
            return
        now = self._clock()
        due = {e.name: next_send(e, now, self._tz) for e in self.schedules}
        for entry in self.schedules:
            log.info("reports: %s next mailed at %s", entry.name, self._local(due[entry.name]))
        while True:
            now = self._clock()
            for entry in self.schedules:
                if due[entry.name] <= now:
                    await self.send(entry, due[entry.name])
                    due[entry.name] = next_send(entry, max(now, due[entry.name]), self._tz)
            wait = min(due.values()) - self._clock()
            await asyncio.sleep(min(max(wait, 0.0), MAX_SLEEP_S))

    async def send(self, entry: ReportSchedule, due: float) -> str:
        """Compute and mail `entry`'s report for the send due at `due`; the outcome (sent,
        failed, elsewhere), also counted. Never raises a failure of the send."""
        outcome = "sent"
        try:
            if self._claim is not None and not await self._claim(entry.name, due):
                outcome = "elsewhere"
            else:
                first, last = covered(entry, due, self._tz)
                report = await self._make(entry, first, last)
                msg = build_message(report, self._smtp.from_addr, entry.recipients)
                await send_message(self._smtp, msg)
                log.info("reports: %s (%s to %s) mailed", entry.name, first, last)
        except ScreenpopError as exc:
            outcome = "failed"
            log.error("reports: %s not mailed: %s", entry.name, exc)
        except Exception:
            outcome = "failed"
            log.exception("reports: %s not mailed", entry.name)
        self.mailed.labels(entry.name, outcome).inc()
        return outcome

    def _local(self, ts: float) -> str:
        return dt.datetime.fromtimestamp(ts, self._tz).isoformat(timespec="minutes")
