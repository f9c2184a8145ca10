"""A REST back office on 127.0.0.1 that a test breaks and mends while the daemon uses it.

``GET /customers/{number}`` answers as :attr:`FaultyBackOffice.mode` says, read when the request
arrives (a hanging request follows the next mode set):

* ``ok``: the record for a known number (JSON), 404 for any other;
* ``hang``: nothing, until the mode changes;
* ``500``: HTTP 500 with a small JSON body;
* ``garbage``: `application/json` that is not JSON;
* ``shape``: JSON, but a string where a record belongs;
* ``flood``: a valid JSON string of :data:`FLOOD_BYTES` (50 MB), chunked, written as it goes
  (the server never holds it), stopping when the client goes away;
* ``flood-length``: the same, announced with its Content-Length.

:attr:`FaultyBackOffice.requests` counts what arrived.
"""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType
from typing import Any

from aiohttp import web

FLOOD_BYTES = 50 * 1024 * 1024
MODES = ("ok", "hang", "500", "garbage", "shape", "flood", "flood-length")
_CHUNK = b"x" * 65536


class FaultyBackOffice:
    """``async with FaultyBackOffice(records) as office:``; ``office.url`` is its base URL."""

    def __init__(self, records: dict[str, dict[str, Any]]) -> None:
        self.records = records
        self.requests = 0
        self.url = ""
        self._mode = "ok"
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        assert mode in MODES, mode
        self._mode = mode
        self._changed.set()  # requests hanging now answer as the new mode says
        self._changed = asyncio.Event()

    async def __aenter__(self) -> FaultyBackOffice:
        app = web.Application()
        app.router.add_get("/customers/{number}", self._customer)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.mode = "500"  # let hanging handlers finish
        if self._runner is not None:
            await self._runner.cleanup()

    async def _customer(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        while self._mode == "hang":
            await self._changed.wait()
        mode = self._mode
        if mode == "500":
            return web.json_response({"error": "database unavailable"}, status=500)
        if mode == "garbage":
            return web.Response(body=b"<html>502 Bad Gateway", content_type="application/json")
        if mode == "shape":
            return web.json_response("customer found")
        if mode.startswith("flood"):
            return await self._flood(request, sized=mode == "flood-length")
        record = self.records.get(request.match_info["number"])
        if record is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(record)

    @staticmethod
    async def _flood(request: web.Request, *, sized: bool) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if sized:
            response.content_length = FLOOD_BYTES + 2
        else:
            response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            await response.write(b'"')
            for _ in range(FLOOD_BYTES // len(_CHUNK)):
                await response.write(_CHUNK)
            await response.write(b'"')
            await response.write_eof()
        except ConnectionError:
            pass  # the client refused the rest: what a guarded connector does
        return response
