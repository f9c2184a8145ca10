"""A fake CRM that creates customers: a real aiohttp server on 127.0.0.1.

* ``POST /customers``: records the request (JSON body and `Idempotency-Key` header in
  :attr:`CreateBackOffice.created`), stores the customer under its number and answers
  ``{"id": "W-<n>"}`` (201); the same key twice creates one customer. While
  :attr:`CreateBackOffice.failing` is set, answers 500; `delay_s` holds the answer back.
* ``GET /customers/{e164}``: the customer created for the number, or 404.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from aiohttp import web


class CreateBackOffice:
    """``async with CreateBackOffice() as crm:`` serves on ``crm.url``."""

    def __init__(self) -> None:
        self.created: list[tuple[str, dict[str, Any]]] = []
        self.failing = False
        self.delay_s = 0.0
        self.url = ""
        self._by_number: dict[str, dict[str, Any]] = {}
        self._by_key: dict[str, str] = {}
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> CreateBackOffice:
        app = web.Application()
        app.router.add_post("/customers", self._create)
        app.router.add_get("/customers/{number}", self._customer)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _create(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay_s)
        if self.failing:
            return web.json_response({"error": "database locked"}, status=500)
        body = await request.json()
        key = request.headers.get("Idempotency-Key", "")
        self.created.append((key, body))
        if key not in self._by_key:
            customer_id = f"W-{len(self._by_key) + 1}"
            self._by_key[key] = customer_id
            self._by_number[body["e164"]] = {"id": customer_id, **body["fields"]}
        return web.json_response({"id": self._by_key[key]}, status=201)

    async def _customer(self, request: web.Request) -> web.Response:
        found = self._by_number.get(request.match_info["number"])
        if found is None:
            return web.json_response({"error": "unknown"}, status=404)
        return web.json_response(found)
