"""Scheduled reports wired to the daemon: the engine's report for each send, as a mail with its
chart, and in cluster mode the claim that makes one node send it.

The daemon calls :func:`start_mailing` once; the task it spawns lives as long as the daemon
(`[[reports.schedule]]` and `[smtp]` changes take a restart).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any

from prometheus_client import CollectorRegistry

from screenpop.cluster.node import ClusterNode
from screenpop.cluster.redis import ClusterDown
from screenpop.keys import report_send_key
from screenpop.localday import zone
from screenpop.report_chart import Series, chart_png
from screenpop.report_mail import MailedReport
from screenpop.report_mailer import Claim, ReportMailer
from screenpop.report_schedule import ReportSchedule, check_kinds
from screenpop.reports.kinds import KINDS
from screenpop.reports.model import INTERVALS, Report, ReportQuery, options_from
from screenpop.reports.service import Reporter
from screenpop.settings import Settings
from screenpop.tasks import TaskOwner

log = logging.getLogger(__name__)

CLAIM_S = 6 * 3600  # a send's claim outlives any clock skew between the nodes
BARS = ("offered", "handled", "calls")  # what the chart counts, the first the report has


def start_mailing(
    cfg: Settings,
    reporter: Reporter,
    registry: CollectorRegistry,
    tasks: TaskOwner,
    cluster: ClusterNode | None,
) -> ReportMailer:
    """The mailer of `cfg`'s schedules, its task spawned on `tasks` (none without schedules).
    ConfigError for an entry whose kind or interval the engine does not have."""
    check_kinds(cfg.reports.schedule, KINDS, INTERVALS)
    tz = zone(cfg.ui.timezone)

    async def make(entry: ReportSchedule, first: dt.date, last: dt.date) -> MailedReport:
        query = ReportQuery(entry.kind, first, last, entry.interval, entry.queue, cfg.ui.timezone)
        return mailed(entry, await reporter.run(query, options_from(cfg)))

    claim = redis_claim(cluster) if cluster is not None else None
    mailer = ReportMailer(cfg.reports.schedule, cfg.smtp, tz, make, registry, claim)
    if mailer.schedules:
        if not cfg.smtp.enabled:
            log.warning("reports: [[reports.schedule]] is set but [smtp] host is not: no mail")
        tasks.spawn(mailer.run(), name="report mailer")
    return mailer


def redis_claim(cluster: ClusterNode) -> Claim:
    """One node sends each send: the first to set its key in Redis. While Redis does not answer,
    every node sends (a report twice rather than none)."""
    redis = cluster.redis
    node_id = cluster.node_id

    async def claim(name: str, due: float) -> bool:
        key = redis.key(report_send_key(name, due))
        try:
            return bool(await redis.call(redis.client.set, key, node_id, nx=True, ex=CLAIM_S))
        except ClusterDown:
            log.warning("reports: Redis away, %s is sent from %s without a claim", name, node_id)
            return True

    return claim


def mailed(entry: ReportSchedule, report: Report) -> MailedReport:
    """The mail of `entry`'s `report`: its table, CSV and chart."""
    q = report.query
    days = f"{q.start}" if q.start == q.end else f"{q.start} to {q.end}"
    where = f", queue {q.queue}" if q.queue else ""
    return MailedReport(
        subject=f"{entry.name}: {q.kind} report, {days}",
        heading=f"{q.kind} report, {days}, by {q.interval}{where}",
        columns=report.columns,
        rows=[[row[c] for c in report.columns] for row in report.rows],
        csv_text=report.to_csv(),
        csv_name=report.filename,
        chart_png=chart_png(series_of(report)),
    )


def series_of(report: Report) -> Series:
    """What the chart shows of `report`: per interval (every queue or agent added up) the count
    of the first of :data:`BARS` it has and, for the queue report, the service level %."""
    bars_column = next((c for c in BARS if c in report.columns), "")
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in report.rows:
        into = totals[str(row.get("interval_start", ""))]
        for column in {bars_column, "answered_within_sl", "answered", "abandoned"} - {""}:
            if isinstance(row.get(column), int | float):
                into[column] += float(row[column])
    starts = sorted(totals)
    line = None
    if "service_level" in report.columns:
        line = [_level(totals[s]) for s in starts]
    name = bars_column or "rows"
    return Series(
        title=f"{report.kind}, {report.query.start} to {report.query.end}",
        labels=[_label(s, report.query.interval) for s in starts],
        bars=[totals[s][bars_column] if bars_column else 0.0 for s in starts],
        bars_name=name,
        line=line,
        line_name="service level %",
    )


def _level(figures: dict[str, Any]) -> float | None:
    """As the queue report counts it: within the threshold / (answered + abandoned)."""
    counted = figures["answered"] + figures["abandoned"]
    return 100.0 * figures["answered_within_sl"] / counted if counted > 0 else None


def _label(start: str, interval: str) -> str:
    if interval in ("15m", "hour") and len(start) >= 16:
        return start[11:16]
    if interval in ("day", "week") and len(start) >= 10:
        return start[5:10]
    if interval == "month" and len(start) >= 7:
        return start[:7]
    return start
