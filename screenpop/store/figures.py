"""The store writer's figures for `/metrics`, read at scrape time: whether the store takes
writes, what waits in the outbox, and what was dropped, refused or lost."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from screenpop.store.writer import StoreWriter


class WriterFigures(Collector):
    """Register one on the daemon's registry once the store writer exists."""

    def __init__(self, writer: StoreWriter) -> None:
        self._writer = writer

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        w = self._writer
        up = GaugeMetricFamily("screenpop_store_up", "1 while the store takes writes")
        up.add_metric([], 1.0 if w.store_up else 0.0)
        yield up
        waiting = GaugeMetricFamily(
            "screenpop_outbox_items", "Writes waiting in the outbox for the store", labels=["kind"]
        )
        for kind, count in w.outbox.counts.items():
            waiting.add_metric([kind], float(count))
        yield waiting
        for name, help_text, value in (
            ("screenpop_outbox_written", "Writes moved from the outbox to the store", w.written),
            (
                "screenpop_outbox_dropped",
                "Call-log rows pushed out of a full outbox (notes never are)",
                w.outbox.dropped,
            ),
            ("screenpop_store_rejected_writes", "Writes the store refused, dropped", w.rejected),
            (
                "screenpop_call_log_lost",
                "Call-log rows neither the store nor the outbox could keep",
                w.lost,
            ),
        ):
            counter = CounterMetricFamily(name, help_text)
            counter.add_metric([], float(value))
            yield counter
