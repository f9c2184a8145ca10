"""Search: ask every searching connector for customers matching a name, id or number at once.

:func:`search_all` runs one TaskGroup over the connectors a role may see that declare search
(see :func:`screenpop.connectors.contract.can_search`), each under its own ``deadline_ms`` and
behind its concurrency limit; a failure (an error, the deadline, an open breaker) becomes that
connector's status and never cancels a sibling. The answers are merged by ``customer_id``:
``{"q", "results": [{"customer_id", "name", "numbers", "sections"}], "sections": {name:
{"status", "ms", "error"?}}}``, with the role's ``hide`` paths removed before the merge.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from screenpop.card import redact_section
from screenpop.connectors.contract import Searcher, SearchResult, can_search
from screenpop.connectors.guard import BUSY, UNAVAILABLE, BreakerState, ConnectorBusy
from screenpop.connectors.runtime import ConnectorRuntime
from screenpop.errors import ConnectorError
from screenpop.settings import RoleSettings

log = logging.getLogger(__name__)

MIN_CHARS = 2
MAX_CHARS = 100
MAX_RESULTS = 50  # per connector


class SearchCounters:
    """What `/metrics` counts of searches: every search, and each connector's failures."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.searches = Counter(
            "screenpop_searches_total", "Customer searches by agents", registry=registry
        )
        self.errors = Counter(
            "screenpop_search_errors_total",
            "Connector searches that failed, timed out or were skipped",
            ["connector"],
            registry=registry,
        )


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    """One connector's answer to one search."""

    status: str  # ok, timeout, error
    ms: float
    records: Sequence[Mapping[str, Any]] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "ms": round(self.ms, 1)}
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(slots=True)
class _Merged:
    customer_id: str
    name: str | None = None
    numbers: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "name": self.name,
            "numbers": self.numbers,
            "sections": self.sections,
        }


def check_query(q: str) -> str:
    """`q` stripped; ValueError unless it is 2 to 100 characters."""
    q = q.strip()
    if not MIN_CHARS <= len(q) <= MAX_CHARS:
        raise ValueError(f"q: between {MIN_CHARS} and {MAX_CHARS} characters")
    return q


def to_records(result: SearchResult) -> list[dict[str, Any]]:
    """A connector's search answer checked at the trust boundary: a list of mappings, each with
    a customer_id; name a string or None, numbers a list of strings. TypeError otherwise."""
    if isinstance(result, str | bytes | Mapping) or not isinstance(result, Sequence):
        raise TypeError(f"the search answer is a {type(result).__name__}, not a list")
    out = []
    for row in result[:MAX_RESULTS]:
        if not isinstance(row, Mapping):
            raise TypeError(f"a search result is a {type(row).__name__}, not a record")
        out.append(dict(row))
    return out


def searchers(runtimes: Sequence[ConnectorRuntime], role: RoleSettings) -> list[ConnectorRuntime]:
    """The connectors that search and that `role` may see."""
    return [
        r
        for r in runtimes
        if can_search(r.connector) and (role.sections is None or r.name in role.sections)
    ]


async def search_one(runtime: ConnectorRuntime, q: str) -> SearchAnswer:
    """One connector's search under its deadline; every failure is a status."""
    if runtime.guard.breaker.state is BreakerState.OPEN:
        return SearchAnswer("error", 0.0, error=UNAVAILABLE)
    start = time.perf_counter()
    connector = runtime.connector
    assert isinstance(connector, Searcher)
    deadline_s = runtime.settings.deadline_ms / 1000
    try:
        async with asyncio.timeout(deadline_s):
            async with runtime.guard.limit.slot(deadline_s):
                records = to_records(await connector.search(q))
    except ConnectorBusy:
        return SearchAnswer("error", _ms(start), error=BUSY)
    except TimeoutError:
        return SearchAnswer("timeout", _ms(start))
    except ConnectorError as exc:
        return SearchAnswer("error", _ms(start), error=str(exc) or type(exc).__name__)
    except Exception:
        log.exception("connector %s: search failed", runtime.name)
        return SearchAnswer("error", _ms(start), error="internal error")
    return SearchAnswer("ok", _ms(start), records)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


async def search_all(
    runtimes: Sequence[ConnectorRuntime],
    q: str,
    role: RoleSettings,
    counters: SearchCounters | None = None,
) -> dict[str, Any]:
    """Every searching connector the role may see, at once; the merged answer (module doc)."""
    todo = searchers(runtimes, role)
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(search_one(r, q)) for r in todo]
    answers = {r.name: t.result() for r, t in zip(todo, tasks, strict=True)}
    if counters is not None:
        counters.searches.inc()
        for name, answer in answers.items():
            if answer.status != "ok":
                counters.errors.labels(name).inc()
    priorities = {r.name: r.settings.priority for r in todo}
    return {
        "q": q,
        "results": merge(answers, priorities, role),
        "sections": {name: a.to_json() for name, a in answers.items()},
    }


def merge(
    answers: Mapping[str, SearchAnswer], priorities: Mapping[str, int], role: RoleSettings | None
) -> list[dict[str, Any]]:
    """The customers found, merged by customer_id (best priority first), hidden fields removed."""
    found: dict[str, _Merged] = {}
    for name in sorted(answers, key=lambda n: (priorities.get(n, 100), n)):
        for record in _visible(name, answers[name].records, role):
            cid = record.get("customer_id")
            if cid in (None, "") or isinstance(cid, Mapping | list):
                continue
            entry = found.setdefault(str(cid), _Merged(str(cid)))
            name_value = record.get("name")
            if entry.name is None and isinstance(name_value, str) and name_value:
                entry.name = name_value
            for number in _numbers(record.get("numbers")):
                if number not in entry.numbers:
                    entry.numbers.append(number)
            if name not in entry.sections:
                entry.sections.append(name)
    return [entry.to_json() for entry in found.values()]


def _visible(
    name: str, records: Sequence[Mapping[str, Any]], role: RoleSettings | None
) -> list[Mapping[str, Any]]:
    data = redact_section(name, {"data": list(records)}, role)["data"]
    return [r for r in data if isinstance(r, Mapping)]


def _numbers(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int) and str(v)]
    return []
