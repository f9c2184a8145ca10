"""The write-back's figures for `/metrics`: items per connector and state, and the counters."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from screenpop.writeback import Writeback


class RecordFigures(Collector):
    """Register one on the daemon's registry once the write-back exists."""

    def __init__(self, writeback: Writeback) -> None:
        self._wb = writeback

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        wb = self._wb
        items = GaugeMetricFamily(
            "screenpop_record_items",
            "Write-backs kept per connector: pending (to send) or failed (refused for good)",
            labels=["connector", "state"],
        )
        for state, counts in (("pending", wb.queue.pending), ("failed", wb.queue.failed)):
            for connector in sorted(set(counts) | set(wb.recording())):
                items.add_metric([connector, state], float(counts.get(connector, 0)))
        yield items
        for name, help_text, counts in (
            ("screenpop_record_delivered", "Write-backs the back office took", wb.delivered),
            ("screenpop_record_retried", "Write-back tries that failed and wait", wb.retried),
            ("screenpop_record_rejected", "Write-backs refused for good", wb.rejected),
        ):
            counter = CounterMetricFamily(name, help_text, labels=["connector"])
            for connector in sorted(set(counts) | set(wb.recording())):
                counter.add_metric([connector], float(counts.get(connector, 0)))
            yield counter
        lost = CounterMetricFamily(
            "screenpop_record_lost", "Write-backs a full queue dropped", labels=["kind"]
        )
        lost.add_metric(["call_end"], float(wb.queue.dropped))
        lost.add_metric(["note"], float(wb.queue.refused))
        yield lost
