"""Today's figures on the board: per queue, per agent, and the headline across queues.

A queue's service level is the share of calls answered within the threshold among all calls
offered that ended either way (answered + abandoned); its abandon rate the share abandoned; its
ASA the mean wait of answered calls. An agent's average handle time is talk plus wrap-up of the
calls they finished today. Zeros are figures: a count is 0, never absent; a rate with nothing
to divide is None.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

AGENT_STATES = ("available", "ringing", "on_call", "wrap_up", "paused", "offline")


@dataclass(slots=True)
class QueueDay:
    """One queue's figures for the day."""

    answered: int = 0
    abandoned: int = 0
    within_sl: int = 0
    total_wait_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        offered = self.answered + self.abandoned
        return {
            "answered_today": self.answered,
            "abandoned_today": self.abandoned,
            "asa_s": round(self.total_wait_s / self.answered, 1) if self.answered else None,
            "service_level": round(self.within_sl / offered, 3) if offered else None,
            "abandon_rate": round(self.abandoned / offered, 3) if offered else None,
        }

    def answer(self, wait_s: float, service_level_s: float) -> None:
        """Count one call answered after waiting `wait_s` seconds."""
        wait_s = max(0.0, wait_s)
        self.answered += 1
        self.total_wait_s += wait_s
        self.within_sl += wait_s <= service_level_s

    @classmethod
    def combined(cls, days: Iterable[QueueDay]) -> QueueDay:
        """The figures of several queues as one."""
        out = cls()
        for day in days:
            out.answered += day.answered
            out.abandoned += day.abandoned
            out.within_sl += day.within_sl
            out.total_wait_s += day.total_wait_s
        return out


@dataclass(slots=True)
class AgentDay:
    """One agent's figures for the day."""

    handled: int = 0  # calls answered (inbound or outbound)
    missed: int = 0  # calls that rang the agent and that the agent did not answer
    handle_s: float = 0.0  # talk + wrap-up of the calls finished
    finished: int = 0

    def to_json(self) -> dict[str, Any]:
        aht = round(self.handle_s / self.finished, 1) if self.finished else None
        return {"handled_today": self.handled, "missed_today": self.missed, "aht_s": aht}


def headline(
    day: QueueDay, waiting: int, longest_wait_s: float, states: Iterable[str]
) -> dict[str, Any]:
    """The row across every queue: callers waiting, longest wait, today's rates, agents by state
    (every state present, zeros included)."""
    agents = dict.fromkeys(AGENT_STATES, 0)
    for state in states:
        agents[state] = agents.get(state, 0) + 1
    return {
        "waiting": waiting,
        "longest_wait_s": round(longest_wait_s, 1),
        **day.to_json(),
        "agents": agents,
    }
