"""Agents' websocket tabs for the benchmark: a `websockets` client per agent, each with a reader
that stamps every message the moment it arrives, so a waiter learns when its pop landed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


@dataclass
class Tab:
    """What one agent's tab received: every seq in order, and pops and call states by call id."""

    agent_id: str
    seqs: list[int] = field(default_factory=list)
    pops: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    states: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # call id -> its last pop's card


class AgentPool:
    """N connected agent tabs. Ask :meth:`expect_pop` before you make a call ring, await it after.

    Keep one pool per daemon; leave the ``async with`` to close every tab.
    """

    def __init__(self) -> None:
        self.tabs: dict[str, Tab] = {}
        self._waiters: dict[tuple[str, str, str], asyncio.Future[float]] = {}
        self._readers: list[asyncio.Task[None]] = []
        self.closed_early: list[str] = []

    def expect(self, kind: str, agent_id: str, call_id: str) -> asyncio.Future[float]:
        """A future resolved with the perf_counter time when `agent_id` receives the first
        message of `kind` (`pop` or `call`) about `call_id`."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters[(kind, agent_id, call_id)] = future
        return future

    async def _read(self, ws: ClientConnection, tab: Tab) -> None:
        try:
            async for raw in ws:
                now = time.perf_counter()
                self._take(tab, json.loads(raw), now)
        except ConnectionClosed:
            pass
        self.closed_early.append(tab.agent_id)

    def _take(self, tab: Tab, message: dict[str, Any], now: float) -> None:
        kind = message.get("type")
        tab.seqs.append(int(message.get("seq", -1)))
        call_id = str(message.get("call_id", ""))
        if kind == "pop":
            tab.pops[call_id].append(now)
            tab.cards[call_id] = message.get("card") or {}
        elif kind == "call":
            tab.states[call_id].append(str(message.get("state")))
        else:
            return
        waiter = self._waiters.pop((str(kind), tab.agent_id, call_id), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(now)

    @contextlib.asynccontextmanager
    async def connected(
        self, port: int, agents: Sequence[tuple[str, str]]
    ) -> AsyncIterator[AgentPool]:
        """Open one tab per (agent id, token) and wait for each one's `hello`."""
        url = f"ws://127.0.0.1:{port}/ws"
        async with contextlib.AsyncExitStack() as stack:
            for agent_id, token in agents:
                headers = {"Authorization": f"Bearer {token}"}
                ws = await stack.enter_async_context(
                    connect(url, additional_headers=headers, max_size=2**22)
                )
                hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if hello.get("type") != "hello" or hello.get("agent") != agent_id:
                    raise AssertionError(f"expected hello for {agent_id}, got {hello!r}")
                tab = self.tabs[agent_id] = Tab(agent_id, [int(hello["seq"])])
                self._readers.append(asyncio.create_task(self._read(ws, tab)))
            try:
                yield self
            finally:
                for task in self._readers:
                    task.cancel()
                await asyncio.gather(*self._readers, return_exceptions=True)
