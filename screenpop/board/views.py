"""What the board remembers of each agent and each live call, and the index helper that finds
an agent's calls without walking them all."""

from __future__ import annotations

from dataclasses import dataclass, field

from screenpop.board.figures import AgentDay
from screenpop.events import CallState


@dataclass(slots=True)
class AgentView:
    """An agent on the board: presence, wrap-up, pause and today's figures."""

    id: str
    name: str
    online: bool = False
    since: float = 0.0
    wrap_up_until: float | None = None
    wrap_call: str | None = None
    wrap_credit: float | None = None  # the wrap-up end already counted in today's handle time
    paused: str | None = None  # the pause reason ("" for none given); None when not paused
    today: AgentDay = field(default_factory=AgentDay)


@dataclass(slots=True)
class CallView:
    """What the board remembers of a live call."""

    call_id: str
    queue: str
    started_at: float
    state: CallState
    agent: str | None
    ringing: frozenset[str]
    counted: bool = False  # today's figures already include it (answered or abandoned)
    missed: frozenset[str] = frozenset()  # agents it rang who did not answer it (counted)
    since: float = 0.0
    order: int = 0  # when the board first saw it: an agent on two calls shows the earlier one


def drop(index: dict[str, dict[str, None]], agent_id: str, call_id: str) -> None:
    """Remove `call_id` from the agent's entry of `index` (and the entry once empty)."""
    calls = index.get(agent_id)
    if calls is not None:
        calls.pop(call_id, None)
        if not calls:
            del index[agent_id]
