"""Which agents have a page open, counted per tab."""

from __future__ import annotations

from collections.abc import Callable

from screenpop.agents import Agent


class Presence:
    """Open tabs per agent. `agent` and `watches_board` read the current (reloadable) config."""

    def __init__(
        self, agent: Callable[[str], Agent | None], watches_board: Callable[[Agent], bool]
    ) -> None:
        self._agent = agent
        self._watches_board = watches_board
        self._tabs: dict[str, int] = {}

    def opened(self, agent_id: str) -> bool:
        """One more tab; True when it is the agent's first."""
        self._tabs[agent_id] = self._tabs.get(agent_id, 0) + 1
        return self._tabs[agent_id] == 1

    def closed(self, agent_id: str) -> bool:
        """One tab fewer; True when it was the agent's last."""
        left = self._tabs.get(agent_id, 0) - 1
        if left > 0:
            self._tabs[agent_id] = left
            return False
        self._tabs.pop(agent_id, None)
        return True

    def board_watchers(self) -> list[tuple[str, str]]:
        """(agent id, role) of every online agent whose role sees the board."""
        out = []
        for agent_id in self._tabs:
            agent = self._agent(agent_id)
            if agent is not None and self._watches_board(agent):
                out.append((agent_id, agent.role))
        return out

    def online_agents(self) -> list[Agent]:
        """Every agent with a page open, as the current config knows them."""
        found = (self._agent(agent_id) for agent_id in self._tabs)
        return [agent for agent in found if agent is not None]

    def online_extensions(self) -> list[str]:
        """The first extension of every agent with a page open (the simulator rings these)."""
        out = []
        for agent_id in self._tabs:
            agent = self._agent(agent_id)
            if agent is not None and agent.extensions:
                out.append(agent.extensions[0])
        return out
