"""The aiohttp application of the agent and supervisor pages: :func:`build_app`."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from agent_ui import api, create_api, desk_api, pages, reports_api, reports_page, search_api, ws
from agent_ui.counters import UiCounters
from agent_ui.deflate import SharedDeflate
from agent_ui.demo_crm import add_demo_routes
from agent_ui.i18n import CATALOGS, load_catalogs
from agent_ui.keys import COUNTERS, DEFLATE, DESK, SESSIONS, SOCKETS, TEMPLATES
from agent_ui.sessions import SessionCodec
from screenpop.callerid import mask
from screenpop.errors import ScreenpopError

if TYPE_CHECKING:
    from agent_ui.desk import Desk

HERE = Path(__file__).parent
log = logging.getLogger(__name__)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Headers that keep pages from being framed, sniffed or running inline script."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _harden(exc)
        raise
    if not response.prepared:
        _harden(response)
    return response


def _harden(response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")


# Probes and scrapers hit these every few seconds; their lines would bury the rest.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
QUIET_PREFIXES = ("/static/",)
_CARD_PATH = re.compile(r"^(/api/cards/)([^/?#]+)")
_PLUS_NUMBER = re.compile(r"(?:\+|%2[Bb])[0-9%().-]*[0-9]")


def masked_path(raw_path: str) -> str:
    """`raw_path` (with its query) with phone numbers masked as in the other logs: the card
    API's number, and any `+`-prefixed (or `%2B`) number elsewhere."""
    path = _CARD_PATH.sub(lambda m: m.group(1) + mask(unquote(m.group(2))), raw_path)
    return _PLUS_NUMBER.sub(lambda m: mask(unquote(m.group(0))), path)


class AccessLog(AbstractAccessLogger):
    """aiohttp's access log without callers' numbers and without probe noise.

    One INFO line per request: client address, method, masked path, status, bytes, time, user
    agent. Health, readiness, metrics and static files are not logged. Give it to
    ``web.AppRunner(..., access_log_class=AccessLog)``.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = request.path
        if path in QUIET_PATHS or path.startswith(QUIET_PREFIXES):
            return
        self.logger.info(
            '%s "%s %s HTTP/%d.%d" %d %d %.1fms "%s"',
            request.remote or "-",
            request.method,
            masked_path(request.raw_path),
            request.version.major,
            request.version.minor,
            response.status,
            response.body_length,
            time * 1000,
            request.headers.get("User-Agent", "-"),
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


async def _close_sockets(app: web.Application) -> None:
    sockets: set[web.WebSocketResponse] = app[SOCKETS]
    for socket in list(sockets):
        await socket.close(code=ws.CLOSE_SHUTDOWN, message=b"server shutting down")


async def _restore_logouts(app: web.Application) -> None:
    """Logouts from before a restart still void their sessions."""
    try:
        app[SESSIONS].restore(await app[DESK].logouts())
    except ScreenpopError as exc:
        log.error("logouts from before the restart could not be read: %s", exc)


def build_app(desk: Desk, demo_dir: Path | None = None) -> web.Application:
    """The web application over `desk`: pages, `/ws`, the API, health and webhooks; with
    `demo_dir` (`screenpop demo`), also the demo back office's CRM page (`/demo/crm`)."""
    app = web.Application(middlewares=[security_headers], client_max_size=1024 * 1024)
    server = desk.server
    app[DESK] = desk
    app[SESSIONS] = SessionCodec(server.session_secret, server.session_ttl_s)
    app[SOCKETS] = set()
    app[DEFLATE] = SharedDeflate()
    app[COUNTERS] = UiCounters.for_registry(desk.metrics_registry)
    app[CATALOGS] = load_catalogs()
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.on_startup.append(_restore_logouts)
    app.on_shutdown.append(_close_sockets)
    add_routes(app)
    if demo_dir is not None:
        add_demo_routes(app, demo_dir)
    static = app.router["static"]
    app[TEMPLATES].globals["static"] = lambda name: str(static.url_for(filename=name))
    return app


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", pages.login_form)
    r.add_post("/", pages.login)
    r.add_post("/logout", pages.logout)
    r.add_post("/language", pages.set_language)
    r.add_get("/agent", pages.agent_page)
    r.add_get("/supervisor", pages.supervisor_page)
    r.add_get("/reports", reports_page.reports_page)
    r.add_get("/ws", ws.websocket)
    r.add_get("/healthz", api.healthz)
    r.add_get("/readyz", api.readyz)
    r.add_get("/metrics", api.metrics)
    r.add_get("/api/cards/{number}", api.card)
    r.add_get("/api/me/calls", desk_api.my_calls)
    r.add_post("/api/calls/{call_id}/notes", api.add_note)
    r.add_post("/api/calls/{call_id}/choice", desk_api.choose)
    r.add_get("/api/search", search_api.search)
    r.add_get("/api/reports/{kind}", reports_api.report)
    r.add_post("/api/calls/{call_id}/link", search_api.link)
    r.add_get("/api/create-forms", create_api.create_forms)
    r.add_post("/api/calls/{call_id}/create", create_api.create)
    r.add_post("/api/dial", desk_api.dial)
    r.add_post("/admin/reload", desk_api.reload)
    r.add_post("/admin/forget", desk_api.forget_cached)
    r.add_post("/webhooks/{source_name}", api.webhook)
    r.add_static("/static", HERE / "static", name="static", append_version=True)
