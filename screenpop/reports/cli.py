"""`screenpop report KIND --from DATE --to DATE`: a report from the call log on stdout."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from screenpop.errors import ReportError, StoreError
from screenpop.paths import resolve_url
from screenpop.reports.kinds import KINDS
from screenpop.reports.model import INTERVALS, Report, ReportQuery, options_from, parse_query
from screenpop.reports.service import Reporter
from screenpop.settings import Settings

FORMATS = ("table", "csv", "json")


def add_report_command(sub: Any, config_help: str) -> None:
    """The `report` subcommand on the `screenpop` parser."""
    report = sub.add_parser(
        "report",
        help="a report from the call log: per queue, agent or disposition, by interval",
        description="Read the call log of the config's [store] and print one report over the "
        "local days FROM to TO (both included) of [ui] timezone, in buckets of --interval. "
        "The queue report's service level uses [board] service_level_s and leaves out calls "
        "abandoned within [reports] short_abandon_s. Kinds: "
        + "; ".join(f"{k.name}: {k.summary}" for k in KINDS.values()),
    )
    report.add_argument("kind", choices=list(KINDS), help="the report")
    report.add_argument("--config", help=config_help)
    report.add_argument("--from", dest="start", required=True, metavar="DATE",
                        help="first day, YYYY-MM-DD")  # fmt: skip
    report.add_argument("--to", dest="end", required=True, metavar="DATE",
                        help="last day (included), YYYY-MM-DD")  # fmt: skip
    report.add_argument("--interval", choices=INTERVALS, default="day",
                        help="bucket size, or a distribution (default: day)")  # fmt: skip
    report.add_argument("--queue", help="only this queue")
    report.add_argument("--format", choices=FORMATS, default="table",
                        help="table (default), csv or json")  # fmt: skip


def run_report(settings: Settings, args: argparse.Namespace) -> int:
    """Print the report; 2 with a message for bad parameters, 1 when the store fails."""
    try:
        query = parse_query(
            args.kind, args.start, args.end, args.interval, args.queue, settings.ui.timezone
        )
        report = asyncio.run(_report(settings, query))
    except ReportError as exc:
        print(f"screenpop report: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"screenpop report: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render(report, args.format))
    return 0


def render(report: Report, format_: str) -> str:
    if format_ == "csv":
        return report.to_csv()
    if format_ == "json":
        return json.dumps(report.to_json(), indent=2) + "\n"
    return report.to_table()


async def _report(settings: Settings, query: ReportQuery) -> Report:
    async with Reporter(resolve_url(settings.store.url, settings.base_dir)) as reporter:
        return await reporter.run(query, options_from(settings))
