"""`--profile`: py-spy sampling each daemon during every measured stretch (not the tabs' log-in
or the warm-up), its stacks written as folded text (``profile-<stretch>.txt``, one
``frame;frame;... count`` a line, what flame graph tools read) and the hottest functions by self
and by total time beside it (``profile-<stretch>.top.txt``).

py-spy is not a dependency of the project (``pip install py-spy``). It pauses the daemon for
each sample (without the pause its stacks came out torn), so a profiled run's latencies are not
comparable with others; its CPU time per pop roughly is. The summary counts the event loop's
thread only (the worker threads of aiosqlite mostly wait on their queue, which py-spy counts as
running); samples in ``select`` are the loop waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

RATE_HZ = 100
STOP_TIMEOUT_S = 30.0
TOP = 40


def py_spy() -> str | None:
    """The py-spy beside this Python, else on the PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


@contextlib.asynccontextmanager
async def sampling(folder: Path | None, name: str, pids: Sequence[int]) -> AsyncIterator[None]:
    """Sample each of `pids` while the body runs (nothing when `folder` is None)."""
    if folder is None:
        yield
        return
    tool = py_spy()
    if tool is None:
        raise RuntimeError("--profile needs py-spy (pip install py-spy)")
    outs = outputs(folder, name, len(pids))
    procs = [await _record(tool, pid, out) for pid, out in zip(pids, outs, strict=True)]
    try:
        yield
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
        await asyncio.gather(*(asyncio.wait_for(p.wait(), STOP_TIMEOUT_S) for p in procs))
        summarize(outs)


def outputs(folder: Path, name: str, count: int) -> list[Path]:
    """Where each daemon's samples of stretch `name` go (``-node1``... after the first)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [folder / f"profile-{slug(name)}{f'-node{k}' if k else ''}.txt" for k in range(count)]


async def _record(tool: str, pid: int, out: Path) -> asyncio.subprocess.Process:
    argv = ["record", "--pid", str(pid), "--rate", str(RATE_HZ)]
    argv += ["--format", "raw", "--output", str(out)]
    return await asyncio.create_subprocess_exec(
        tool, *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )


def summarize(outs: Sequence[Path]) -> None:
    """Write the ``.top.txt`` of each folded file py-spy wrote."""
    for out in outs:
        if out.exists():
            out.with_suffix(".top.txt").write_text(summary(out.read_text()), "utf-8")


def summary(folded: str, top: int = TOP) -> str:
    """The `top` functions by self time and by total time (the share of the samples in which
    they are the running frame, or anywhere on the stack) of py-spy's folded stacks."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = threads = 0
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        if stack.startswith("Thread._bootstrap"):
            threads += n  # a worker thread, not the loop
            continue
        frames = [_function(f) for f in stack.split(";")]
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    samples = max(samples, 1)
    head = f"{samples} samples of the event loop's thread at {RATE_HZ} Hz ({threads} of others)"
    lines = [head, "", "self %  function"]
    lines += [f"{100 * n / samples:6.1f}  {f}" for f, n in own.most_common(top)]
    lines += ["", "total %  function"]
    lines += [f"{100 * n / samples:7.1f}  {f}" for f, n in total.most_common(top)]
    return "\n".join(lines) + "\n"


def _function(frame: str) -> str:
    """``send (aiohttp/web_ws.py:123)`` -> ``send (aiohttp/web_ws.py)``: one entry per function,
    whichever line was running."""
    return re.sub(r":\d+\)$", ")", frame.strip())
