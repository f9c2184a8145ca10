"""Who is asking: the signed session cookie of the login page, or a bearer token.

The cookie (see :mod:`agent_ui.sessions`) is HttpOnly and SameSite=Lax, so other sites can
neither read it nor send it with a POST. Non-browser clients send ``Authorization: Bearer
<token>`` on every request instead. Failed logins and wrong bearer tokens are throttled per
client address and agent id (:mod:`agent_ui.throttle` has the rule): a refused request gets 429
with ``Retry-After``.
"""

from __future__ import annotations

import ipaddress
import json
import logging

from aiohttp import web

from agent_ui.keys import COUNTERS, DESK, SESSIONS
from screenpop.agents import Agent
from screenpop.errors import ScreenpopError

log = logging.getLogger(__name__)

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


async def clear_session(request: web.Request, response: web.StreamResponse) -> None:
    """Log out: void the agent's sessions on the server (kept by the desk, so a restart does
    not bring them back) and expire the cookie."""
    agent = session_agent(request)
    if agent is not None:
        codec = request.app[SESSIONS]
        not_before = codec.revoke(agent.id)
        try:
            await request.app[DESK].remember_logout(agent.id, not_before, codec.ttl_s)
        except ScreenpopError as exc:  # this process still refuses the old sessions
            log.error("agent %s: logout not kept across a restart: %s", agent.id, exc)
    response.del_cookie(COOKIE, path="/")


def session_agent(request: web.Request) -> Agent | None:
    """The agent of the request's session cookie, if it is valid and the agent still exists."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    agent_id = request.app[SESSIONS].verify(value)
    return request.app[DESK].agent(agent_id) if agent_id else None


def bearer_agent(request: web.Request) -> Agent | None:
    """The agent whose token is in `Authorization: Bearer <token>`, else None.

    Raises 429 (JSON body, ``Retry-After``) when the client's address has sent too many wrong
    tokens lately; a wrong token counts towards that.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    wait = login_wait(request, None)
    if wait is not None:
        request.app[COUNTERS].login_throttled.labels("bearer").inc()
        raise web.HTTPTooManyRequests(
            text=json.dumps({"error": f"too many wrong tokens: retry in {wait} s"}),
            content_type="application/json",
            headers={"Retry-After": str(wait)},
        )
    agent = request.app[DESK].authenticate_token(token.strip())
    if agent is None:
        request.app[COUNTERS].token_failures.inc()
        login_failed(request, None)
    return agent


def login_wait(request: web.Request, agent_id: str | None) -> int | None:
    """Seconds this client must wait before trying credentials (for `agent_id`), else None."""
    server = request.app[DESK].server
    throttle = request.app[SESSIONS].throttle
    address = client_address(request)
    return throttle.retry_after(address, agent_id, server.login_max_failures, server.login_window_s)


def login_failed(request: web.Request, agent_id: str | None) -> None:
    """Count a wrong token from this client (on `agent_id` when the attempt named one)."""
    limit = request.app[DESK].server.login_max_failures
    request.app[SESSIONS].throttle.failed(client_address(request), agent_id, limit)


def login_succeeded(request: web.Request, agent_id: str) -> None:
    """Forget this client's failures on `agent_id`."""
    request.app[SESSIONS].throttle.succeeded(client_address(request), agent_id)


def client_address(request: web.Request) -> str:
    """The client's IP: the peer's, or behind a `[server] trusted_proxies` peer the last
    `X-Forwarded-For` hop that is not itself a trusted proxy. Never the header otherwise: any
    client can write one."""
    peer = request.remote or ""
    trusted = request.app[DESK].server.trusted_proxies
    if not trusted or not _among(peer, trusted):
        return peer
    forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _among(hop, trusted):
            return hop[:64]
    return peer


def _among(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net.strip(), strict=False) for net in networks)


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


def cross_site(request: web.Request) -> bool:
    """True when a browser says another site sent this request: a foreign `Origin`, or a
    `Sec-Fetch-Site` other than same-origin / none (typed or bookmarked). Clients sending
    neither header are not browsers and are not cross-site."""
    fetch_site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    return not same_origin(request) or fetch_site not in ("", "same-origin", "none")


def _origin_key(origin: str) -> str:
    return origin.strip().rstrip("/").lower()
