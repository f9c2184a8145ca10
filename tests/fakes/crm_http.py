"""A fake HTTP CRM that takes write-backs: a real aiohttp server on 127.0.0.1.

``POST /records``: keeps the JSON body once per ``Idempotency-Key`` (201; 409 for a key it
already applied), 422 when the text is ``"reject me"``, 400 without the header. A dry run
(``X-Screenpop-Dry-Run: 1``) is answered 200 and kept nowhere (counted in `dry_runs`).
:meth:`FakeCrm.fail_with` makes it answer 503 until :meth:`FakeCrm.heal`; :meth:`FakeCrm.stop`
and :meth:`FakeCrm.start` close and reopen it on the same port (connections refused between).
`delay_s` holds every answer back that long. ``GET /health``: 200. `records_path` moves the
records endpoint; with `customers` (``{e164: record}``), ``GET /v1/customers/{e164}`` answers
the record or 404. The headers of every item kept are in `headers`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web


class FakeCrm:
    """Use ``await start()``; ``url`` is the records endpoint."""

    def __init__(
        self, records_path: str = "/records", customers: dict[str, dict[str, Any]] | None = None
    ) -> None:
        self.records_path = records_path
        self.customers = customers or {}
        self.applied: list[dict[str, Any]] = []  # in the order they arrived, once per key
        self.headers: list[dict[str, str]] = []
        self.keys: list[str] = []
        self.attempts = 0
        self.dry_runs = 0
        self.status_when_failing: int | None = None
        self.delay_s = 0.0
        self._runner: web.AppRunner | None = None
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        sock.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.records_path}"

    def fail_with(self, status: int) -> None:
        self.status_when_failing = status

    def heal(self) -> None:
        self.status_when_failing = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(self.records_path, self._records)
        app.router.add_get("/v1/customers/{e164}", self._customer)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _customer(self, request: web.Request) -> web.Response:
        record = self.customers.get(request.match_info["e164"])
        if record is None:
            return web.json_response({"error": "no such customer"}, status=404)
        return web.json_response(record)

    async def _records(self, request: web.Request) -> web.Response:
        self.attempts += 1
        await asyncio.sleep(self.delay_s)
        if self.status_when_failing is not None:
            return web.json_response({"error": "down"}, status=self.status_when_failing)
        key = request.headers.get("Idempotency-Key")
        if not key:
            return web.json_response({"error": "no key"}, status=400)
        body = await request.json()
        if request.headers.get("X-Screenpop-Dry-Run") == "1":
            self.dry_runs += 1
            return web.json_response({"ok": True, "dry_run": True})
        if body.get("text") == "reject me":
            return web.json_response({"error": "bad text"}, status=422)
        if key in self.keys:
            return web.json_response({"error": "already applied"}, status=409)
        self.keys.append(key)
        self.applied.append(body)
        self.headers.append(dict(request.headers))
        return web.json_response({"ok": True}, status=201)


@contextmanager
def crm_in_thread(crm: FakeCrm) -> Iterator[FakeCrm]:
    """`crm` served from an event loop on a thread of its own, for tests that run code with an
    event loop of its own (`screenpop check`, `asyncio.run`)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(crm.start(), loop).result(5)
    try:
        yield crm
    finally:
        asyncio.run_coroutine_threadsafe(crm.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
