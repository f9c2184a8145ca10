"""A call leaves nothing in reference cycles: whatever it allocated is freed by reference
counting when the call is over, so the collector's full passes (which stop the event loop for a
time that grows with the heap) have nothing to find and run rarely.

Calls run through a real daemon: the fake Asterisk over a real AMI connection, the agent's tab and
a supervisor's board on websockets, one connector answering after its deadline (the pop goes out
without it, then the card fills in). `bench.cycles` counts what the calls left that only the
collector could free (`gc.DEBUG_SAVEALL`); `python -m bench.cycles` prints the same by type.
What start-up built is frozen once the daemon serves, so those passes never walk it either.
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from bench.cycles import Measured, Setup, run
from screenpop.daemon import Daemon
from tests.harness import make_settings

CALLS = 25  # per series: 25 new callers (cache misses), then the same 25 again (cache hits)
# Measured: 0.0 per call once the card build stopped closing over itself; 15-19 per call before
# (CallRuntime -> CardBuild -> its update callback, a closure over the build and the runtime).
BOUND_PER_CALL = 1.0
# The call log's upsert statement, built again for every write (screenpop/store): its
# `Insert.excluded` alias of the calls table is a cycle of ~130 SQLAlchemy objects per write.
STORE_STATEMENT = "sqlalchemy."


def _shown(result: Measured) -> str:
    return "; ".join(f"{p.count / result.calls:.2f}/call: {p.text()}" for p in result.pieces[:5])


async def test_a_call_leaves_no_cycles_in_the_pipeline_hit_or_miss() -> None:
    results = await run(CALLS, Setup("gc test", late=True))
    assert [r.name for r in results] == ["gc test: cache misses", "gc test: cache hits"]
    for result in results:
        left = result.per_call_without(STORE_STATEMENT)
        assert left <= BOUND_PER_CALL, f"{result.name}: {left:.1f} per call: {_shown(result)}"


async def test_a_call_leaves_no_cycles_at_all_call_log_included() -> None:
    for result in await run(CALLS, Setup("gc test")):
        assert result.per_call <= BOUND_PER_CALL, f"{result.name}: {_shown(result)}"


async def test_a_serving_daemon_keeps_its_start_up_heap_out_of_the_collector(
    tmp_path: Path,
) -> None:
    gc.unfreeze()
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    async with Daemon(make_settings(tmp_path)) as daemon:
        served = asyncio.create_task(daemon.serve(ready.set_result))
        try:
            await asyncio.wait_for(ready, 10)
            tracked = {id(obj) for obj in gc.get_objects()}  # every generation, frozen ones not
            frozen = gc.get_freeze_count()
            keeper = daemon.metrics.registry.get_sample_value(
                "screenpop_heap_pass_seconds_total", {"kind": "settle"}
            )
        finally:
            served.cancel()
            await asyncio.gather(served, return_exceptions=True)
    assert frozen > 0
    assert keeper is not None  # the heap keeper runs and /metrics shows its passes
    assert id(daemon.live) not in tracked and id(daemon.board) not in tracked
    assert gc.get_freeze_count() == 0  # stopped: collectable again
