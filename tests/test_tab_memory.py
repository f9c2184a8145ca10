"""What an idle agent tab costs the daemon, and that its compressed frames still decode (issue 11).

With permessage-deflate negotiated (every browser offers it), aiohttp kept one zlib compressor
per connection from its first frame (the hello) to its close: 256 KiB of deflate state allocated
for every idle tab. Each frame now gets a compressor of its own, freed after it. Checked here:
the memory the daemon allocates for 20 idle tabs (traced by tracemalloc, which sees zlib's
allocations; the clients' own allocations left out); and that the pops a tab gets, compressed,
decode to what was published, also for a client that limits the server's window to 1 KiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from tests.harness import make_settings, running, until

TABS = 20
IDLE_TAB_BUDGET = 64 * 1024  # issue 11: under 64 KiB per idle agent connection
HEADERS = {"Authorization": "Bearer ta"}


def daemon_side(snapshot: tracemalloc.Snapshot) -> int:
    """Bytes allocated outside the `websockets` clients (and tracemalloc itself)."""
    kept = snapshot.filter_traces(
        [
            tracemalloc.Filter(False, "*/websockets/*", all_frames=True),
            tracemalloc.Filter(False, tracemalloc.__file__),
        ]
    )
    return sum(stat.size for stat in kept.statistics("filename"))


@contextlib.asynccontextmanager
async def tabs(port: int, n: int) -> AsyncIterator[list[ClientConnection]]:
    url = f"ws://127.0.0.1:{port}/ws"
    async with contextlib.AsyncExitStack() as stack:
        opened = []
        for _ in range(n):
            ws = await stack.enter_async_context(
                connect(url, additional_headers=HEADERS, compression="deflate")
            )
            assert json.loads(await ws.recv())["type"] == "hello"
            opened.append(ws)
        yield opened


async def test_an_idle_tab_keeps_no_compressor(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (daemon, port):
        async with tabs(port, 1):  # the first tab's one-off costs (imports, caches) are paid
            pass
        await until(lambda: daemon.hub.tabs("alice") == 0, "the first tab ended")
        tracemalloc.start(25)
        try:
            before = daemon_side(tracemalloc.take_snapshot())
            async with tabs(port, TABS) as opened:
                await until(lambda: daemon.hub.tabs("alice") == TABS, "every tab subscribed")
                for ws in opened:
                    assert "permessage-deflate" in ws.response.headers["Sec-WebSocket-Extensions"]
                await asyncio.sleep(0.2)
                after = daemon_side(tracemalloc.take_snapshot())
        finally:
            tracemalloc.stop()
    per_tab = (after - before) / TABS
    assert per_tab < IDLE_TAB_BUDGET, f"{per_tab / 1024:.1f} KiB allocated per idle tab"


def repetitive(i: int, size: int) -> str:
    """Text whose repeats are 2,000 characters apart: a compressor with a window larger than
    the client allowed would point that far back, and the client could not inflate it."""
    block = os.urandom(1000).hex()
    return f"{i}:" + (block * (size // len(block) + 1))[:size]


async def pops_arrive_intact(ws: ClientConnection, publish: Any) -> None:
    assert json.loads(await ws.recv())["type"] == "hello"
    sent = []
    for i, size in enumerate((100, 5_000, 30_000, 200_000, 3_000, 3_000)):
        card = {"type": "card", "call_id": f"c{i}", "text": repetitive(i, size)}
        sent.append(card)
        await publish("alice", card)
    for card in sent:
        got = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert {k: got.get(k) for k in card} == card


async def test_compressed_pops_decode_as_published(tmp_path: Path) -> None:
    server = {"port": 0, "public_origin": "http://127.0.0.1", "outbound_queue": 100}
    async with running(make_settings(tmp_path, server=server)) as (daemon, port):
        url = f"ws://127.0.0.1:{port}/ws"
        async with connect(url, additional_headers=HEADERS, compression="deflate") as ws:
            await pops_arrive_intact(ws, daemon.hub.publish)
        await until(lambda: daemon.hub.tabs("alice") == 0, "the tab ended")
        small_window = ClientPerMessageDeflateFactory(server_max_window_bits=10)
        async with connect(
            url, additional_headers=HEADERS, compression=None, extensions=[small_window]
        ) as ws:
            extensions = ws.response.headers["Sec-WebSocket-Extensions"]
            assert "server_max_window_bits=10" in extensions
            await pops_arrive_intact(ws, daemon.hub.publish)
