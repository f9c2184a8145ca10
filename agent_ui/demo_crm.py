"""`GET /demo/crm`: the demo back office's "CRM" table, served only by `screenpop demo`.

The demo's accounting connector writes every saved note and every call's end into the
``crm_notes`` table of ``demo-accounting.db`` (its ``record_query``); this page lists the latest
rows, so someone trying the demo sees a note they typed arrive in the "CRM". Any logged-in
agent may open it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

from aiohttp import web

from agent_ui.auth import session_agent
from agent_ui.keys import DEMO_DIR
from agent_ui.pages import render
from screenpop_demo.crm import LATEST, latest_crm_rows

log = logging.getLogger(__name__)

REFRESH_S = 3
PATH = "/demo/crm"


def add_demo_routes(app: web.Application, demo_dir: Path) -> None:
    """Serve the demo CRM page over the back office in `demo_dir`."""
    app[DEMO_DIR] = demo_dir
    app.router.add_get(PATH, crm_page)


async def crm_page(request: web.Request) -> web.StreamResponse:
    """The latest rows of the demo CRM, newest first; the login form when not logged in."""
    agent = session_agent(request)
    if agent is None:
        raise web.HTTPSeeOther("/")
    try:
        rows = await asyncio.to_thread(latest_crm_rows, request.app[DEMO_DIR], LATEST)
    except sqlite3.Error as exc:
        log.error("the demo CRM table cannot be read: %s", exc)
        raise web.HTTPServiceUnavailable(text=f"the demo CRM cannot be read: {exc}") from None
    return render(request, "crm.html", agent=agent, rows=rows, limit=LATEST, refresh_s=REFRESH_S)
