"""The `BoardState` seam: where the board's state lives, behind an async protocol.

In-process today (:class:`MemoryBoardState` over the sans-I/O :class:`Board`); a board shared
by several nodes (Redis) implements the same protocol, so it is the same on every node and
survives any one node's death. Times are epoch seconds passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from screenpop import localday
from screenpop.board.alarms import Thresholds
from screenpop.board.model import Board
from screenpop.calls import Call


class BoardState(Protocol):
    """What the pipeline, the desk and the feed do to the board."""

    async def configure(
        self,
        service_level_s: float,
        wrap_up_s: float,
        agents: Iterable[tuple[str, str]],
        *,
        max_call_age_s: float | None = None,
        thresholds: Mapping[str, Thresholds] | None = None,
        zone: str | None = None,
    ) -> None:
        """Take the (reloaded) thresholds and the agents to show (id, name); a call older than
        `max_call_age_s` (when given) is aged out of the board; `thresholds` (when given) are
        the alarm limits per queue (`"default"` for the others); `zone` (when given) is the
        center's IANA time zone (`[ui] timezone`; "" for the server's)."""
        ...

    async def on_call(self, call: Call, now: float) -> None:
        """Apply the call's current state (after every change the tracker reports)."""
        ...

    async def presence(self, agent_id: str, online: bool, now: float) -> None:
        """The agent's first tab opened, or their last one closed."""
        ...

    async def expire(self, now: float) -> list[str]:
        """Remove the calls older than the board's maximum age; their ids, each once."""
        ...

    async def ready(self, agent_id: str, now: float) -> None:
        """The agent closed the card of their last call: wrap-up is over."""
        ...

    async def pause(self, agent_id: str, reason: str | None, now: float) -> None:
        """The agent paused with `reason` ("" when none was given), or unpaused (None)."""
        ...

    async def rebuild(self, calls: Iterable[Mapping[str, Any]], now: float | None = None) -> None:
        """Refill today's figures (today at `now` when given) from the call log
        (`CallRecord`-like mappings)."""
        ...

    async def shows_call(self, call_id: str) -> bool:
        """True while the call is on the board (its caller's card summary is shown)."""
        ...

    async def snapshot(self, now: float, role: str | None) -> dict[str, Any]:
        """The board as a supervisor of `role` sees it (`board` message payload)."""
        ...


class MemoryBoardState:
    """The in-process board: one :class:`Board`, read and changed in place."""

    def __init__(self, board: Board) -> None:
        self.board = board

    async def configure(
        self,
        service_level_s: float,
        wrap_up_s: float,
        agents: Iterable[tuple[str, str]],
        *,
        max_call_age_s: float | None = None,
        thresholds: Mapping[str, Thresholds] | None = None,
        zone: str | None = None,
    ) -> None:
        self.board.service_level_s, self.board.wrap_up_s = service_level_s, wrap_up_s
        if max_call_age_s is not None:
            self.board.max_call_age_s = max_call_age_s
        if thresholds is not None:
            self.board.thresholds = dict(thresholds)
        if zone is not None:
            self.board.tz = localday.zone(zone)
        self.board.set_agents(agents)

    async def on_call(self, call: Call, now: float) -> None:
        self.board.on_call(call, now)

    async def presence(self, agent_id: str, online: bool, now: float) -> None:
        self.board.presence(agent_id, online, now)

    async def ready(self, agent_id: str, now: float) -> None:
        self.board.ready(agent_id, now)

    async def pause(self, agent_id: str, reason: str | None, now: float) -> None:
        self.board.pause(agent_id, reason, now)

    async def expire(self, now: float) -> list[str]:
        return self.board.expire(now)

    async def rebuild(self, calls: Iterable[Mapping[str, Any]], now: float | None = None) -> None:
        self.board.rebuild(calls, now)

    async def shows_call(self, call_id: str) -> bool:
        return call_id in self.board.calls

    async def snapshot(self, now: float, role: str | None) -> dict[str, Any]:
        return self.board.snapshot(now, role)
