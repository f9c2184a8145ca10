"""The daemon's stand-in for the floor, in its own process (``python -m bench.floor_peer``): the
least a pop can cost on this machine, done with the same libraries and no screenpop code around
them.

* :meth:`Peer.ami_read`: read AMI events from a socket (the PBX process writes them) with the
  product's sans-I/O parser, taking ``time.monotonic_ns()`` when each one is parsed;
* :meth:`Peer.redis_get`: one GET of a card-sized value on an open connection, timed here;
* :meth:`Peer.ws_serve` and :meth:`Peer.ws_send`: an aiohttp websocket server that sends text
  frames of a pop's size to a `websockets` client in the agents' process, stamping each send.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import redis.asyncio as aioredis
from aiohttp import WSMsgType, web

from bench.worker import serve
from screenpop.telephony.asterisk.protocol import AmiParser, Message

PAYLOAD_BYTES = 1200  # about a pop message with a four-section card


class Peer:
    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._client: asyncio.Future[web.WebSocketResponse] | None = None

    async def ami_read(self, port: int, n: int) -> list[int]:
        """Connect to the PBX process and stamp each of `n` parsed events."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        parser = AmiParser()
        stamps: list[int] = []
        try:
            while len(stamps) < n:
                data = await reader.read(65536)
                if not data:
                    break
                for item in parser.feed(data):
                    if isinstance(item, Message):
                        stamps.append(time.monotonic_ns())
        finally:
            writer.close()
        return stamps

    async def redis_get(self, url: str, n: int, warmup: int) -> list[int]:
        """Durations (ns) of `n` GETs of a ~300-byte value; the key is deleted after."""
        key = f"screenpop-bench:{uuid.uuid4().hex[:12]}:floor"
        client = aioredis.Redis.from_url(url)
        durations: list[int] = []
        try:
            await client.set(key, b'{"v": "' + b"x" * 300 + b'"}', ex=600)
            for k in range(n + warmup):
                t0 = time.monotonic_ns()
                value = await client.get(key)
                if k >= warmup:
                    durations.append(time.monotonic_ns() - t0)
                if value is None:
                    raise RuntimeError("the floor's Redis key vanished")
        finally:
            await client.delete(key)
            await client.aclose()
        return durations

    async def ws_serve(self) -> int:
        """Start the websocket server; returns its port."""
        self._client = asyncio.get_running_loop().create_future()

        async def handler(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and msg.data == "ready":
                    assert self._client is not None
                    self._client.set_result(ws)
                elif msg.type == WSMsgType.TEXT and msg.data == "done":
                    break
            return ws

        app = web.Application()
        app.router.add_get("/ws", handler)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        return int(server.sockets[0].getsockname()[1])

    async def ws_send(self, n: int, gap_ms: float) -> list[int]:
        """Send `n` frames `gap_ms` apart to the client that said `ready`; each send's stamp."""
        assert self._client is not None and self._runner is not None
        ws = await asyncio.wait_for(self._client, 20)
        payload = '{"type": "pop", "card": "' + "x" * PAYLOAD_BYTES + '"}'
        stamps: list[int] = []
        t0 = time.monotonic()
        for k in range(n):
            delay = t0 + k * gap_ms / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            stamps.append(time.monotonic_ns())
            await ws.send_str(payload)
        await asyncio.sleep(0.1)
        await self._runner.cleanup()
        return stamps


def main() -> None:
    peer = Peer()
    serve(
        {
            "ami_read": peer.ami_read,
            "redis_get": peer.redis_get,
            "ws_serve": peer.ws_serve,
            "ws_send": peer.ws_send,
        }
    )


if __name__ == "__main__":
    main()
