"""Searching customers and linking one to a call: `GET /api/search`, `POST .../link`."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from agent_ui.api import api_agent, invalid_body, problem
from agent_ui.desk_api import ChoiceBody
from agent_ui.keys import DESK
from screenpop.errors import ScreenpopError


async def search(request: web.Request) -> web.Response:
    """`GET /api/search?q=`: customers matching a name, customer id or number in every
    searching connector the caller's role may see; 400 unless q has 2 to 100 characters."""
    agent = api_agent(request)
    try:
        found = await request.app[DESK].search(request.query.get("q", ""), agent.role)
    except ValueError as exc:
        return problem(400, str(exc))
    return web.json_response(found)


async def link(request: web.Request) -> web.Response:
    """`POST /api/calls/{call_id}/link` `{"customer_id": ...}`: the customer found by search is
    this call's caller; the next call from the number pops that customer."""
    agent = api_agent(request)
    try:
        body = ChoiceBody.model_validate_json(await request.read())
    except ValidationError as exc:
        return invalid_body(exc)
    try:
        await request.app[DESK].link(agent.id, request.match_info["call_id"], body.customer_id)
    except KeyError as exc:
        return problem(404, str(exc.args[0]) if exc.args else "no such call for this agent")
    except ValueError as exc:
        return problem(409, str(exc))
    except ScreenpopError as exc:
        return problem(503, str(exc))
    return web.json_response({"ok": True})
