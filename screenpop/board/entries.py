"""A queue's and an agent's entry in the board snapshot (the `board` message), made from the
board model for one role: what the supervisor page shows of each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from screenpop.board import alarms
from screenpop.board.alarms import Thresholds
from screenpop.board.figures import QueueDay
from screenpop.board.views import AgentView, CallView


class Board(Protocol):
    """What an entry needs of the board model (:class:`screenpop.board.model.Board`)."""

    @property
    def queues(self) -> dict[str, QueueDay]: ...

    @property
    def thresholds(self) -> Mapping[str, Thresholds]: ...

    @property
    def caller_info(self) -> Callable[[str, str | None], dict[str, Any]]: ...

    def anyone_available(self, queue: str, available: set[str]) -> bool: ...


def queue_json(
    board: Board,
    name: str,
    views: list[CallView],
    now: float,
    role: str | None,
    available: set[str],
    found: list[dict[str, Any]],
    recheck: list[float],
) -> dict[str, Any]:
    """One queue's entry; adds its alarms to `found` and its next crossing to `recheck`."""
    figures = board.queues.get(name, QueueDay()).to_json()
    longest = now - views[0].started_at if views else 0.0
    th = alarms.thresholds_for(board.thresholds, name)
    seen = alarms.QueueNow(
        name,
        len(views),
        sum(1 for v in views if not v.ringing),
        longest,
        figures["service_level"],
        board.anyone_available(name, available),
    )
    levels = alarms.levels(th, seen)
    found.extend(alarms.alarms(th, seen, levels))
    crossing = alarms.next_crossing(th, views[0].started_at, now) if views else None
    if crossing is not None:
        recheck.append(crossing)
    waiting = [
        {
            "call_id": view.call_id,
            "waiting_since": view.started_at,
            "ringing": sorted(view.ringing),
            **board.caller_info(view.call_id, role),
        }
        for view in views
    ]
    return {
        "name": name,
        "waiting": waiting,
        "longest_wait_s": round(longest, 1),
        **figures,
        "levels": levels,
    }


def agent_json(
    board: Board, agent: AgentView, shown: tuple[str, str | None], now: float, role: str | None
) -> dict[str, Any]:
    state, call_id = shown
    since = agent.since
    if state == "available" and agent.wrap_up_until is not None:
        since = max(since, agent.wrap_up_until)  # available since the wrap-up ran out
    out: dict[str, Any] = {
        "id": agent.id,
        "name": agent.name,
        "state": state,
        "reason": agent.paused if state == "paused" else None,
        "since": since,
        **agent.today.to_json(),
        "call_id": call_id,
        "with": None,
    }
    if call_id is not None and state in ("ringing", "on_call"):
        out["with"] = board.caller_info(call_id, role)
    return out
