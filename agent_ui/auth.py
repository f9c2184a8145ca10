"""Who is asking: the signed session cookie of the login page, or a bearer token.

The cookie (see :mod:`agent_ui.sessions`) is HttpOnly and SameSite=Lax, so other sites can
neither read it nor send it with a POST. Non-browser clients send ``Authorization: Bearer
<token>`` on every request instead.
"""

from __future__ import annotations

from aiohttp import web

from agent_ui.keys import DESK, SESSIONS
from screenpop.agents import Agent

COOKIE = "screenpop_session"


def _secure(request: web.Request) -> bool:
    return request.app[DESK].server.public_origin.startswith("https:")


def set_session(request: web.Request, response: web.StreamResponse, agent: Agent) -> None:
    """Log `agent` in: attach a fresh session cookie to `response`."""
    codec = request.app[SESSIONS]
    response.set_cookie(
        COOKIE,
        codec.issue(agent.id),
        max_age=codec.ttl_s,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_secure(request),
    )


def clear_session(request: web.Request, response: web.StreamResponse) -> None:
    """Log out: void the agent's sessions on the server and expire the cookie."""
    agent = session_agent(request)
    if agent is not None:
        request.app[SESSIONS].revoke(agent.id)
    response.del_cookie(COOKIE, path="/")


def session_agent(request: web.Request) -> Agent | None:
    """The agent of the request's session cookie, if it is valid and the agent still exists."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    agent_id = request.app[SESSIONS].verify(value)
    return request.app[DESK].agent(agent_id) if agent_id else None


def bearer_agent(request: web.Request) -> Agent | None:
    """The agent whose token is in `Authorization: Bearer <token>`, else None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return request.app[DESK].authenticate_token(token.strip())


def request_agent(request: web.Request) -> Agent | None:
    """The agent behind a request: its bearer token when it sends one, else its session cookie."""
    if "Authorization" in request.headers:
        return bearer_agent(request)
    return session_agent(request)


def same_origin(request: web.Request) -> bool:
    """False when the request carries an `Origin` other than the configured public origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    expected = request.app[DESK].server.public_origin
    return _origin_key(origin) == _origin_key(expected)


def _origin_key(origin: str) -> str:
    return origin.strip().rstrip("/").lower()
