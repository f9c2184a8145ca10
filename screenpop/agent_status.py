"""Agent status: available, or paused with a reason, as the PBX last confirmed it.

:class:`StatusBook` is sans-I/O (times passed in): it holds each agent's :class:`AgentStatus`,
the pause an agent (or a supervisor) asked for until the PBX answers, and says when a
confirmation changes what an agent is. The PBX's word is the truth: asking only marks the agent
"pausing"; the status changes when the source reports the pause (`QueueMemberPause`,
mod_callcenter `agent-status-change`, the simulator). A PBX that gives no reason (FreeSWITCH)
gets the one that was asked for; a pause nobody here asked for keeps the PBX's reason (or none).

The status lives in this process (each cluster node keeps the book of the events its own links
see and the requests its own tabs make); the board (shared) and the agent's tabs (numbered
`status` messages) are told of every change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

State = Literal["available", "paused"]
ASK_TTL_S = 60.0  # a request the PBX never confirmed is forgotten after this long


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """One agent's status: `reason` is None when available; `since` in epoch seconds."""

    state: State
    reason: str | None
    since: float

    @property
    def paused(self) -> bool:
        return self.state == "paused"

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "reason": self.reason, "since": self.since}


@dataclass(frozen=True, slots=True)
class _Ask:
    paused: bool
    reason: str | None
    at: float


class StatusBook:
    """Every agent's status; an agent never heard of is available since the book started."""

    def __init__(self, now: float) -> None:
        self._started = now
        self._status: dict[str, AgentStatus] = {}
        self._asked: dict[str, _Ask] = {}

    def get(self, agent_id: str) -> AgentStatus:
        """The agent's status now."""
        return self._status.get(agent_id) or AgentStatus("available", None, self._started)

    def asked(self, agent_id: str, paused: bool, reason: str | None, now: float) -> None:
        """A pause (or unpause) was sent to the PBX for the agent; its confirmation is awaited."""
        self._asked[agent_id] = _Ask(paused, reason if paused else None, now)

    def pending(self, agent_id: str, now: float) -> bool | None:
        """The pause asked for and not yet confirmed (True: pausing, False: unpausing)."""
        ask = self._asked.get(agent_id)
        if ask is None or now - ask.at > ASK_TTL_S:
            return None
        return ask.paused

    def refused(self, agent_id: str) -> None:
        """The PBX refused the request: nothing is awaited any more."""
        self._asked.pop(agent_id, None)

    def confirmed(
        self, agent_id: str, paused: bool, reason: str | None, now: float
    ) -> AgentStatus | None:
        """The PBX says the agent is paused (with `reason`, "" or None: none given) or
        available; the new status when that changes it, else None."""
        ask = self._asked.get(agent_id)
        if ask is not None and ask.paused == paused:
            del self._asked[agent_id]
            if paused and not reason:
                reason = ask.reason
        new = AgentStatus("paused", reason or None, now) if paused else None
        old = self.get(agent_id)
        if new is None:
            if not old.paused:
                return None
            new = AgentStatus("available", None, now)
        elif old.paused and old.reason == new.reason:
            return None
        self._status[agent_id] = new
        return new

    def forget(self, keep: set[str]) -> None:
        """Drop the agents not in `keep` (removed by a reload)."""
        for agent_id in [a for a in self._status if a not in keep]:
            del self._status[agent_id]
        for agent_id in [a for a in self._asked if a not in keep]:
            del self._asked[agent_id]
