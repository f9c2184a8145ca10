"""The daemon under test as its own process: ``screenpop run --config <file>``, and what the
kernel says it used (``/proc/<pid>/stat`` for CPU time, ``/proc/<pid>/status`` for memory)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def screenpop_command() -> list[str]:
    """The installed `screenpop` script beside this Python, else the module."""
    script = Path(sys.executable).parent / "screenpop"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "screenpop.cli"]


class DaemonProcess:
    """A running daemon: its pid, port, CPU seconds and memory."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_s(self) -> float:
        """User + system CPU seconds used so far."""
        return cpu_seconds(self.pid)

    def memory_kib(self) -> dict[str, int]:
        """`VmRSS` (now) and `VmHWM` (peak resident set) in KiB."""
        out: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
        return out

    def problems(self, limit: int = 5) -> list[str]:
        """The first WARNING-or-worse lines the daemon logged."""
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [line[:300] for line in lines if line.strip()][:limit]


@contextlib.asynccontextmanager
async def running(
    config: Path, port: int, env: dict[str, str] | None = None, log_name: str = "daemon.log"
) -> AsyncIterator[DaemonProcess]:
    """Start the daemon on `config` (with `env` added to the environment, e.g. a node's
    `SCREENPOP__...` overrides), wait until its web server answers; SIGTERM it after."""
    log = config.parent / log_name
    with log.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            *screenpop_command(),
            "--log-level",
            "WARNING",
            "run",
            "--config",
            str(config),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
            cwd=config.parent,
            env={**os.environ, **(env or {})},
        )
    daemon = DaemonProcess(proc, port, log)
    try:
        await _answering(daemon)
        yield daemon
    finally:
        await _stop(proc)


async def _answering(daemon: DaemonProcess) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    url = f"http://127.0.0.1:{daemon.port}/healthz"
    async with aiohttp.ClientSession() as http:
        while True:
            if daemon.proc.returncode is not None:
                raise RuntimeError(f"the daemon exited: {' | '.join(daemon.problems())}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the daemon did not answer on port {daemon.port}")
            await asyncio.sleep(0.05)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
