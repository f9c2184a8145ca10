"""Who is asking: the signed session cookie of the login page, or a bearer token.

The cookie holds ``base64url(agent_id|issued_ms|expiry).hex(HMAC-SHA256(secret, payload))``; it
is HttpOnly and SameSite=Lax, so other sites can neither read it nor send it with a POST. Logging
out revokes every session of that agent issued until then (kept in memory: a restart forgets it,
the cookie's expiry still holds). Non-browser clients send ``Authorization: Bearer <token>`` on
every request instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable

from aiohttp import web

from agent_ui.keys import DESK, SESSIONS
from screenpop.agents import Agent

COOKIE = "screenpop_session"


class SessionCodec:
    """Signs and verifies session cookie values; `clock` is injectable for tests."""

    def __init__(self, secret: str, ttl_s: int, clock: Callable[[], float] = time.time) -> None:
        self._key = hashlib.sha256(b"screenpop-session:" + secret.encode()).digest()
        self.ttl_s = ttl_s
        self._clock = clock
        self._not_before: dict[str, int] = {}  # agent id -> sessions issued before are void

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def issue(self, agent_id: str) -> str:
        """A cookie value for `agent_id` valid for `ttl_s` seconds from now."""
        now = self._clock()
        issued_ms = max(int(now * 1000), self._not_before.get(agent_id, 0) + 1)
        payload = f"{agent_id}|{issued_ms}|{int(now) + self.ttl_s}".encode()
        encoded = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{encoded}.{self._sign(payload)}"

    def verify(self, value: str) -> str | None:
        """The agent id of a valid, unexpired cookie value, else None."""
        encoded, _, signature = value.partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        head, _, expiry = payload.decode(errors="replace").rpartition("|")
        agent_id, _, issued = head.rpartition("|")
        if not agent_id or not expiry.isdigit() or int(expiry) <= self._clock():
            return None
        if not issued.isdigit() or int(issued) <= self._not_before.get(agent_id, -1):
            return None
        return agent_id

    def revoke(self, agent_id: str) -> None:
        """Void every session of `agent_id` issued so far (logout)."""
        self._not_before[agent_id] = int(self._clock() * 1000)


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
