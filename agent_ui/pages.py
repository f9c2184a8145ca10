"""The HTML pages: login, logout, the agent desktop and the supervisor board.

Logging in is a POST to `/`, logging out a POST to `/logout` (a link or an image on another site
cannot log an agent out); both are refused with 403 when a browser says another site sent them
(:func:`agent_ui.auth.cross_site`).
Failed logins are throttled (:mod:`agent_ui.throttle`): 429 with `Retry-After`.
Every page is in the reader's language (:mod:`agent_ui.i18n`); the picker posts to `/language`.
"""

from __future__ import annotations

import logging
import re
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
from agent_ui.i18n import (
    CATALOGS,
    COOKIE_MAX_AGE_S,
    NATIVE_NAMES,
    Choice,
    Translate,
    catalog_json,
    choose,
    fill,
    translator,
)
from agent_ui.i18n import COOKIE as LANG_COOKIE
from agent_ui.keys import COUNTERS, DEMO_DIR, DESK, TEMPLATES
from screenpop.agents import Agent

log = logging.getLogger(__name__)

MAX_FIELD_CHARS = 512
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")  # printable ASCII, no backslash


def english(text: str, **params: Any) -> str:
    """`t("English text", name=value)` without a catalog: the text with its `{name}`
    placeholders filled (the same contract as the pages' `t()` in static/i18n.js)."""
    return fill(text, params)


def language_of(request: web.Request, agent: Agent | None = None) -> Choice:
    """The language this request's page is shown in (:mod:`agent_ui.i18n` says how)."""
    return choose(
        request.app[CATALOGS].languages,
        cookie=request.cookies.get(LANG_COOKIE),
        agent_locale=agent.locale if agent is not None else "",
        accept_language=request.headers.get("Accept-Language", ""),
        default=request.app[DESK].ui.locale,
    )


def page_text(request: web.Request, agent: Agent | None = None) -> Translate:
    """`t(text, **params)` in the language of this request's page."""
    return translator(request.app[CATALOGS].catalog(language_of(request, agent).language))


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render a template (autoescaped) into an HTML response that is never cached. Every page
    gets `lang` (the locale tag of its language), `timezone` (`[ui]`), `t` (text in its
    language), the catalog for its scripts and the language picker's choices."""
    catalogs = request.app[CATALOGS]
    choice = language_of(request, context.get("agent"))
    catalog = catalogs.catalog(choice.language)
    context.setdefault("lang", choice.tag)
    context.setdefault("timezone", request.app[DESK].ui.timezone)
    context.setdefault("t", translator(catalog))
    context.setdefault("messages", catalog_json(catalog))
    context.setdefault("other_languages", _others(catalogs.languages, choice.language))
    context.setdefault("here", request.path_qs)
    html = request.app[TEMPLATES].get_template(template).render(**context)
    response = web.Response(text=html, status=status, content_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = choice.tag
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


def _others(languages: tuple[str, ...], current: str) -> list[tuple[str, str]]:
    return [(code, NATIVE_NAMES.get(code, code)) for code in languages if code != current]


def home_of(request: web.Request, agent: Agent) -> str:
    """Where an agent lands after logging in: the board for roles that may watch it."""
    return "/supervisor" if request.app[DESK].watches_board(agent) else "/agent"


def origin_warning(request: web.Request, t: Translate = english) -> str | None:
    """Why live updates will be refused on this page, when it is opened under another address.

    The websocket only accepts the configured public origin; a page opened at `localhost` when the
    origin says `127.0.0.1` would otherwise just keep reconnecting without saying why.
    """
    public = request.app[DESK].server.public_origin
    expected = urlsplit(public).netloc.lower()
    if not expected or request.host.lower() == expected:
        return None
    return t(
        "This page was opened at {host}, but the server only accepts live updates from {origin} "
        "(server.public_origin). Open {address} instead.",
        host=request.host,
        origin=public,
        address=public.rstrip("/") + request.path,
    )


async def login_form(request: web.Request) -> web.StreamResponse:
    """`GET /`: the login form, or straight to the agent's page when already logged in."""
    agent = session_agent(request)
    if agent is not None:
        raise web.HTTPSeeOther(home_of(request, agent))
    warning = origin_warning(request, page_text(request))
    return render(request, "login.html", agent_id="", error=None, warning=warning)


async def login(request: web.Request) -> web.StreamResponse:
    """`POST /`: check agent id and token; set the session cookie or show the form again."""
    t = page_text(request)
    if cross_site(request):
        refused = t("Refused: this form was sent from another site.")
        error = f"{refused} {origin_warning(request, t) or ''}".strip()
        return render(request, "login.html", 403, agent_id="", error=error)
    form = await request.post()
    agent_id = str(form.get("agent_id", ""))[:MAX_FIELD_CHARS].strip()
    token = str(form.get("token", ""))[:MAX_FIELD_CHARS]
    wait = login_wait(request, agent_id or None)
    if wait is not None:
        request.app[COUNTERS].login_throttled.labels("form").inc()
        error = t("Too many failed logins: try again in {seconds} seconds.", seconds=wait)
        response = render(request, "login.html", 429, agent_id=agent_id, error=error)
        response.headers["Retry-After"] = str(wait)
        return response
    agent = request.app[DESK].authenticate(agent_id, token) if agent_id else None
    if agent is None:
        request.app[COUNTERS].login_failures.inc()
        login_failed(request, agent_id or None)
        log.info("failed login for agent id %r", agent_id[:64])
        error = t("Wrong agent id or token.")
        return render(request, "login.html", 401, agent_id=agent_id, error=error)
    login_succeeded(request, agent.id)
    log.info("agent %s logged in", agent.id)
    response = web.HTTPSeeOther(home_of(request, agent))
    set_session(request, response, agent)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """`POST /logout`: forget the session (every cookie of the agent), back to the login form.
    Refused (403) when a browser says another site sent it."""
    if cross_site(request):
        t = page_text(request, session_agent(request))
        raise web.HTTPForbidden(text=t("Refused: logout was asked by another site."))
    response = web.HTTPSeeOther("/")
    await clear_session(request, response)
    raise response


async def set_language(request: web.Request) -> web.StreamResponse:
    """`POST /language` (the picker): keep the chosen `language` in the `screenpop_lang` cookie
    and go back to `next` (a path of this site). An unknown language is refused (400), as is a
    request another site sent (403)."""
    t = page_text(request, session_agent(request))
    if cross_site(request):
        raise web.HTTPForbidden(text=t("Refused: this form was sent from another site."))
    form = await request.post()
    language = str(form.get("language", ""))[:MAX_FIELD_CHARS]
    if language not in request.app[CATALOGS].languages:
        raise web.HTTPBadRequest(text=t("Unknown language: {language}", language=language))
    response = web.HTTPSeeOther(_local_path(str(form.get("next", "/"))[:MAX_FIELD_CHARS]))
    response.set_cookie(
        LANG_COOKIE,
        language,
        max_age=COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.app[DESK].server.public_origin.startswith("https:"),
    )
    raise response


def _local_path(target: str) -> str:
    """`target` when it is a path of this site, else `/`: never another host (`//evil`,
    `/\\evil`, `/<tab>/evil`, which browsers read as `//evil`)."""
    return target if _LOCAL_PATH.fullmatch(target) else "/"


async def agent_page(request: web.Request) -> web.StreamResponse:
    """`GET /agent`: the agent desktop; the login form when not logged in."""
    agent = session_agent(request)
    if agent is None:
        raise web.HTTPSeeOther("/")
    desk = request.app[DESK]
    board = desk.watches_board(agent)
    warning = origin_warning(request, page_text(request, agent))
    return render(
        request,
        "agent.html",
        agent=agent,
        board=board,
        warning=warning,
        pause_reasons=list(desk.ui.pause_reasons),
        dispositions=list(desk.dispositions),
        layouts=desk.layouts(agent),
        demo_crm=DEMO_DIR in request.app,
    )


async def supervisor_page(request: web.Request) -> web.StreamResponse:
    """`GET /supervisor`: the queue board, for roles with the `board` permission only."""
    agent = session_agent(request)
    if agent is None:
        raise web.HTTPSeeOther("/")
    desk = request.app[DESK]
    if not desk.watches_board(agent):
        return render(request, "forbidden.html", 403, agent=agent)
    pause = {"manage": desk.manages_agents(agent), "reasons": list(desk.ui.pause_reasons)}
    warning = origin_warning(request, page_text(request, agent))
    reports = desk.reads_reports(agent)
    return render(
        request,
        "supervisor.html",
        agent=agent,
        warning=warning,
        pause_config=pause,
        reports=reports,
    )
