"""Every benchmark case by its number, as `--cases` names them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bench.cases import CaseResult, Context, cache_hits, cache_misses, idle_agents, ramp
from bench.nodes import two_nodes
from bench.reports import reports

CASES: dict[str, Callable[[Context], Awaitable[list[CaseResult]]]] = {
    "1": cache_hits,
    "2": cache_misses,
    "3": lambda ctx: cache_misses(ctx, hanging=True),
    "4": ramp,
    "5": idle_agents,
    "6": two_nodes,
    "7": reports,
}
