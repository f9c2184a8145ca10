"""Searching customers and linking one to a call: `GET /api/search`, `POST .../link`."""

from __future__ import annotations

from aiohttp import web

from agent_ui.api import api_agent, problem
from agent_ui.desk_api import customer_for_call
from agent_ui.keys import DESK


async def search(request: web.Request) -> web.Response:
    """`GET /api/search?q=`: customers matching a name, customer id or number in every
    searching connector the caller's role may see; 400 unless q has 2 to 100 characters."""
    agent = api_agent(request)
    try:
        found = await request.app[DESK].search(request.query.get("q", ""), agent)
    except ValueError as exc:
        return problem(400, str(exc))
    return web.json_response(found)


async def link(request: web.Request) -> web.Response:
    """`POST /api/calls/{call_id}/link` `{"customer_id": ...}`: the customer found by search is
    this call's caller; the next call from the number pops that customer."""
    return await customer_for_call(request, request.app[DESK].link)
