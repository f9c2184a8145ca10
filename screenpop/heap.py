"""Keeping the garbage collector's pauses short while the heap grows with the tabs.

CPython's full (generation-2) collection walks every tracked object. Start-up is frozen
(`gc.freeze()` in `Daemon.serve`), but ten thousand agent connections made after it are over
a million objects of their own, and walking them stopped the loop for 1.4-1.6 s every fifteen
seconds (2-core machine, clients beside it), with nothing to free: a pop caught behind one
arrived that much late.

The keeper moves what has lived a while out of the collector's sight too:

- every `settle_s` it collects the two young generations (small, quick) and freezes all that
  is left; the collector's automatic full passes then only walk what became old since, so
  their cost follows the traffic of the last seconds, not the number of tabs;
- every `deep_s` it thaws everything and runs one full collection, so a reference cycle that
  became garbage after it was frozen (a tab that closed, say) is freed after all. That pass is
  as long as a full collection ever was (about a second with 10,000 tabs on a 2-core machine);
  it waits for a moment when no call's messages are being delivered (`quiet`), for at most
  `deep_wait_s`, and is logged with what it took.

While the keeper runs, the collector's automatic full passes come ten times rarer: the settles
already take the old generation out of their way, so what is left for those passes is mostly
cycles of closed connections (aiohttp leaves about 35 objects in cycles per closed websocket).

An object freed by its reference count is freed at once, frozen or not: only cycles wait.
(`gc.get_freeze_count()` walks the whole frozen list, ~0.1 s with 10,000 tabs: nothing here
calls it on a hot path, and /metrics shows the passes, not the count.)
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger(__name__)

SETTLE_S = 10.0  # how often what survived the last interval is frozen
DEEP_S = 1800.0  # how often everything is thawed and collected once
DEEP_WAIT_S = 120.0  # how long a due deep pass waits for a quiet moment
QUIET_POLL_S = 0.05  # how often, while it waits, it looks for one
FULL_EVERY = 10  # the collector's automatic full passes this many times rarer


class HeapKeeper:
    """Freezes what survives each interval; thaws and collects everything now and then."""

    def __init__(
        self,
        registry: CollectorRegistry,
        quiet: Callable[[], bool] = lambda: True,
        settle_s: float = SETTLE_S,
        deep_s: float = DEEP_S,
        deep_wait_s: float = DEEP_WAIT_S,
    ) -> None:
        self._quiet = quiet
        self.settle_s = settle_s
        self.deep_s = deep_s
        self.deep_wait_s = deep_wait_s
        self._last_deep = time.monotonic()
        self._freed = Counter(
            "screenpop_heap_freed_objects_total",
            "Objects in reference cycles the heap keeper's own passes freed, by pass:"
            " settle (the young generations) or deep (everything, thawed)",
            ["kind"],
            registry=registry,
        )
        self._pass_seconds = Counter(
            "screenpop_heap_pass_seconds_total",
            "Time the event loop stood still in the heap keeper's passes, by pass",
            ["kind"],
            registry=registry,
        )
        for kind in ("settle", "deep"):
            self._freed.labels(kind)
            self._pass_seconds.labels(kind)

    def settle(self) -> int:
        """Collect the young generations and freeze what is left; the number freed. The old
        generation is frozen uncollected: walking it is the pause this avoids."""
        start = time.perf_counter()
        freed = gc.collect(1)
        gc.freeze()
        self._count("settle", freed, time.perf_counter() - start)
        return freed

    def deep(self) -> int:
        """Thaw everything, collect it all once, freeze the survivors; the number freed."""
        start = time.perf_counter()
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        took = time.perf_counter() - start
        self._last_deep = time.monotonic()
        self._count("deep", freed, took)
        log.info("full garbage collection: %d objects freed in %.0f ms", freed, took * 1000)
        return freed

    def _count(self, kind: str, freed: int, seconds: float) -> None:
        self._freed.labels(kind).inc(freed)
        self._pass_seconds.labels(kind).inc(seconds)

    async def run(self) -> None:
        """Settle every `settle_s`; a deep pass when one is due, at a quiet moment. While it
        runs, the collector's own full passes come `FULL_EVERY` times rarer (the settles
        freeze the old generation without walking it); the thresholds return when it stops."""
        _rarer_full_passes(True)
        try:
            while True:
                await asyncio.sleep(self.settle_s)
                if time.monotonic() - self._last_deep < self.deep_s:
                    self.settle()
                    continue
                await self._wait_for_quiet()
                self.deep()
        finally:
            _rarer_full_passes(False)

    async def _wait_for_quiet(self) -> None:
        # Polled: quiet is a counter the couriers keep, and this wait comes once in `deep_s`;
        # an event set by every courier job would cost each pop to save this loop.
        give_up = time.monotonic() + self.deep_wait_s
        while not self._quiet() and time.monotonic() < give_up:  # noqa: ASYNC110
            await asyncio.sleep(QUIET_POLL_S)


_keepers = 0  # keepers running in this process (tests and embedders run several daemons)
_thresholds = gc.get_threshold()  # as the first of them found them


def _rarer_full_passes(start: bool) -> None:
    """The first keeper to start makes full passes rarer; the last one to stop puts back the
    thresholds it found."""
    global _keepers, _thresholds
    if start:
        if _keepers == 0:
            _thresholds = gc.get_threshold()
            young, middle, old = _thresholds
            gc.set_threshold(young, middle, old * FULL_EVERY)
        _keepers += 1
        return
    _keepers -= 1
    if _keepers == 0:
        gc.set_threshold(*_thresholds)
