"""Prometheus metrics, one registry per daemon (tests run several daemons in one process)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Every metric the daemon exports at `/metrics`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "screenpop_call_events_total", "Call events received", ["source", "kind"], registry=r
        )
        self.events_ignored = Counter(
            "screenpop_call_events_ignored_total",
            "Call events ignored as late, duplicate or for no known agent",
            registry=r,
        )
        self.pops = Counter("screenpop_pops_total", "Pops delivered to agents", registry=r)
        self.event_to_pop = Histogram(
            "screenpop_event_to_pop_seconds",
            "From the ring event to the pop leaving the daemon",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ring_to_render = Histogram(
            "screenpop_ring_to_render_seconds",
            "From the pop leaving the daemon to the browser acknowledging it rendered",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.connector_latency = Histogram(
            "screenpop_connector_seconds",
            "Connector lookup latency",
            ["connector"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.connector_outcomes = Counter(
            "screenpop_connector_outcomes_total",
            "Connector lookups by outcome: ok, not_found, timeout, error, skipped (breaker open),"
            " busy (no free slot before the deadline)",
            ["connector", "outcome"],
            registry=r,
        )
        self.connector_late = Counter(
            "screenpop_connector_late_total",
            "Card sections that arrived after their card was ready to pop: the connector"
            " answered past its deadline_ms (the section said timed out), within late_ms",
            ["connector"],
            registry=r,
        )
        self.connector_breaker = Gauge(
            "screenpop_connector_breaker_state",
            "Connector circuit breaker: 0 closed, 1 open (skipped), 2 half-open (probing)",
            ["connector"],
            registry=r,
        )
        self.websockets = Gauge("screenpop_websockets", "Open agent websockets", registry=r)
        self.slow_clients = Counter(
            "screenpop_slow_clients_closed_total", "Tabs closed for not keeping up", registry=r
        )
        # The process's CPU, memory, open files and start time, and the Python version.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        # Sources, cache and board figures are read at scrape time: screenpop.live_metrics.

    def connector_outcome(self, connector: str, outcome: str, seconds: float | None) -> None:
        """Count one lookup's outcome; `seconds` is None when the connector was not called."""
        self.connector_outcomes.labels(connector, outcome).inc()
        if seconds is not None:
            self.connector_latency.labels(connector).observe(seconds)

    def late_section(self, connector: str) -> None:
        """Count a section that arrived after its card was ready to pop."""
        self.connector_late.labels(connector).inc()

    def breaker_state(self, connector: str, state: int) -> None:
        """Show a connector's breaker state (0 closed, 1 open, 2 half-open)."""
        self.connector_breaker.labels(connector).set(state)

    def render(self) -> bytes:
        return generate_latest(self.registry)
