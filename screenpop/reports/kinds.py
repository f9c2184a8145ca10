"""The report kinds, by name: the command line and the API offer what :data:`KINDS` holds, so a
new kind is one module with `columns` and `build` and one entry here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from screenpop.errors import ReportError
from screenpop.reports import agents, audit, callbacks, dispositions, queues
from screenpop.reports.model import ReportOptions, ReportQuery
from screenpop.store.schema import Tables

Build = Callable[
    [AsyncConnection, Tables, ReportQuery, ReportOptions], Awaitable[list[dict[str, Any]]]
]
Reading = Callable[[ReportQuery, ReportOptions], tuple[str | None, str]]
"""A report that shows callers' data: the caller (E.164, or None) and the detail its reading
leaves in the audit trail."""


@dataclass(frozen=True, slots=True)
class ReportKind:
    """One kind of report: its columns for the options (the agent report has one per pause
    reason) and the query that builds its rows, run on a connection of its own."""

    name: str
    summary: str
    columns: Callable[[ReportOptions], tuple[str, ...]]
    build: Build
    reading: Reading | None = None  # shows callers' data: what each reading leaves in the audit
    open_range: bool = False  # lists rows: the range may be left open (see parse_query)


KINDS: dict[str, ReportKind] = {
    kind.name: kind
    for kind in (
        ReportKind(
            "queues",
            "per queue: offered, answered, abandoned, service level, waits",
            queues.columns,
            queues.build,
        ),
        ReportKind(
            "agents",
            "per agent: handled, missed rings, talk, wrap-up, paused time",
            agents.columns,
            agents.build,
        ),
        ReportKind(
            "dispositions",
            "per queue: calls per disposition",
            dispositions.columns,
            dispositions.build,
        ),
        ReportKind(
            "audit",
            "who saw one caller's data (number) or what one agent saw (agent), newest first",
            audit.columns,
            audit.build,
            reading=audit.reading,
            open_range=True,
        ),
        ReportKind(
            "callbacks",
            "per queue: callback items made, called back, returned, time to call back",
            callbacks.columns,
            callbacks.build,
        ),
    )
}


def report_kind(name: str) -> ReportKind:
    """The kind called `name`; ReportError listing the kinds otherwise."""
    kind = KINDS.get(name)
    if kind is None:
        raise ReportError(f"no report {name!r} (one of {', '.join(KINDS)})")
    return kind
