"""The JSON and machine endpoints: health, readiness, metrics, cards, notes, webhooks."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_ui.auth import request_agent, same_origin
from agent_ui.keys import COUNTERS, DESK
from screenpop.agents import Agent
from screenpop.delivery.inbound import MAX_NOTE_CHARS, NOTE_ID_PATTERN
from screenpop.errors import AuthError, ProtocolError, StoreError, StoreRejected
from screenpop.telephony.webhooks.base import ReplayedRequest, rejection_reason

log = logging.getLogger(__name__)


def problem(status: int, reason: str) -> web.Response:
    """A JSON error body `{"error": reason}` with `status`."""
    return web.json_response({"error": reason}, status=status)


def invalid_body(exc: ValidationError) -> web.Response:
    """400 naming the first field of a JSON body that failed validation."""
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return problem(400, f"{where}: {err['msg']}")


async def healthz(request: web.Request) -> web.Response:
    """`GET /healthz`: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """`GET /readyz`: 200 when sources, store and cache are all fine, else 503; the checks."""
    readiness = await request.app[DESK].readiness()
    return web.json_response(readiness, status=200 if readiness.get("ready") else 503)


async def metrics(request: web.Request) -> web.Response:
    """`GET /metrics`: Prometheus text format."""
    body = request.app[DESK].metrics_text()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def api_agent(request: web.Request) -> Agent:
    """The caller of an API route; 401 without credentials, 403 for a cross-site request."""
    agent = request_agent(request)
    if agent is None:
        raise web.HTTPUnauthorized(
            text=json.dumps({"error": "log in or send Authorization: Bearer <token>"}),
            content_type="application/json",
            headers={"WWW-Authenticate": 'Bearer realm="screenpop"'},
        )
    if "Authorization" not in request.headers and not same_origin(request):
        raise web.HTTPForbidden(
            text=json.dumps({"error": "cross-site request"}), content_type="application/json"
        )
    return agent


async def card(request: web.Request) -> web.Response:
    """`GET /api/cards/{number}`: one lookup for that number, filtered for the caller's role."""
    agent = api_agent(request)
    try:
        found = await request.app[DESK].card_for_number(request.match_info["number"][:64], agent)
    except ValueError as exc:
        return problem(400, str(exc))
    return web.json_response(found)


class NoteBody(BaseModel):
    """The body of `POST /api/calls/{call_id}/notes`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    disposition: str = Field(min_length=1, max_length=64)
    text: str = Field(default="", max_length=MAX_NOTE_CHARS)
    id: str | None = Field(default=None, pattern=NOTE_ID_PATTERN)  # a retry with it: one note


async def add_note(request: web.Request) -> web.Response:
    """`POST /api/calls/{call_id}/notes`: save a note on one of the caller's own calls.

    201 when the store holds it, 202 when it waits in the outbox for the store to come back
    (it will be stored once; posting the same ``id`` again never makes a second note)."""
    agent = api_agent(request)
    desk = request.app[DESK]
    try:
        body = NoteBody.model_validate_json(await request.read())
    except ValidationError as exc:
        return invalid_body(exc)
    if body.disposition not in desk.dispositions:
        return problem(400, f"unknown disposition {body.disposition!r}")
    call_id = request.match_info["call_id"]
    try:
        note = await desk.save_note(agent.id, call_id, body.disposition, body.text, body.id)
    except KeyError:
        return problem(404, "no such call for this agent")
    except StoreRejected as exc:
        return problem(400, str(exc))
    except StoreError as exc:
        log.warning("call %s: note by %s not saved: %s", call_id, agent.id, exc)
        return problem(503, "the note could not be saved, try again")
    return web.json_response(note, status=201 if note["synced"] else 202)


def webhook_refusal(exc: AuthError | ProtocolError) -> web.Response:
    """The answer to a refused webhook request: 400, 401, 403, 409, or 200 for an acknowledged
    replay (nothing applied; see :class:`ReplayedRequest`)."""
    if isinstance(exc, ProtocolError):
        return problem(400, str(exc) or "malformed request")
    if isinstance(exc, ReplayedRequest):
        if exc.acknowledge:
            return web.json_response({"ok": True, "events": 0, "replay": True})
        return problem(409, str(exc))
    missing = bool(getattr(exc, "missing", False))
    return problem(401 if missing else 403, str(exc) or "bad signature")


async def webhook(request: web.Request) -> web.Response:
    """`POST /webhooks/{source_name}`: hand the request to that webhook source."""
    name = request.match_info["source_name"]
    desk = request.app[DESK]
    source = desk.webhook(name)
    if source is None:
        return problem(404, "no such webhook source")
    body = await request.read()
    try:
        events = source.handle(str(request.url), dict(request.headers), body)
    except (AuthError, ProtocolError) as exc:
        request.app[COUNTERS].webhook_rejected.labels(name, rejection_reason(exc)).inc()
        return webhook_refusal(exc)
    for event in events:
        desk.emit(event)
    return web.json_response({"ok": True, "events": len(events)})
