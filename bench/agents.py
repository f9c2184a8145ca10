"""Agents' tabs, in their own process (``python -m bench.agents``): `websockets` clients that log
in as the agent page does and record when they hold each `pop`.

Each tab logs in with ``POST /`` (agent id and token, as the login form sends them), then opens
``/ws`` with the session cookie and the page's `Origin`, waits for its `hello`, and reads. On each
frame it takes ``time.monotonic_ns()`` first, then decodes it; a `pop` is recorded (agent, call
id, that time) and acknowledged with ``ack`` as the agent page does. Supervisor tabs count the
board snapshots they get. Every tab checks that its `seq` numbers run on without a gap.

The same process is the client end of the floor's "one websocket frame" (:meth:`Tabs.floor_recv`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK
from websockets.typing import Origin

from bench.worker import serve

COOKIE = "screenpop_session"
CONNECT_AT_ONCE = 50  # logins and upgrades in flight at the same time


def section_statuses(card: dict[str, Any]) -> list[str]:
    """Each section's status in a popped card, `+cached` when it came from the cache."""
    sections = card.get("sections") or {}
    return [f"{s.get('status')}{'+cached' if s.get('cached') else ''}" for s in sections.values()]


BOARD = b'{"type":"board",'  # how a board frame starts (the daemon encodes `type` first)


@dataclass
class Tab:
    agent_id: str
    supervisor: bool
    last_seq: int = 0
    seq_gaps: int = 0
    boards: int = 0
    board_bytes: int = 0
    frames: int = 0
    closed: str | None = None
    pops: list[list[Any]] = field(default_factory=list)  # [call id, monotonic_ns, seq]
    sections: Counter[str] = field(default_factory=Counter)  # "ok", "ok+cached", "timeout"...

    def see(self, seq: int) -> None:
        """A numbered frame arrived: a gap unless it is the one after the last."""
        if seq != self.last_seq + 1:
            self.seq_gaps += 1
        self.last_seq = seq


class Tabs:
    """Every tab this process holds."""

    def __init__(self) -> None:
        self.tabs: list[Tab] = []
        self._sockets: list[ClientConnection] = []
        self._readers: list[asyncio.Task[None]] = []

    async def connect(
        self, port: int, logins: list[list[str]], supervisors: list[list[str]]
    ) -> dict[str, Any]:
        """Log in and open a tab for each (agent id, token); returns how many and how long."""
        origin = f"http://127.0.0.1:{port}"
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)
        t0 = time.monotonic()
        jar = aiohttp.DummyCookieJar()
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            wanted = [(a, t, False) for a, t in logins] + [(a, t, True) for a, t in supervisors]
            results = await asyncio.gather(
                *(self._open(http, gate, origin, a, t, sup) for a, t, sup in wanted),
                return_exceptions=True,
            )
        failed = [repr(r) for r in results if isinstance(r, BaseException)]
        return {
            "tabs": len(self.tabs),
            "failed": failed[:5],
            "failures": len(failed),
            "seconds": round(time.monotonic() - t0, 3),
        }

    async def _open(
        self,
        http: aiohttp.ClientSession,
        gate: asyncio.Semaphore,
        origin: str,
        agent_id: str,
        token: str,
        supervisor: bool,
    ) -> None:
        async with gate:
            form = {"agent_id": agent_id, "token": token}
            async with http.post(f"{origin}/", data=form, allow_redirects=False) as response:
                cookie = response.cookies.get(COOKIE)
                if response.status != 303 or cookie is None:
                    raise RuntimeError(f"login of {agent_id}: HTTP {response.status}")
            headers = {"Cookie": f"{COOKIE}={cookie.value}"}
            url = origin.replace("http", "ws", 1) + "/ws"
            ws = await connect(
                url,
                origin=Origin(origin),
                additional_headers=headers,
                max_size=2**24,
                open_timeout=60,
                proxy=None,
                ping_interval=None,  # as a browser: it never pings, it answers the daemon's
            )
            hello = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if hello.get("type") != "hello" or hello.get("agent") != agent_id:
                await ws.close()
                raise RuntimeError(f"expected the hello of {agent_id}, got {hello!r}")
        tab = Tab(agent_id, supervisor, last_seq=int(hello["seq"]))
        self.tabs.append(tab)
        self._sockets.append(ws)
        self._readers.append(asyncio.create_task(self._read(ws, tab)))

    async def _read(self, ws: ClientConnection, tab: Tab) -> None:
        try:
            while True:
                raw = await ws.recv(decode=False)
                now = time.monotonic_ns()
                tab.frames += 1
                if raw.startswith(BOARD):  # read only its seq: a board of 10,000 agents is 1 MB
                    tab.boards += 1
                    tab.board_bytes += len(raw)
                    tab.see(int(raw[raw.rindex(b":") + 1 : -1]))
                    continue
                message = json.loads(raw)
                seq = message.get("seq")
                if isinstance(seq, int):
                    tab.see(seq)
                kind = message.get("type")
                if kind == "pop":
                    tab.pops.append([str(message.get("call_id")), now, seq])
                    tab.sections.update(section_statuses(message.get("card") or {}))
                    await ws.send(json.dumps({"type": "ack", "seq": seq}))
        except ConnectionClosedOK:
            tab.closed = f"closed by the daemon: {ws.close_code}"
        except ConnectionClosed as exc:
            tab.closed = f"closed: {exc}"

    async def collect(self, clear: bool = True) -> dict[str, Any]:
        """What the tabs received since the last collect: each agent's pops, gaps, boards."""
        out: dict[str, Any] = {"pops": {}, "seq_gaps": 0, "boards": 0, "board_bytes": 0}
        sections: Counter[str] = Counter()
        out["closed"] = [f"{t.agent_id}: {t.closed}" for t in self.tabs if t.closed][:20]
        for tab in self.tabs:
            if tab.pops:
                out["pops"][tab.agent_id] = tab.pops
            out["seq_gaps"] += tab.seq_gaps
            out["boards"] += tab.boards
            out["board_bytes"] += tab.board_bytes
            sections.update(tab.sections)
            if clear:
                tab.pops, tab.seq_gaps, tab.boards, tab.board_bytes = [], 0, 0, 0
                tab.sections = Counter()
        out["sections"] = dict(sections)
        return out

    async def count(self) -> int:
        """Pops received since the last collect."""
        return sum(len(tab.pops) for tab in self.tabs)

    async def close(self) -> int:
        """Close every tab; returns how many were open."""
        count = len(self._sockets)
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        for start in range(0, count, 200):
            batch = self._sockets[start : start + 200]
            await asyncio.gather(*(ws.close() for ws in batch), return_exceptions=True)
        self.tabs, self._sockets, self._readers = [], [], []
        return count

    async def warm_cards(
        self, port: int, agent: str, token: str, numbers: list[str], at_once: int
    ) -> dict[str, int]:
        """Ask the card API for each number (`at_once` at a time) so the daemon caches their
        cards; returns the sections' statuses it answered with."""
        origin = f"http://127.0.0.1:{port}"
        statuses: Counter[str] = Counter()
        gate = asyncio.Semaphore(at_once)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            form = {"agent_id": agent, "token": token}
            async with http.post(f"{origin}/", data=form, allow_redirects=False) as response:
                cookie = response.cookies[COOKIE].value
            headers = {"Cookie": f"{COOKIE}={cookie}"}

            async def one(e164: str) -> None:
                async with (
                    gate,
                    http.get(f"{origin}/api/cards/{quote(e164)}", headers=headers) as response,
                ):
                    response.raise_for_status()
                    statuses.update(section_statuses(await response.json()))

            await asyncio.gather(*(one(n) for n in numbers))
        return dict(statuses)

    # -- the floor: one websocket frame, aiohttp server -> this client -------------------------

    async def floor_recv(self, port: int, n: int) -> list[int]:
        """Connect to the floor's aiohttp server and take the monotonic_ns of `n` frames."""
        stamps: list[int] = []
        async with connect(f"ws://127.0.0.1:{port}/ws", max_size=2**22, proxy=None) as ws:
            await ws.send("ready")
            for _ in range(n):
                await ws.recv()
                stamps.append(time.monotonic_ns())
            with contextlib.suppress(ConnectionClosed):
                await ws.send("done")
        return stamps


def main() -> None:
    tabs = Tabs()
    serve(
        {
            "connect": tabs.connect,
            "collect": tabs.collect,
            "count": tabs.count,
            "close": tabs.close,
            "floor_recv": tabs.floor_recv,
            "warm_cards": tabs.warm_cards,
        }
    )


if __name__ == "__main__":
    main()
