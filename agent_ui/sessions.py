"""Signed session cookie values: :class:`SessionCodec`.

A value is ``base64url(agent_id|issued_ms|expiry).hex(HMAC-SHA256(key, payload))``, the key
derived from `[server] session_secret`. Logging out revokes every session of that agent issued
until then. The web layer has the desk keep each logout in the store until the voided sessions
would have expired, and :meth:`SessionCodec.restore` reads them back at start-up, so a restart
does not revive a logged-out cookie.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from agent_ui.throttle import LoginThrottle

SIGNED_KEPT = 100_000  # cookie values whose signature is kept as checked (then forgotten, all)


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
        # value -> its payload, for values whose signature was checked: a tab checks its cookie
        # before every message it sends, and the HMAC cost more than the rest of the check
        self._signed: dict[str, bytes] = {}
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
        payload = self._signed.get(value)
        if payload is None:
            payload = self._payload(value)
            if payload is None:
                return None
            if len(self._signed) >= SIGNED_KEPT:
                self._signed.clear()
            self._signed[value] = payload
        head, _, expiry = payload.decode(errors="replace").rpartition("|")
        agent_id, _, issued = head.rpartition("|")
        if not agent_id or not expiry.isdigit() or int(expiry) <= self._clock():
            return None
        if not issued.isdigit() or int(issued) <= self._not_before.get(agent_id, -1):
            return None
        return agent_id

    def _payload(self, value: str) -> bytes | None:
        """The payload of `value` if its signature is right, else None."""
        encoded, _, signature = value.partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        return payload

    def revoke(self, agent_id: str) -> int:
        """Void every session of `agent_id` issued so far (logout); returns the time (epoch ms)
        until which its sessions are void, for the desk to keep."""
        not_before = max(int(self._clock() * 1000), self._not_before.get(agent_id, 0))
        self._not_before[agent_id] = not_before
        return not_before

    def restore(self, logouts: Mapping[str, int]) -> None:
        """Take back logouts kept from before a restart (agent id -> epoch ms)."""
        for agent_id, not_before in logouts.items():
            self._not_before[agent_id] = max(not_before, self._not_before.get(agent_id, 0))
