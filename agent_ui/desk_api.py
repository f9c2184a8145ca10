"""Agent and supervisor actions over HTTP: the agent's calls of the day, click-to-dial, picking a
candidate, reloading config, dropping an erased caller's cached cards.

The same actions exist as websocket messages for the agent page; these routes serve scripts and
other clients. Every route checks the caller's identity and role first.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_ui.api import api_agent, invalid_body, problem
from agent_ui.keys import DESK
from screenpop.errors import ConfigError, ScreenpopError, StoreError

log = logging.getLogger(__name__)


class DialBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    number: str = Field(min_length=1, max_length=64)


class ForgetBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    number: str = Field(min_length=1, max_length=64)
    dry_run: bool = False  # count only


class ChoiceBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    customer_id: str = Field(min_length=1, max_length=200)


async def my_calls(request: web.Request) -> web.Response:
    """`GET /api/me/calls[?day=YYYY-MM-DD]`: the caller's calls of that day (default today, in
    `[ui] timezone`), newest first: answered, missed and outbound."""
    agent = api_agent(request)
    day: dt.date | None = None
    if "day" in request.query:
        try:
            day = dt.date.fromisoformat(request.query["day"])
        except ValueError:
            return problem(400, "day: expected a date as YYYY-MM-DD")
    try:
        found = await request.app[DESK].my_calls(agent.id, day)
    except StoreError as exc:
        log.warning("agent %s: calls of the day not read: %s", agent.id, exc)
        return problem(503, "the call log does not answer, try again")
    return web.json_response(found)


async def dial(request: web.Request) -> web.Response:
    """`POST /api/dial` `{"number": ...}`: call the number from the caller's own extension."""
    agent = api_agent(request)
    try:
        body = DialBody.model_validate_json(await request.read())
    except ValidationError as exc:
        return invalid_body(exc)
    try:
        call_id = await request.app[DESK].dial(agent.id, body.number)
    except ValueError as exc:
        return problem(400, str(exc))
    except ScreenpopError as exc:
        log.warning("agent %s: dial failed: %s", agent.id, exc)
        return problem(503, str(exc) or "the call could not be placed")
    return web.json_response({"call_id": call_id}, status=201)


async def choose(request: web.Request) -> web.Response:
    """`POST /api/calls/{call_id}/choice` `{"customer_id": ...}`: this caller is that customer."""
    return await customer_for_call(request, request.app[DESK].choose)


async def customer_for_call(
    request: web.Request, action: Callable[[str, str, str], Awaitable[None]]
) -> web.Response:
    """A `{"customer_id"}` body applied to one of the agent's calls by `action(agent, call,
    customer)`: 404 for a call that is not theirs, 409 when `action` refuses the customer
    (ValueError), 503 when the store is away."""
    agent = api_agent(request)
    try:
        body = ChoiceBody.model_validate_json(await request.read())
    except ValidationError as exc:
        return invalid_body(exc)
    try:
        await action(agent.id, request.match_info["call_id"], body.customer_id)
    except KeyError as exc:
        return problem(404, str(exc.args[0]) if exc.args else "no such call for this agent")
    except ValueError as exc:
        return problem(409, str(exc))
    except ScreenpopError as exc:
        return problem(503, str(exc))
    return web.json_response({"ok": True})


async def reload(request: web.Request) -> web.Response:
    """`POST /admin/reload`: re-read the config file (roles with `board = true` only)."""
    agent = api_agent(request)
    desk = request.app[DESK]
    if not desk.watches_board(agent):
        return problem(403, "only a supervisor may reload the configuration")
    try:
        summary = await desk.reload()
    except ConfigError as exc:
        log.error("reload by %s refused, the running config stays: %s", agent.id, exc)
        return problem(422, str(exc))
    log.info("reload requested by %s", agent.id)
    return web.json_response({"ok": True, "message": summary})


async def forget_cached(request: web.Request) -> web.Response:
    """`POST /admin/forget` `{"number", "dry_run"?}`: drop the caller's cached cards from this
    daemon's cache (`screenpop forget` asks it for a `memory://` cache; roles with `board =
    true` only): `{"sections", "choice"}`, how many went (with `dry_run`, how many there are)."""
    agent = api_agent(request)
    desk = request.app[DESK]
    if not desk.watches_board(agent):
        return problem(403, "only a supervisor may erase a caller")
    try:
        body = ForgetBody.model_validate_json(await request.read())
        dropped = await desk.forget_cached(body.number, dry_run=body.dry_run)
    except ValidationError as exc:
        return invalid_body(exc)
    except ValueError as exc:
        return problem(400, str(exc))
    log.info("cached cards of a caller dropped, asked by %s", agent.id)
    return web.json_response(dropped)
