"""Creating a customer for an unknown caller: `GET /api/create-forms`, `POST .../create`."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from agent_ui.api import api_agent, problem
from agent_ui.keys import DESK
from screenpop.create import CreateFailed
from screenpop.create_fields import FieldError

log = logging.getLogger(__name__)


async def create_forms(request: web.Request) -> web.Response:
    """`GET /api/create-forms`: the connectors the caller's role may create customers with, and
    the fields each asks for: ``{"forms": [{"connector", "fields": [...]}]}``."""
    agent = api_agent(request)
    return web.json_response({"forms": request.app[DESK].create_forms(agent.role)})


async def create(request: web.Request) -> web.Response:
    """`POST /api/calls/{call_id}/create` `{"connector", "fields": {...}}`: create the unknown
    caller of the agent's call in that connector. 400 naming a wrong field, 404 for a call that
    is not theirs, 409 when the caller is not unknown, 502 when the back office fails."""
    agent = api_agent(request)
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    call_id = request.match_info["call_id"]
    try:
        done = await request.app[DESK].create_customer(
            agent, call_id, body["connector"], body.get("fields", {})
        )
    except FieldError as exc:
        return web.json_response({"error": str(exc), "field": exc.field}, status=400)
    except KeyError as exc:
        return problem(404, str(exc.args[0]) if exc.args else "not found")
    except ValueError as exc:
        return problem(409, str(exc))
    except CreateFailed as exc:
        log.warning("agent %s: create on call %s failed: %s", agent.id, call_id, exc)
        return problem(502, str(exc))
    return web.json_response(done, status=201)


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return problem(400, "body: expected JSON")
    if not isinstance(body, dict) or not isinstance(body.get("connector"), str):
        return problem(400, "connector: required (the connector's name)")
    if "fields" in body and not isinstance(body["fields"], dict):
        return web.json_response(
            {"error": "fields: must be an object", "field": "fields"}, status=400
        )
    return body
