"""Each part of the benchmark in its own process, driven over its stdin and stdout.

The parent starts ``python -m bench.<part>`` with :class:`Worker` and calls its operations with
:meth:`Worker.call`: one JSON object per line each way, ``{"op": name, ...arguments}`` in and
``{"ok": result}`` or ``{"error": text}`` out. The child side is :func:`serve`: it reads the
lines with asyncio (so the part's own event loop keeps running between calls), runs the named
coroutine, and writes its result. An ``{"op": "exit"}`` line, or the end of stdin, ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LINE_LIMIT = 256 * 2**20  # one reply may carry every pop of a case
START_TIMEOUT_S = 30.0

Op = Callable[..., Awaitable[Any]]


class WorkerError(RuntimeError):
    """An operation failed in the worker process (the message carries its traceback)."""


class Worker:
    """One part of the benchmark in a child process; use as ``async with Worker("pbx") as w``."""

    def __init__(self, part: str, name: str | None = None) -> None:
        self.part = part
        self.name = name or part
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError(f"worker {self.name} is not running")
        return self._proc.pid

    async def __aenter__(self) -> Worker:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            f"bench.{self.part}",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env=env,
            limit=LINE_LIMIT,
        )
        await asyncio.wait_for(self.call("ping"), START_TIMEOUT_S)
        return self

    async def __aexit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None and proc.stdin is not None:
            with contextlib.suppress(ConnectionError, OSError):
                proc.stdin.write(b'{"op": "exit"}\n')
                await proc.stdin.drain()
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def call(self, op: str, timeout_s: float = 300.0, **args: Any) -> Any:
        """Run `op` in the worker with `args`; its result (JSON), or :class:`WorkerError`."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise RuntimeError(f"worker {self.name} is not running")
        async with self._lock:
            proc.stdin.write(json.dumps({"op": op, **args}).encode() + b"\n")
            await proc.stdin.drain()
            line = await asyncio.wait_for(proc.stdout.readline(), timeout_s)
        if not line:
            raise WorkerError(f"worker {self.name} exited (status {proc.returncode}) during {op}")
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerError(f"worker {self.name}, {op}: {reply['error']}")
        return reply["ok"]


def serve(ops: Mapping[str, Op]) -> None:
    """The child side: answer operations from stdin until `exit` or end of input."""
    asyncio.run(_serve(ops))


async def _serve(ops: Mapping[str, Op]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer
    while True:
        line = await reader.readline()
        if not line:
            return
        request = json.loads(line)
        op = request.pop("op")
        if op == "exit":
            return
        try:
            result = await _ping() if op == "ping" else await ops[op](**request)
            reply: dict[str, Any] = {"ok": result}
        except Exception:
            reply = {"error": traceback.format_exc()}
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()


async def _ping() -> int:
    return os.getpid()
