"""The back office of the benchmark, in its own process (``python -m bench.backoffice``): a real
aiohttp server on 127.0.0.1 that the daemon's `http` connectors ask, each with its own latency.

* ``GET /customers/{number}?ms=N&section=S``: a record for any number, after N milliseconds.
* ``GET /hang/{number}``: never answers (until the server stops): a back office that hangs.
* ``GET|HEAD /health``: 200 at once (what `screenpop check` asks).

Every request is counted by path kind, so a case can tell how many lookups reached it.
"""

from __future__ import annotations

import asyncio
import collections
import socket
from typing import Any

from aiohttp import web

from bench.worker import serve


class BackOffice:
    def __init__(self) -> None:
        self.runner: web.AppRunner | None = None
        self.seen: collections.Counter[str] = collections.Counter()
        self._never = asyncio.Event()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/customers/{number}", self._customer)
        app.router.add_get("/hang/{number}", self._hang)
        app.router.add_get("/health", self._health)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self.runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        await web.SockSite(self.runner, sock, backlog=1024).start()
        return f"http://127.0.0.1:{port}"

    async def requests(self) -> dict[str, int]:
        """Requests received so far, by route (`customers`, `hang`, `health`)."""
        return dict(self.seen)

    async def stop(self) -> None:
        self._never.set()
        if self.runner is not None:
            await self.runner.cleanup()

    async def _customer(self, request: web.Request) -> web.Response:
        self.seen["customers"] += 1
        ms = float(request.query.get("ms", "0"))
        if ms > 0:
            await asyncio.sleep(ms / 1000)
        return web.json_response(record(request.match_info["number"], request.query))

    async def _hang(self, request: web.Request) -> web.Response:
        self.seen["hang"] += 1
        await self._never.wait()
        return web.json_response({"late": True})

    async def _health(self, request: web.Request) -> web.Response:
        self.seen["health"] += 1
        return web.json_response({"ok": True})


def record(number: str, query: Any) -> dict[str, Any]:
    """What the back office knows about `number`: a customer id derived from it, a few fields."""
    digits = "".join(c for c in number if c.isdigit())
    section = str(query.get("section", "crm"))
    return {
        "customer_id": f"C-{digits[-7:]}",
        "name": f"Customer {digits[-4:]}",
        "section": section,
        "tier": "gold" if int(digits[-1:] or 0) % 2 else "silver",
        "open_tickets": int(digits[-2:] or 0) % 5,
        "notes": f"{section} record of {number}",
    }


def main() -> None:
    office = BackOffice()
    serve({"start": office.start, "requests": office.requests, "stop": office.stop})


if __name__ == "__main__":
    main()
