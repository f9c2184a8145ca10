"""Helpers for the fault tests: things that break on purpose, traffic that keeps flowing meanwhile,
and what an agent's tab and an ops probe see of it.

* :class:`PrivateRedis`: a redis-server of the test's own on a free loopback port (no
  persistence, in a tmp dir) that the test may kill and start again on the same port. Never the
  shared Redis.
* :class:`Inbox`: reads one agent tab in the background and files every message by call id.
* :class:`EmitTraffic`: a steady stream of calls through ``Daemon.emit``.
* :class:`PeakRss`: how far this process's memory rose while something happened.
* :func:`readiness`, :func:`wait_readiness`, :func:`metric`: `/readyz` and one `/metrics`
  sample, as a probe reads them; :func:`eventually` polls any such probe.

Each piece is self-contained: other fault tests may add their own helpers beside these.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed

from screenpop.events import CallEvent, EventKind
from tests.conftest import IN_CI
from tests.harness import AgentClient, free_port

TERMINAL = frozenset({"ended", "abandoned", "missed", "answered_elsewhere", "transferred"})


def require_binary(name: str) -> str:
    """The path of `name`; skips the test when it is not installed (fails it with CI=true)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed here"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


# -- a Redis of our own ----------------------------------------------------------------------------


class PrivateRedis:
    """``async with PrivateRedis(tmp_path) as redis:`` a redis-server on 127.0.0.1:`port` for this
    test alone; :meth:`kill` it (SIGKILL: no goodbye to its clients) and :meth:`start` it again on
    the same port (empty: it saves nothing)."""

    def __init__(self, workdir: Path) -> None:
        self.binary = require_binary("redis-server")
        self.workdir = workdir
        self.port = free_port()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def __aenter__(self) -> PrivateRedis:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.kill()

    async def start(self) -> None:
        """Start the server (again) and wait until it answers PING."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._process = await asyncio.create_subprocess_exec(
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--enable-debug-command", "local",  # so a test may stall it: DEBUG SLEEP
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(500):
            if await self.answers():
                return
            if self._process.returncode is not None:
                break
            await asyncio.sleep(0.01)
        raise RuntimeError(f"redis-server did not come up on port {self.port}")

    async def answers(self) -> bool:
        """True when something on the port answers PING with PONG."""
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        try:
            writer.write(b"PING\r\n")
            await writer.drain()
            return (await asyncio.wait_for(reader.readline(), 1.0)).startswith(b"+PONG")
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def kill(self) -> None:
        """The server dies at once; its port is free afterwards."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGKILL)
        await process.wait()


class Stall:
    """``DEBUG SLEEP seconds`` sent on a connection of its own; :meth:`over` waits for its end."""

    def __init__(self, redis: PrivateRedis, seconds: float) -> None:
        self._redis = redis
        self._seconds = seconds
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self._redis.port)
        self._writer.write(f"DEBUG SLEEP {self._seconds}\r\n".encode())
        await self._writer.drain()
        await asyncio.sleep(0.1)  # let the server take it before the cache asks anything

    async def over(self) -> None:
        assert self._reader is not None and self._writer is not None
        assert await self._reader.readline() == b"+OK\r\n"
        self._writer.close()
        await self._writer.wait_closed()


def count_pool_drops(pool: Any, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record each time a redis-py connection `pool` is told to drop its connections."""
    real = pool.disconnect
    drops: list[bool] = []

    async def disconnect(*args: Any, **kw: Any) -> None:
        drops.append(True)
        await real(*args, **kw)

    monkeypatch.setattr(pool, "disconnect", disconnect)
    return drops


def log_lines(caplog: pytest.LogCaptureFixture, fragment: str) -> list[str]:
    """The captured log messages that contain `fragment`."""
    return [r.getMessage() for r in caplog.records if fragment in r.getMessage()]


# -- what a tab receives ---------------------------------------------------------------------------


@dataclass
class Seen:
    """Everything one tab got about one call, in order."""

    pops: list[dict[str, Any]] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)  # the pop's card, then updates

    @property
    def card(self) -> dict[str, Any]:
        """The newest card the agent sees."""
        return self.cards[-1]

    @property
    def over(self) -> bool:
        return bool(self.states) and self.states[-1] in TERMINAL


class Inbox:
    """``async with Inbox(tab) as inbox:`` takes the tab's hello (:attr:`hello`), then reads it in
    the background; :attr:`calls` holds what came per call id, :attr:`order` the call ids in the
    order their first message came."""

    def __init__(self, tab: AgentClient) -> None:
        self.tab = tab
        self.calls: dict[str, Seen] = {}
        self.order: list[str] = []
        self.closed_with: int | None = None  # the websocket close code, once closed
        self.errors: list[dict[str, Any]] = []
        self.hello: dict[str, Any] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Inbox:
        self.hello = await self.tab.recv_type("hello")
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self) -> None:
        # straight from the socket: Python 3.11's wait_for can swallow the cancel of this task
        try:
            while True:
                self._file(json.loads(await self.tab.ws.recv()))
        except ConnectionClosed as exc:
            self.closed_with = exc.rcvd.code if exc.rcvd is not None else 1006
            self._changed.set()

    def _file(self, message: dict[str, Any]) -> None:
        call_id = message.get("call_id")
        if not isinstance(call_id, str):
            if message.get("type") == "error":
                self.errors.append(message)
            return
        if call_id not in self.calls:
            self.calls[call_id] = Seen()
            self.order.append(call_id)
        seen = self.calls[call_id]
        kind = message.get("type")
        if kind == "pop":
            seen.pops.append(message)
            seen.cards.append(message["card"])
        elif kind == "call":
            seen.states.append(message["state"])
        elif kind == "card":
            seen.cards.append(message["card"])
        self._changed.set()

    async def until(self, condition: Callable[[], bool], what: str, wait: float = 10.0) -> None:
        """Wait (up to `wait` s) until `condition()` holds after some message came."""
        try:
            async with asyncio.timeout(wait):
                while not condition():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"never happened: {what}") from None

    async def popped(self, call_id: str, wait: float = 10.0) -> Seen:
        await self.until(lambda: self.pops_of(call_id) > 0, f"pop of {call_id}", wait)
        return self.calls[call_id]

    def pops_of(self, call_id: str) -> int:
        seen = self.calls.get(call_id)
        return len(seen.pops) if seen is not None else 0


# -- traffic ---------------------------------------------------------------------------------------


class EmitTraffic:
    """``async with EmitTraffic(daemon.emit, "1001") as traffic:`` a call rings that endpoint
    every `every_s` seconds from `caller`, is answered there `hold_s / 2` later and ends after
    `hold_s`, until the block ends (then the calls still open end). :attr:`started` lists the
    call ids in order."""

    _runs = itertools.count(1)

    def __init__(
        self,
        emit: Callable[[CallEvent], None],
        endpoint: str,
        caller: str = "+12125551234",
        *,
        every_s: float = 0.2,
        hold_s: float = 0.3,
        source: str = "pbx",
    ) -> None:
        self._emit = emit
        self.endpoint = endpoint
        self.caller = caller
        self.every_s, self.hold_s = every_s, hold_s
        self.source = source
        self.prefix = f"t{next(self._runs)}-{endpoint}-"
        self.started: list[str] = []
        self.ended: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._enders: set[asyncio.TimerHandle] = set()

    async def __aenter__(self) -> EmitTraffic:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for handle in list(self._enders):
            handle.cancel()
        for call_id in self.started:
            if call_id not in self.ended:
                self._answer(call_id)  # a no-op for a call answered already
                self._end(call_id)

    def since(self, index: int) -> list[str]:
        """The calls started after the first `index` ones."""
        return self.started[index:]

    async def _run(self) -> None:
        for n in itertools.count(1):
            call_id = f"{self.prefix}{n}"
            self.started.append(call_id)
            self._emit(
                CallEvent(
                    self.source,
                    call_id,
                    EventKind.RINGING,
                    caller=self.caller,
                    endpoint=self.endpoint,
                )
            )
            self._later(self.hold_s / 2, self._answer, call_id)
            self._later(self.hold_s, self._end, call_id)
            await asyncio.sleep(self.every_s)

    def _later(self, delay: float, action: Callable[[str], None], call_id: str) -> None:
        def fire() -> None:
            self._enders.discard(handle)
            action(call_id)

        handle = asyncio.get_running_loop().call_later(delay, fire)
        self._enders.add(handle)

    def _answer(self, call_id: str) -> None:
        self._emit(CallEvent(self.source, call_id, EventKind.ANSWERED, endpoint=self.endpoint))

    def _end(self, call_id: str) -> None:
        self.ended.append(call_id)
        self._emit(CallEvent(self.source, call_id, EventKind.ENDED))


# -- memory ----------------------------------------------------------------------------------------


class PeakRss:
    """``with PeakRss() as rss:`` samples this process's resident memory every 2 ms from a thread
    (so a busy event loop cannot hide a spike); :attr:`growth` is the peak over the start, bytes."""

    def __init__(self) -> None:
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._start = self._peak = self._now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss sampler", daemon=True)

    def _now(self) -> int:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * self._page

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self._peak = max(self._peak, self._now())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self._peak - self._start


# -- what a probe sees -----------------------------------------------------------------------------


async def readiness(port: int) -> tuple[int, dict[str, Any]]:
    """`GET /readyz`: the status and the JSON body."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/readyz") as response,
    ):
        body: dict[str, Any] = await response.json()
        return response.status, body


async def eventually(probe: Callable[[], Awaitable[bool]], what: str, wait: float = 10.0) -> None:
    """Poll an async `probe` (every 20 ms, up to `wait` s) until it says True."""
    for _ in range(int(wait / 0.02)):
        if await probe():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


async def wait_readiness(port: int, ready: bool, wait: float = 10.0) -> dict[str, Any]:
    """Poll `/readyz` until it says `ready` (200 and ``"ready": true``, or 503 and false);
    the body it said it with."""
    last: dict[str, Any] = {}
    for _ in range(int(wait / 0.05)):
        status, last = await readiness(port)
        if (status == 200) is ready and last.get("ready") is ready:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"/readyz never said ready={ready}: {last}")


async def metric(port: int, sample: str, **labels: str) -> float:
    """The value of one `/metrics` sample (e.g. ``screenpop_cache_errors_total``); 0 when absent."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0
