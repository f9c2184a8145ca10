"""The daemon's memory per idle agent tab, alone (``python -m bench.tab_memory 200 1000``).

For each count N (twice by default): a fresh daemon (`screenpop run`, as case 5 starts it), its
VmRSS, N agent tabs opened from the agents' processes (log in, `/ws`, permessage-deflate, hello),
a settle, VmRSS again; prints (after - before) / N in KiB. With ``--tracemalloc FILE`` the
daemon runs under ``PYTHONTRACEMALLOC`` and, with the tabs open, writes the allocations made
since the tabs began to open, grouped by traceback (the largest first), into FILE: what a tab
is made of. (tracemalloc sees allocated bytes, zlib's included, not what is resident.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import tempfile
from pathlib import Path

from bench.config import Setup, free_port, write_config
from bench.daemon import running
from bench.measure import Parts, close_tabs, connect_tabs
from bench.worker import Worker

CLIENT_PROCESSES = 4
SETTLE_S = 2.0
DUMP_WAIT_S = 60.0  # a snapshot of a large traced heap takes a while
# Imported by the daemon (on its PYTHONPATH) with --tracemalloc: SIGUSR2 takes the baseline
# snapshot, SIGUSR1 writes the top tracebacks of what was allocated since.
HOOK = """
import os, signal, tracemalloc
_base = []
def _mark(*_):
    _base[:] = [tracemalloc.take_snapshot()]
def _dump(*_):
    now = tracemalloc.take_snapshot()
    now = now.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    stats = now.compare_to(_base[0], "traceback") if _base else now.statistics("traceback")
    path = os.environ["TAB_MEMORY_DUMP"]
    with open(path + ".tmp", "w") as out:
        for stat in stats[:40]:
            out.write(f"{stat}\\n")
            for line in stat.traceback.format()[-16:]:
                out.write(f"    {line}\\n")
    os.replace(path + ".tmp", path)
signal.signal(signal.SIGUSR2, _mark)
signal.signal(signal.SIGUSR1, _dump)
"""


def traced_env(folder: Path, dump: Path) -> dict[str, str]:
    """The daemon's environment for a traced run (the hook written into `folder`)."""
    (folder / "sitecustomize.py").write_text(HOOK)
    dump.unlink(missing_ok=True)
    path = os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONTRACEMALLOC": "16", "PYTHONPATH": path, "TAB_MEMORY_DUMP": str(dump.resolve())}


async def dumped(pid: int, dump: Path) -> None:
    """Ask the traced daemon for its dump; wait until it is written."""
    os.kill(pid, signal.SIGUSR1)
    for _ in range(int(DUMP_WAIT_S * 10)):
        if await asyncio.to_thread(dump.exists):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no tracemalloc dump in {dump}")


async def one(parts: Parts, n: int, folder: Path, cache: dict[str, str], dump: Path | None) -> str:
    port = free_port()
    config = write_config(Setup(agents=n), folder, port, parts.pbx_port, parts.office_url, cache)
    env = traced_env(folder, dump) if dump is not None else {}
    counts = await parts.pbx.call("counts")
    async with running(config, port, env=env) as daemon:
        await parts.pbx.call("wait_login", **counts)
        await asyncio.sleep(SETTLE_S)
        if dump is not None:
            os.kill(daemon.pid, signal.SIGUSR2)
        before = daemon.memory_kib()["VmRSS"]
        tabs = await connect_tabs(parts, port, n, 0)
        await asyncio.sleep(SETTLE_S)
        after = daemon.memory_kib()["VmRSS"]
        if dump is not None:
            await dumped(daemon.pid, dump)
        await close_tabs(parts)
    return (
        f"N={n}: VmRSS {before} -> {after} KiB, {(after - before) / n:.1f} KiB per idle tab "
        f"({tabs['seconds']} s to connect)"
    )


async def measure(counts: list[int], runs: int, redis_url: str, dump: Path | None) -> None:
    cache = {"url": redis_url, "key_prefix": "screenpop-tab-memory:"}
    async with contextlib.AsyncExitStack() as stack:
        workers = [Worker("pbx"), Worker("backoffice")]
        workers += [Worker("agents", f"agents-{k}") for k in range(CLIENT_PROCESSES)]
        await asyncio.gather(*(stack.enter_async_context(w) for w in workers))
        pbx, office, *clients = workers
        pbx_port, office_url = await pbx.call("start"), await office.call("start")
        parts = Parts(pbx, office, office, clients, pbx_port, office_url)
        try:
            with tempfile.TemporaryDirectory(prefix="screenpop-tab-memory-") as tmp:
                for label, n in enumerate(n for n in counts for _ in range(runs)):
                    folder = Path(tmp) / f"daemon-{label}"
                    folder.mkdir()
                    print(await one(parts, n, folder, cache, dump), flush=True)
        finally:
            await asyncio.gather(pbx.call("stop"), office.call("stop"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("counts", nargs="*", type=int, default=[200, 1000])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--tracemalloc", type=Path, default=None, metavar="FILE")
    args = parser.parse_args()
    asyncio.run(measure(args.counts, args.runs, args.redis_url, args.tracemalloc))


if __name__ == "__main__":
    main()
