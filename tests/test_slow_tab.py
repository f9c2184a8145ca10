"""A tab that stops reading, against the real daemon: a raw TCP websocket client that completes
the upgrade and then never reads, so the kernel's buffers fill and the server's writes stall.
Its socket is closed as soon as its outbox overflows (not at the next heartbeat), and counted."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from pathlib import Path

from screenpop.daemon import Daemon
from tests.harness import make_settings, running, until

BIG = "x" * 100_000  # each message ~100 KB: a few fill any loopback socket buffer


def slow_count(daemon: Daemon) -> float:
    value = daemon.metrics.registry.get_sample_value("screenpop_slow_clients_closed_total")
    return value or 0.0


def websockets(daemon: Daemon) -> float:
    return daemon.metrics.registry.get_sample_value("screenpop_websockets") or 0.0


async def open_stuck_tab(
    port: int, token: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Upgrade to a websocket, read the 101 answer, then never read again."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**16)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    writer.transport.pause_reading()  # from here on, nothing is read: the buffers fill
    return reader, writer


async def test_a_tab_that_never_reads_is_closed_at_once_and_counted(tmp_path: Path) -> None:
    server = {"port": 0, "public_origin": "http://127.0.0.1", "outbound_queue": 8}
    settings = make_settings(tmp_path, server=server)
    async with running(settings) as (daemon, port):
        reader, writer = await open_stuck_tab(port, "ta")
        await until(lambda: daemon.hub.tabs("alice") == 1, "the tab subscribed")
        before = slow_count(daemon)
        started = time.monotonic()
        for i in range(400):  # ~40 MB: far beyond what the kernel buffers between the two
            await daemon.hub.publish("alice", {"type": "card", "call_id": f"x{i}", "big": BIG})
            await asyncio.sleep(0)
            if daemon.hub.tabs("alice") == 0:
                break
        assert daemon.hub.tabs("alice") == 0, "the outbox never overflowed"
        await until(lambda: slow_count(daemon) == before + 1, "the slow tab counted")
        await until(lambda: websockets(daemon) == 0, "the socket closed")
        assert time.monotonic() - started < 5, "closed by the heartbeat, not at once"
        # The server side is gone: reading now ends in EOF or a reset, well before a heartbeat.
        writer.transport.resume_reading()
        async with asyncio.timeout(5):
            try:
                while await reader.read(2**20):
                    pass
            except ConnectionError:
                pass
        writer.close()
