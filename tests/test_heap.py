"""The heap keeper: what lives a while is frozen out of the collector's passes, and a reference
cycle that became garbage after it was frozen is still freed by the next deep pass."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from screenpop.heap import FULL_EVERY, HeapKeeper


class Tab:
    """Stands for a closed tab's objects: two that point at each other."""

    def __init__(self) -> None:
        self.peer: Tab | None = None


def _cycle() -> tuple[Tab, weakref.ref[Tab]]:
    a, b = Tab(), Tab()
    a.peer, b.peer = b, a
    return a, weakref.ref(b)


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the suite collects as usual


def _value(registry: CollectorRegistry, name: str, kind: str | None = None) -> float:
    labels = {"kind": kind} if kind else None
    return registry.get_sample_value(name, labels) or 0.0


def test_settling_freezes_what_survived_and_a_frozen_cycle_waits_for_the_deep_pass() -> None:
    registry = CollectorRegistry()
    keeper = HeapKeeper(registry)
    held, peer = _cycle()
    keeper.settle()
    assert held not in gc.get_objects()  # frozen: the collector's passes no longer walk it
    assert gc.get_freeze_count() > 0

    del held  # the tab closes: its objects are garbage, but only in a cycle
    gc.collect()
    assert peer() is not None  # frozen garbage is not seen by an ordinary full collection

    assert keeper.deep() >= 2
    assert peer() is None
    assert _value(registry, "screenpop_heap_freed_objects_total", "deep") >= 2
    assert _value(registry, "screenpop_heap_pass_seconds_total", "deep") > 0
    assert gc.get_freeze_count() > 0  # what survived the deep pass is frozen again


def test_settling_frees_the_young_cycles_it_finds() -> None:
    registry = CollectorRegistry()
    keeper = HeapKeeper(registry)
    gc.disable()  # so that only the keeper's pass can find the cycle
    try:
        held, peer = _cycle()
        del held
        assert keeper.settle() >= 2
    finally:
        gc.enable()
    assert peer() is None
    assert _value(registry, "screenpop_heap_freed_objects_total", "settle") >= 2


async def test_a_due_deep_pass_waits_for_a_quiet_moment() -> None:
    registry = CollectorRegistry()
    busy = True
    keeper = HeapKeeper(registry, lambda: not busy, settle_s=0.01, deep_s=0, deep_wait_s=60)
    running = asyncio.create_task(keeper.run())
    try:
        held, peer = _cycle()
        await asyncio.sleep(0.3)  # due since the start, but a call is being delivered
        assert _value(registry, "screenpop_heap_pass_seconds_total", "deep") == 0
        del held
        busy = False
        for _ in range(100):
            if peer() is None:
                break
            await asyncio.sleep(0.01)
        assert peer() is None
        assert _value(registry, "screenpop_heap_freed_objects_total", "deep") >= 2
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_deep_pass_that_never_finds_a_quiet_moment_runs_after_its_wait() -> None:
    registry = CollectorRegistry()
    keeper = HeapKeeper(registry, lambda: False, settle_s=0.01, deep_s=0, deep_wait_s=0.1)
    running = asyncio.create_task(keeper.run())
    try:
        for _ in range(200):
            if _value(registry, "screenpop_heap_pass_seconds_total", "deep") > 0:
                break
            await asyncio.sleep(0.01)
        assert _value(registry, "screenpop_heap_pass_seconds_total", "deep") > 0
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_while_it_runs_the_collectors_own_full_passes_come_rarer() -> None:
    before = gc.get_threshold()
    running = asyncio.create_task(HeapKeeper(CollectorRegistry(), settle_s=60).run())
    await asyncio.sleep(0)
    try:
        assert gc.get_threshold() == (before[0], before[1], before[2] * FULL_EVERY)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert gc.get_threshold() == before  # stopped: as it found them


async def test_two_keepers_in_one_process_put_the_thresholds_back_whatever_order_they_stop() -> (
    None
):
    before = gc.get_threshold()
    first = asyncio.create_task(HeapKeeper(CollectorRegistry(), settle_s=60).run())
    await asyncio.sleep(0)
    second = asyncio.create_task(HeapKeeper(CollectorRegistry(), settle_s=60).run())
    await asyncio.sleep(0)
    assert gc.get_threshold()[2] == before[2] * FULL_EVERY  # not made rarer twice
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    assert gc.get_threshold()[2] == before[2] * FULL_EVERY  # the second still runs
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    assert gc.get_threshold() == before
