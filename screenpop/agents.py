"""The agent directory: who the agents are, how they log in, which PBX endpoints ring for them."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

from screenpop.settings import AgentSettings

# `PJSIP/1001-0000001a` (Asterisk channel), `Local/1001@from-internal-00000012;1` (FreePBX),
# `SIP/1001-00000003`: the unique suffix after the device name is dropped.
_CHANNEL_SUFFIX = re.compile(r"(-[0-9a-fA-F]{8})?(;[12])?$")
_LOCAL = re.compile(r"^Local/([^@/]+)@", re.IGNORECASE)
_TECH = re.compile(r"^(?:PJSIP|SIP|IAX2|DAHDI|user|sofia/[^/]+)/([^@/;]+)", re.IGNORECASE)


def endpoint_keys(endpoint: str) -> list[str]:
    """The spellings under which an endpoint may be configured, most specific first.

    `PJSIP/1001-0000001a` -> `pjsip/1001`, `1001`; `Local/1001@from-internal;1` ->
    `local/1001@from-internal`, `1001`; `user/1001@dom` -> `user/1001@dom`, `user/1001`, `1001`;
    a FreeSWITCH call-center agent `1001@default` -> `1001@default`, `1001`.
    """
    text = endpoint.strip()
    base = _CHANNEL_SUFFIX.sub("", text) if "/" in text else text
    keys = [base.lower()]
    if "@" in base and (base.lower().startswith("user/") or "/" not in base):
        keys.append(base.split("@", 1)[0].lower())  # `user/1001@dom` or a CC-Agent `1001@default`
    local = _LOCAL.match(base)
    tech = _TECH.match(base)
    if local:
        keys.append(local.group(1).lower())
    elif tech:
        keys.append(tech.group(1).lower())
    seen: list[str] = []
    for key in keys:
        if key not in seen:
            seen.append(key)
    return seen


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    name: str
    role: str
    extensions: tuple[str, ...]
    locale: str = ""  # `[[agents]] locale`: the agent's language, "" = the browser's
    queues: tuple[str, ...] | None = None  # `[[agents]] queues`: callback items seen; None: all

    def sees_queue(self, queue: str) -> bool:
        """True when the agent sees callback items of `queue` (`[[agents]] queues`)."""
        return self.queues is None or queue in self.queues


class AgentDirectory:
    """Agents by id, by endpoint and by token. Built from config; rebuilt on reload."""

    def __init__(self, agents: Iterable[AgentSettings]) -> None:
        self._agents: dict[str, Agent] = {}
        self._by_endpoint: dict[str, str] = {}
        self._token_hashes: dict[str, bytes] = {}  # agent id: the SHA-256 of their token
        self._by_token_hash: dict[bytes, str] = {}  # and back, for bearer tokens
        for cfg in agents:
            queues = None if cfg.queues is None else tuple(cfg.queues)
            agent = Agent(
                cfg.id, cfg.name or cfg.id, cfg.role, tuple(cfg.extensions), cfg.locale, queues
            )
            self._agents[cfg.id] = agent
            for ext in cfg.extensions:  # `Local/1001@from-internal` also answers to `1001`
                for key in endpoint_keys(ext):
                    self._by_endpoint.setdefault(key, cfg.id)
            digest = cfg.token_sha256 or hashlib.sha256((cfg.token or "").encode()).hexdigest()
            self._token_hashes[cfg.id] = bytes.fromhex(digest)
            self._by_token_hash[bytes.fromhex(digest)] = cfg.id

    def get(self, agent_id: str) -> Agent | None:
        return self._agents.get(agent_id)

    def all(self) -> list[Agent]:
        return list(self._agents.values())

    def match(self, endpoint: str | None) -> str | None:
        """The id of the agent an endpoint rings for, or None when no agent has it."""
        if not endpoint:
            return None
        for key in endpoint_keys(endpoint):
            agent_id = self._by_endpoint.get(key)
            if agent_id is not None:
                return agent_id
        return None

    def authenticate(self, agent_id: str, token: str) -> Agent | None:
        """The agent if `token` is theirs (constant-time compare), else None."""
        expected = self._token_hashes.get(agent_id)
        given = hashlib.sha256(token.encode()).digest()
        if expected is None:
            hmac.compare_digest(given, given)
            return None
        return self._agents[agent_id] if hmac.compare_digest(expected, given) else None

    def authenticate_token(self, token: str) -> Agent | None:
        """The agent whose token this is (for `Authorization: Bearer` clients), else None.

        One map look-up by the token's SHA-256, whatever the number of agents, then a
        constant-time compare with the entry found (a wrong token is compared too, with itself).
        """
        given = hashlib.sha256(token.encode()).digest()
        agent_id = self._by_token_hash.get(given)
        expected = given if agent_id is None else self._token_hashes[agent_id]
        if not hmac.compare_digest(expected, given) or agent_id is None:
            return None
        return self._agents[agent_id]
