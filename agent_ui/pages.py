"""The HTML pages: login, logout, the agent desktop and the supervisor board.

Logging in is a POST to `/`, logging out a POST to `/logout` (a link or an image on another site
cannot log an agent out); both are refused with 403 when a browser says another site sent them
(:func:`agent_ui.auth.cross_site`).
Failed logins are throttled (:mod:`agent_ui.throttle`): 429 with `Retry-After`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from agent_ui.auth import (
    clear_session,
    cross_site,
    login_failed,
    login_succeeded,
    login_wait,
    session_agent,
    set_session,
)
from agent_ui.keys import COUNTERS, DESK, TEMPLATES
from screenpop.agents import Agent

log = logging.getLogger(__name__)

MAX_FIELD_CHARS = 512


def english(text: str, **params: Any) -> str:
    """A template's `t("English text", name=value)`: the text with its `{name}` placeholders
    filled (the same contract as the pages' `t()` in static/i18n.js)."""
    return text.format_map(params) if params else text


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render a template (autoescaped) into an HTML response that is never cached. Every page
    gets `lang` and `timezone` (`[ui]`): the page's language and the zone its times are shown in."""
    ui = request.app[DESK].ui
    context.setdefault("lang", ui.locale)
    context.setdefault("timezone", ui.timezone)
    context.setdefault("t", english)
    html = request.app[TEMPLATES].get_template(template).render(**context)
    response = web.Response(text=html, status=status, content_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def home_of(request: web.Request, agent: Agent) -> str:
    """Where an agent lands after logging in: the board for roles that may watch it."""
    return "/supervisor" if request.app[DESK].watches_board(agent) else "/agent"


def origin_warning(request: web.Request) -> str | None:
    """Why live updates will be refused on this page, when it is opened under another address.

    The websocket only accepts the configured public origin; a page opened at `localhost` when the
    origin says `127.0.0.1` would otherwise just keep reconnecting without saying why.
    """
    public = request.app[DESK].server.public_origin
    expected = urlsplit(public).netloc.lower()
    if not expected or request.host.lower() == expected:
        return None
    return (
        f"This page was opened at {request.host}, but the server only accepts live updates "
        f"from {public} (server.public_origin). Open {public.rstrip('/')}{request.path} instead."
    )


async def login_form(request: web.Request) -> web.StreamResponse:
    """`GET /`: the login form, or straight to the agent's page when already logged in."""
    agent = session_agent(request)
    if agent is not None:
        raise web.HTTPSeeOther(home_of(request, agent))
    return render(request, "login.html", agent_id="", error=None, warning=origin_warning(request))


async def login(request: web.Request) -> web.StreamResponse:
    """`POST /`: check agent id and token; set the session cookie or show the form again."""
    if cross_site(request):
        error = "Refused: this form was sent from another site. " + (origin_warning(request) or "")
        return render(request, "login.html", 403, agent_id="", error=error.strip())
    form = await request.post()
    agent_id = str(form.get("agent_id", ""))[:MAX_FIELD_CHARS].strip()
    token = str(form.get("token", ""))[:MAX_FIELD_CHARS]
    wait = login_wait(request, agent_id or None)
    if wait is not None:
        request.app[COUNTERS].login_throttled.labels("form").inc()
        error = f"Too many failed logins: try again in {wait} seconds."
        response = render(request, "login.html", 429, agent_id=agent_id, error=error)
        response.headers["Retry-After"] = str(wait)
        return response
    agent = request.app[DESK].authenticate(agent_id, token) if agent_id else None
    if agent is None:
        request.app[COUNTERS].login_failures.inc()
        login_failed(request, agent_id or None)
        log.info("failed login for agent id %r", agent_id[:64])
        return render(
            request, "login.html", 401, agent_id=agent_id, error="Wrong agent id or token."
        )
    login_succeeded(request, agent.id)
    log.info("agent %s logged in", agent.id)
    response = web.HTTPSeeOther(home_of(request, agent))
    set_session(request, response, agent)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """`POST /logout`: forget the session (every cookie of the agent), back to the login form.
    Refused (403) when a browser says another site sent it."""
    if cross_site(request):
        raise web.HTTPForbidden(text="refused: logout was asked by another site")
    response = web.HTTPSeeOther("/")
    await clear_session(request, response)
    raise response


async def agent_page(request: web.Request) -> web.StreamResponse:
    """`GET /agent`: the agent desktop; the login form when not logged in."""
    agent = session_agent(request)
    if agent is None:
        raise web.HTTPSeeOther("/")
    desk = request.app[DESK]
    board = desk.watches_board(agent)
    warning = origin_warning(request)
    layouts = desk.layouts(agent)
    return render(request, "agent.html", agent=agent, board=board, warning=warning, layouts=layouts)


async def supervisor_page(request: web.Request) -> web.StreamResponse:
    """`GET /supervisor`: the queue board, for roles with the `board` permission only."""
    agent = session_agent(request)
    if agent is None:
        raise web.HTTPSeeOther("/")
    if not request.app[DESK].watches_board(agent):
        return render(request, "forbidden.html", 403, agent=agent)
    return render(request, "supervisor.html", agent=agent, warning=origin_warning(request))
