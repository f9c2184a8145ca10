"""Signed session cookie values: :class:`SessionCodec`.

A value is ``base64url(agent_id|issued_ms|expiry).hex(HMAC-SHA256(key, payload))``, the key
derived from `[server] session_secret`. Logging out revokes every session of that agent issued
until then (kept in memory: a restart forgets it, the cookie's expiry still holds).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable

from agent_ui.throttle import LoginThrottle


class SessionCodec:
    """Signs and verifies session cookie values; `clock` is injectable for tests.

    It also holds the :class:`LoginThrottle` of the attempts to open a session (`throttle`).
    """

    def __init__(
        self,
        secret: str,
        ttl_s: int,
        clock: Callable[[], float] = time.time,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self._key = hashlib.sha256(b"screenpop-session:" + secret.encode()).digest()
        self.ttl_s = ttl_s
        self._clock = clock
        self._not_before: dict[str, int] = {}  # agent id -> sessions issued before are void
        self.throttle = throttle or LoginThrottle()

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
