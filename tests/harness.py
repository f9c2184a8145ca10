"""Run a real daemon on loopback for end-to-end tests, and talk to it as an agent would."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from screenpop.daemon import Daemon
from screenpop.settings import Settings, parse_settings

REPO = Path(__file__).resolve().parent.parent
SCREENPOP = Path(sys.executable).with_name("screenpop")

CUSTOMERS = {
    "+12125551234": {"customer_id": "C-1", "name": "Jane Doe", "balance": 120.5},
    "+12125550000": [
        {"customer_id": "C-2", "name": "Ann Shared"},
        {"customer_id": "C-3", "name": "Bob Shared"},
    ],
}


def agents() -> list[dict[str, Any]]:
    return [
        {"id": "alice", "name": "Alice", "extensions": ["PJSIP/1001", "1001"], "token": "ta"},
        {"id": "bob", "name": "Bob", "extensions": ["PJSIP/1002", "1002"], "token": "tb"},
        {"id": "sam", "role": "supervisor", "extensions": ["1009"], "token": "ts"},
    ]


def static(name: str, **options: Any) -> dict[str, Any]:
    """A `[[connectors]]` entry for the test connector in tests/fakes/connectors.py."""
    return {"name": name, "kind": "tests.fakes.connectors:StaticConnector", **options}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    raw: dict[str, Any] = {
        "server": {"port": 0, "public_origin": "http://127.0.0.1"},
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"},
        "connectors": [
            static("accounting", records=CUSTOMERS, priority=10),
            static("sales", records={"+12125551234": {"customer_id": "C-1", "last": "Widget"}}),
            static("credit", records={}),
        ],
        "agents": agents(),
        "base_dir": tmp_path,
    }
    raw.update(overrides)
    return parse_settings(raw, "test")


async def until(condition: Callable[[], bool], what: str = "condition") -> None:
    """Wait (up to 10 s) for something that happens asynchronously; poll, since the code under
    test offers no event to wait on."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


@asynccontextmanager
async def with_sources(daemon: Daemon) -> AsyncIterator[None]:
    """The daemon's telephony sources running for the duration of the block."""
    task = asyncio.create_task(daemon.run_sources())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[Daemon, int]]:
    """A started daemon serving its web app on an ephemeral loopback port."""
    async with Daemon(settings) as daemon, daemon.web() as port:
        yield daemon, port


class AgentClient:
    """One websocket tab, authenticated with a bearer token (a second, independent client)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def recv(self, wait: float = 5.0) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), wait))
        return message

    async def recv_type(self, kind: str, wait: float = 5.0) -> dict[str, Any]:
        """The next message of `kind`; fails on any other message type in between."""
        message = await self.recv(wait)
        assert message["type"] == kind, message
        return message

    async def silent(self, wait: float = 0.5) -> bool:
        """True when nothing arrives within `wait` seconds."""
        try:
            message = await asyncio.wait_for(self.ws.recv(), wait)
        except TimeoutError:
            return True
        raise AssertionError(f"expected nothing, got {message!r}")

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))


@asynccontextmanager
async def agent_tab(port: int, token: str) -> AsyncIterator[AgentClient]:
    url = f"ws://127.0.0.1:{port}/ws"
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        yield AgentClient(ws)


def free_port() -> int:
    """A loopback port nobody listens on now: to serve on (so `public_origin` can name it before
    the server starts) or to find refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@asynccontextmanager
async def screenpop_run(
    config: Path, log: Path, *options: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`screenpop run --config CONFIG [options]` as its own process, its log in `log`, once it
    listens; killed after the block if it is still running. The environment's event loop choice
    is left out, so the config and `options` decide it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the test connector is imported by path
    env.pop("SCREENPOP__SERVER__EVENT_LOOP", None)
    with log.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            str(SCREENPOP), "run", "--config", str(config), *options,
            stdout=asyncio.subprocess.PIPE, stderr=err, cwd=config.parent, env=env,
        )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.startswith(b"screenpop listening on"), (line, _text(log))
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _text(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")
