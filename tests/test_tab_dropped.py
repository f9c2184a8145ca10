"""A tab that drops while large compressed pops are sent to it (issue 11, seen in `make bench`).

aiohttp compresses a large frame off the event loop in a task of its own, shielded from the
sender's cancellation; when the tab goes away the daemon cancels its writer, that task then fails
on the closing transport, and nobody collected the failure: asyncio logged "Task exception was
never retrieved". The writer must collect it and end the tab quietly. What is checked: the tab's
websocket (permessage-deflate, as browsers and the `websockets` library offer it) is cut while
100 KB pops stream to it, several times; the daemon ends each tab, keeps serving the next, and the
event loop's exception handler hears nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from screenpop.daemon import Daemon
from tests.harness import make_settings, running, until

ROUNDS = 6


def big_card(i: int) -> dict[str, Any]:
    """About 100 KB that does not compress to nothing, so compression takes its time."""
    return {"type": "card", "call_id": f"x{i}", "big": os.urandom(50_000).hex()}


async def stream(daemon: Daemon) -> None:
    """Pops for Alice, one after another, until cancelled."""
    i = 0
    while True:
        await daemon.hub.publish("alice", big_card(i))
        i += 1
        await asyncio.sleep(0.002)


async def test_a_tab_cut_mid_stream_leaves_no_unretrieved_task_error(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    heard: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: heard.append(context))
    try:
        server = {"port": 0, "public_origin": "http://127.0.0.1", "outbound_queue": 1000}
        async with running(make_settings(tmp_path, server=server)) as (daemon, port):
            url = f"ws://127.0.0.1:{port}/ws"
            headers = {"Authorization": "Bearer ta"}
            for _ in range(ROUNDS):
                async with connect(url, additional_headers=headers, compression="deflate") as ws:
                    assert ws.response is not None
                    extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
                    assert "permessage-deflate" in extensions  # the server compresses
                    await ws.recv()  # hello
                    await until(lambda: daemon.hub.tabs("alice") == 1, "the tab subscribed")
                    pops = asyncio.create_task(stream(daemon))
                    try:
                        for _ in range(3):  # the stream is flowing
                            await asyncio.wait_for(ws.recv(), 5)
                        ws.transport.abort()  # the tab is gone, mid-stream
                        await until(lambda: daemon.hub.tabs("alice") == 0, "the tab ended")
                    finally:
                        pops.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await pops
            # the daemon still serves a new tab afterwards
            async with connect(url, additional_headers=headers) as ws:
                await ws.recv()
            for _ in range(3):  # let finished tasks die and be collected
                await asyncio.sleep(0.1)
                gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert [f"{c.get('message')}: {c.get('future') or c.get('exception')}" for c in heard] == []
