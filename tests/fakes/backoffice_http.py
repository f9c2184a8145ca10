"""A fake REST back office: a real aiohttp server on 127.0.0.1, for the HTTP connector's tests.

Plain HTTP, or HTTPS when given a server SSL context.

Routes (every request, routed or not, is recorded in :attr:`FakeBackOffice.requests`):

* ``GET /customers/{number}``: the customer record for that number (as given, URL-decoded),
  404 when unknown; 401 unless ``Authorization`` matches ``token`` when one is set.
* ``GET /orders?phone=...``: a JSON list of the caller's orders (an empty list when none).
* ``GET /status/{code}``: answers that status with a small JSON body.
* ``GET /slow``: answers after ``?ms=`` milliseconds (default 30 s), or at once after
  :meth:`FakeBackOffice.release` or when the server closes.
* ``GET /garbage``: `application/json` that is not JSON.
* ``GET /huge?bytes=N[&chunked]``: a valid JSON string of about N bytes (chunked: without a
  Content-Length).
* ``GET /echo/{tail}``: what the server received (decoded path, query, headers) as JSON.
* ``GET|HEAD /health``: 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CUSTOMERS: dict[str, dict[str, Any]] = {
    "+12125551234": {
        "id": "C-1042",
        "customer": {"name": "Jane Doe", "tier": "gold", "address": {"city": "New York"}},
        "items": [{"sku": "SKU-1", "qty": 2}, {"sku": "SKU-2", "qty": 1}],
        "orders": [{"id": "O-1"}, {"id": "O-2"}],
        "balance": 120.5,
    },
}
ORDERS: dict[str, list[dict[str, Any]]] = {
    "+12125551234": [
        {"id": "O-1", "total": {"amount": 30.0, "currency": "USD"}, "status": "shipped"},
        {"id": "O-2", "total": {"amount": 12.5, "currency": "USD"}, "status": "open"},
    ],
}


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str  # raw (still percent-encoded) path
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


class FakeBackOffice:
    """Start with ``async with FakeBackOffice() as office:``; ``office.url`` is its base URL."""

    def __init__(self, token: str | None = None, ssl_context: ssl.SSLContext | None = None) -> None:
        self.token = token
        self._ssl = ssl_context
        self.requests: list[Seen] = []
        self.arrived = asyncio.Event()  # set by every request
        self.url = ""
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeBackOffice:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/customers/{number}", self._customer)
        app.router.add_get("/orders", self._orders)
        app.router.add_get("/status/{code}", self._status)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/garbage", self._garbage)
        app.router.add_get("/huge", self._huge)
        app.router.add_get("/echo/{tail:.*}", self._echo)
        app.router.add_get("/health", self._health)  # aiohttp answers HEAD on GET routes
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, ssl_context=self._ssl).start()
        self.url = f"{'https' if self._ssl else 'http'}://127.0.0.1:{port}"
        return self

    def release(self) -> None:
        """Let every waiting and future `/slow` request answer at once."""
        self._release.set()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(
            Seen(
                request.method,
                request.raw_path.split("?")[0],
                dict(request.query),
                dict(request.headers),
            )
        )
        self.arrived.set()
        return await handler(request)

    def _authorized(self, request: web.Request) -> bool:
        return self.token is None or request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _customer(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        record = CUSTOMERS.get(request.match_info["number"])
        if record is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(record)

    async def _orders(self, request: web.Request) -> web.Response:
        return web.json_response(ORDERS.get(request.query.get("phone", ""), []))

    async def _status(self, request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        return web.json_response({"error": f"status {code}"}, status=code)

    async def _slow(self, request: web.Request) -> web.Response:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(int(request.query.get("ms", "30000")) / 1000):
                await self._release.wait()
        return web.json_response({"slow": True})

    async def _garbage(self, request: web.Request) -> web.Response:
        return web.Response(body=b"{'not': json,", content_type="application/json")

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        body = json.dumps("x" * int(request.query.get("bytes", "2000000"))).encode()
        if "chunked" not in request.query:
            return web.Response(body=body, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 4096):
            await response.write(body[start : start + 4096])
        await response.write_eof()
        return response

    async def _echo(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
            }
        )

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})
