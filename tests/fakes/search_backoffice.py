"""A fake CRM that searches: a real aiohttp server on 127.0.0.1 for the HTTP connector's search.

* ``GET /search?term=...``: ``{"results": [{"id", "full_name", "phones"}]}``, the customers whose
  name or id contains the term (case-insensitive); every request's term is recorded in
  :attr:`SearchBackOffice.terms`.
* ``GET /hang``: never answers until the server closes (a back office that hangs).
* ``GET /customers/{number}``: 404 (lookups by number find nobody here).
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from aiohttp import web

PEOPLE: list[dict[str, Any]] = [
    {"id": "C-1", "full_name": "Jane Doe", "phones": ["+12125551234"], "ssn": "123-45-6789"},
    {"id": "H-7", "full_name": "Jane Hill", "phones": ["+12125557777", "+12125558888"]},
    {"id": "H-8", "full_name": "Harry Hill", "phones": []},
]


class SearchBackOffice:
    """``async with SearchBackOffice() as crm:`` serves on ``crm.url``."""

    def __init__(self) -> None:
        self.terms: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    async def __aenter__(self) -> SearchBackOffice:
        app = web.Application()
        app.router.add_get("/search", self._search)
        app.router.add_get("/hang", self._hang)
        app.router.add_get("/customers/{number}", self._customer)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _search(self, request: web.Request) -> web.Response:
        term = request.query.get("term", "")
        self.terms.append(term)
        needle = term.casefold()
        found = [
            p for p in PEOPLE if needle in p["full_name"].casefold() or needle in p["id"].casefold()
        ]
        return web.json_response({"results": found, "total": len(found)})

    async def _hang(self, request: web.Request) -> web.Response:
        await self._closing.wait()
        return web.json_response({"results": []})

    async def _customer(self, request: web.Request) -> web.Response:
        return web.json_response({"error": "unknown"}, status=404)
