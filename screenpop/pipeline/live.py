"""The part of the configuration a reload swaps: settings, agents, and the connectors' fan-out.

Every part of the pipeline reads these through one :class:`LiveConfig` on every use (never
keeping a field of its own), so a reload is seen at once and calls in progress are kept.
"""

from __future__ import annotations

from typing import Any

from screenpop.agents import AgentDirectory
from screenpop.card import Card
from screenpop.lookup import Lookup
from screenpop.settings import RoleSettings, Settings


class LiveConfig:
    """The current settings, agent directory and lookup; :meth:`swap` replaces all three."""

    def __init__(self, settings: Settings, directory: AgentDirectory, lookup: Lookup) -> None:
        self.settings = settings
        self.directory = directory
        self.lookup = lookup

    def swap(self, settings: Settings, directory: AgentDirectory, lookup: Lookup) -> None:
        """Take a reloaded configuration (validated, its connectors started)."""
        self.settings, self.directory, self.lookup = settings, directory, lookup

    def match_agent(self, endpoint: str | None) -> str | None:
        """The agent whose extension `endpoint` is, by the current directory."""
        return self.directory.match(endpoint)

    def role(self, name: str) -> RoleSettings:
        """A role's settings; an unknown role sees no section at all."""
        return self.settings.roles.get(name) or RoleSettings(sections=[])

    def card_json(self, card: Card, agent_id: str) -> dict[str, Any]:
        """The card as this agent's role may see it."""
        agent = self.directory.get(agent_id)
        return card.to_json(self.role(agent.role if agent else "agent"), self.settings.sections)

    def pop_guard_s(self) -> float:
        """How long a pop may wait for its card: the slowest connector's late deadline."""
        return max((c.settings.late_ms for c in self.lookup.connectors), default=0) / 1000
