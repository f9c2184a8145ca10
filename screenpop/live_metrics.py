"""Figures read at scrape time for `/metrics`, named as Prometheus expects.

Counts that other parts keep (frames a source rejected, its reconnects, cache failures, calls
aged off the board) are exported as counters (`..._total`), never as gauges; states (a source
up, callers waiting, agents by state, seconds since a source's last event) are gauges. Also
`screenpop_build_info` with the version. Register one :class:`LiveFigures` on the daemon's
registry once its sources, cache and board exist.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from screenpop import __version__
from screenpop.board.figures import AGENT_STATES
from screenpop.board.model import Board
from screenpop.cache import Cache
from screenpop.telephony.base import Source


class LiveFigures(Collector):
    """Reads the sources, the cache and the board each time `/metrics` is scraped."""

    def __init__(self, sources: Mapping[str, Source], cache: Cache, board: Board) -> None:
        self._sources = sources
        self._cache = cache
        self._board = board

    def collect(self) -> Iterator[InfoMetricFamily | CounterMetricFamily | GaugeMetricFamily]:
        yield InfoMetricFamily("screenpop_build", "The running version", {"version": __version__})
        yield from self._source_figures(time.time())
        cache_errors = CounterMetricFamily(
            "screenpop_cache_errors", "Cache operations that failed (served without the cache)"
        )
        cache_errors.add_metric([], float(getattr(self._cache, "errors", 0)))
        yield cache_errors
        yield from self._board_figures()

    def _source_figures(self, now: float) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "screenpop_source_up", "1 when the telephony source is connected", labels=["source"]
        )
        rejected = CounterMetricFamily(
            "screenpop_source_rejected_frames",
            "Malformed or unauthenticated frames or requests a source rejected",
            labels=["source"],
        )
        reconnects = CounterMetricFamily(
            "screenpop_source_reconnects", "Times a source lost its link", labels=["source"]
        )
        quiet = GaugeMetricFamily(
            "screenpop_source_seconds_since_last_event",
            "Seconds since the source's last call event (absent before the first)",
            labels=["source"],
        )
        for name, source in self._sources.items():
            status = source.status
            up.add_metric([name], 1.0 if status.connected else 0.0)
            rejected.add_metric([name], float(status.rejected))
            reconnects.add_metric([name], float(status.reconnects))
            if status.last_event_at is not None:
                quiet.add_metric([name], max(0.0, now - status.last_event_at))
        yield from (up, rejected, reconnects, quiet)

    def _board_figures(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        board = self._board
        waiting = GaugeMetricFamily(
            "screenpop_queue_callers_waiting",
            "Callers waiting in a queue (queued or ringing, not answered)",
            labels=["queue"],
        )
        per_queue = board.waiting()
        for queue in board.queue_names(per_queue):
            waiting.add_metric([queue], float(len(per_queue.get(queue, []))))
        agents = GaugeMetricFamily(
            "screenpop_agents", "Agents on the board by state", labels=["state"]
        )
        now = time.time()
        states = Counter(board.agent_state(agent_id, now) for agent_id in board.agents)
        for state in AGENT_STATES:
            agents.add_metric([state], float(states.get(state, 0)))
        aged = CounterMetricFamily(
            "screenpop_board_calls_aged_out",
            "Calls removed from the board because the PBX never said they ended",
        )
        aged.add_metric([], float(board.aged_out))
        yield from (waiting, agents, aged)
