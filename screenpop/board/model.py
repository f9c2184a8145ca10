"""The supervisor's queue board: live calls per queue, agents and their states, today's figures.

Sans-I/O like the call tracker; the in-memory `BoardState` wraps it. The pipeline feeds it every
call change (:meth:`Board.on_call`), agents' presence and wrap-up, and the feed asks for a
:meth:`Board.snapshot` when it publishes a `board` message. Times are epoch seconds passed in,
so the board can be tested without a clock. Live calls are indexed by the agents they are with
or ringing, so an agent's state is found without walking every call.

"Today" is the local calendar day. Figures per queue: calls answered and abandoned, average speed
of answer (mean wait of answered calls) and service level, the share of answered calls answered
within the threshold among all calls offered that ended either way (answered + abandoned).
:meth:`Board.rebuild` refills today's figures from the call log after a restart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from screenpop.calls import Call
from screenpop.events import CallState

DIRECT = "(direct)"  # calls that reached an agent without a queue
MAX_CALL_AGE_S = 4 * 3600.0  # a call the PBX never reported ended leaves the board after this
AGED_REMEMBERED = 10_000  # ids of aged-out calls kept, so a late event does not bring one back


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
        }

    def answer(self, wait_s: float, service_level_s: float) -> None:
        """Count one call answered after waiting `wait_s` seconds."""
        wait_s = max(0.0, wait_s)
        self.answered += 1
        self.total_wait_s += wait_s
        self.within_sl += wait_s <= service_level_s


@dataclass(slots=True)
class AgentView:
    id: str
    name: str
    online: bool = False
    since: float = 0.0
    wrap_up_until: float | None = None
    wrap_call: str | None = None
    handled: int = 0
    paused: str | None = None  # the pause reason ("" for none given); None when not paused


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
    since: float = 0.0
    order: int = 0  # when the board first saw it: an agent on two calls shows the earlier one


@dataclass(slots=True)
class Board:
    """Live state of every queue and agent. `caller_info(call_id, role)` gives a waiting caller's
    display fields (the role-filtered card summary and the formatted number)."""

    service_level_s: float
    wrap_up_s: float
    caller_info: Callable[[str, str | None], dict[str, Any]]
    day: dt.date = field(default_factory=dt.date.today)
    queues: dict[str, QueueDay] = field(default_factory=dict)
    agents: dict[str, AgentView] = field(default_factory=dict)
    calls: dict[str, CallView] = field(default_factory=dict)
    logged: set[str] = field(default_factory=set)  # today's calls the rebuild already counted
    version: int = 0  # bumped on every change; the publisher coalesces on it
    max_call_age_s: float = MAX_CALL_AGE_S
    aged_out: int = 0  # calls removed by :meth:`expire`, ever
    _aged: dict[str, None] = field(default_factory=dict)  # their ids, oldest first (bounded)
    _holding: dict[str, dict[str, None]] = field(default_factory=dict)  # agent: calls they hold
    _rung: dict[str, dict[str, None]] = field(default_factory=dict)  # agent: calls ringing them
    _seen: int = 0  # calls the board has put on it, ever (their `order`)

    def set_agents(self, agents: Iterable[tuple[str, str]]) -> None:
        """The agents to show (id, name), e.g. after a config reload; keeps known ones' state."""
        wanted = dict(agents)
        self.agents = {
            aid: self.agents.get(aid) or AgentView(aid, name) for aid, name in wanted.items()
        }
        for aid, name in wanted.items():
            self.agents[aid].name = name
        self.version += 1

    def presence(self, agent_id: str, online: bool, now: float) -> None:
        view = self.agents.get(agent_id)
        if view is None or view.online == online:
            return
        view.online, view.since = online, now
        self.version += 1

    def pause(self, agent_id: str, reason: str | None, now: float) -> None:
        """The agent paused with `reason` ("" when none was given), or unpaused (None). A paused
        agent shows as `paused` unless a call rings them or they are on one."""
        view = self.agents.get(agent_id)
        if view is None or view.paused == reason:
            return
        view.paused, view.since = reason, now
        self.version += 1

    def ready(self, agent_id: str, now: float) -> None:
        """The agent closed the card of their last call: wrap-up is over."""
        view = self.agents.get(agent_id)
        if view is not None and view.wrap_up_until is not None:
            view.wrap_up_until, view.wrap_call, view.since = None, None, now
            self.version += 1

    def expire(self, now: float) -> list[str]:
        """Remove calls older than `max_call_age_s` (the PBX never said they ended); returns
        their ids, each once. A later change of one of them is ignored."""
        cutoff = now - self.max_call_age_s
        old = [v.call_id for v in self.calls.values() if v.started_at < cutoff]
        for call_id in old:
            self._unlink(self.calls.pop(call_id))
            self._aged[call_id] = None
            if len(self._aged) > AGED_REMEMBERED:
                del self._aged[next(iter(self._aged))]
        if old:
            self.aged_out += len(old)
            self.version += 1
        return old

    def on_call(self, call: Call, now: float) -> None:
        """Apply the call's current state (after every change the tracker reports)."""
        if call.call_id in self._aged:
            if not call.active:
                del self._aged[call.call_id]
            return
        self._roll(now)
        queue = call.queue or DIRECT
        view = self.calls.get(call.call_id)
        if view is None:
            view = CallView(
                call.call_id, queue, call.started_at or now, call.state, None, frozenset()
            )
            view.counted = call.call_id in self.logged  # counted before a restart
            self._seen += 1
            view.order = self._seen
            self.calls[call.call_id] = view
        self._touch_agents(view, call, now)
        self._unlink(view)
        view.state, view.agent, view.ringing = call.state, call.agent, frozenset(call.ringing)
        self._count(view, call)
        if call.active:
            self._link(view)
        else:
            del self.calls[call.call_id]
            self._wrap_up(call, now)
        self.version += 1

    def _link(self, view: CallView) -> None:
        """Index a live call under the agent holding it and every agent it rings."""
        if view.agent is not None:
            self._holding.setdefault(view.agent, {})[view.call_id] = None
        for agent_id in view.ringing:
            self._rung.setdefault(agent_id, {})[view.call_id] = None

    def _unlink(self, view: CallView) -> None:
        """Undo :meth:`_link` for the call as it was indexed."""
        if view.agent is not None:
            _drop(self._holding, view.agent, view.call_id)
        for agent_id in view.ringing:
            _drop(self._rung, agent_id, view.call_id)

    def _touch_agents(self, view: CallView, call: Call, now: float) -> None:
        for agent_id in (view.ringing ^ frozenset(call.ringing)) | {view.agent, call.agent}:
            agent = self.agents.get(agent_id) if agent_id else None
            if agent is not None:
                agent.since = now
                if agent_id in call.ringing or agent_id == call.agent:
                    agent.wrap_up_until = agent.wrap_call = None

    def _count(self, view: CallView, call: Call) -> None:
        if view.counted or not self._today(call.started_at):
            return
        if call.answered_at is not None:
            if not call.outbound:
                wait = call.answered_at - (call.started_at or call.answered_at)
                self._queue_day(view.queue).answer(wait, self.service_level_s)
            if call.agent in self.agents:
                self.agents[call.agent].handled += 1
            view.counted = True
        elif call.state is CallState.ABANDONED:
            self._queue_day(view.queue).abandoned += 1
            view.counted = True

    def _queue_day(self, queue: str) -> QueueDay:
        return self.queues.setdefault(queue, QueueDay())

    def _wrap_up(self, call: Call, now: float) -> None:
        agent = self.agents.get(call.agent) if call.agent else None
        if agent is not None and call.state is CallState.ENDED and self.wrap_up_s > 0:
            agent.wrap_up_until, agent.wrap_call, agent.since = (
                now + self.wrap_up_s,
                call.call_id,
                now,
            )

    def rebuild(self, calls: Iterable[Mapping[str, Any]]) -> None:
        """Refill today's figures from the call log (`CallRecord`-like mappings) after a restart."""
        for rec in calls:
            started = rec.get("started_at")
            if started is None or not self._today(started) or rec.get("call_id") in self.logged:
                continue
            queue = rec.get("queue") or DIRECT
            answered = rec.get("answered_at")
            if answered is not None:
                if rec.get("direction") != "outbound":
                    self._queue_day(queue).answer(answered - started, self.service_level_s)
                agent = self.agents.get(rec.get("agent_id") or "")
                if agent is not None:
                    agent.handled += 1
            elif rec.get("state") == str(CallState.ABANDONED):
                self._queue_day(queue).abandoned += 1
            else:
                continue
            if rec.get("call_id"):
                self.logged.add(rec["call_id"])
        self.version += 1

    def _today(self, ts: float) -> bool:
        return dt.datetime.fromtimestamp(ts).date() == self.day

    def _roll(self, now: float) -> None:
        today = dt.datetime.fromtimestamp(now).date()
        if today != self.day:
            self.day = today
            self.queues = {}
            self.logged = set()
            for agent in self.agents.values():
                agent.handled = 0

    def snapshot(self, now: float, role: str | None) -> dict[str, Any]:
        """The board as a supervisor of `role` sees it (`board` message payload)."""
        self._roll(now)
        return {
            "at": now,
            "service_level_s": self.service_level_s,
            "queues": self._queues_json(now, role),
            "agents": [self._agent_json(a, now, role) for a in self._sorted_agents()],
        }

    def waiting(self) -> dict[str, list[CallView]]:
        """Callers waiting (queued or ringing, direct calls aside) per queue, longest first."""
        out: dict[str, list[CallView]] = {}
        for view in sorted(self.calls.values(), key=lambda v: v.started_at):
            if view.state in (CallState.QUEUED, CallState.RINGING) and view.queue != DIRECT:
                out.setdefault(view.queue, []).append(view)
        return out

    def queue_names(self, waiting: Mapping[str, object]) -> list[str]:
        """Every queue the board shows: those with figures today and those with callers now."""
        return sorted((set(self.queues) | set(waiting)) - {DIRECT})

    def _queues_json(self, now: float, role: str | None) -> list[dict[str, Any]]:
        waiting = {
            queue: [
                {
                    "call_id": view.call_id,
                    "waiting_since": view.started_at,
                    "ringing": sorted(view.ringing),
                    **self.caller_info(view.call_id, role),
                }
                for view in views
            ]
            for queue, views in self.waiting().items()
        }
        out = []
        for name in self.queue_names(waiting):
            calls = waiting.get(name, [])
            longest = max((now - c["waiting_since"] for c in calls), default=0.0)
            out.append(
                {
                    "name": name,
                    "waiting": calls,
                    "longest_wait_s": round(longest, 1),
                    **self.queues.get(name, QueueDay()).to_json(),
                }
            )
        return out

    def _sorted_agents(self) -> list[AgentView]:
        return sorted(self.agents.values(), key=lambda a: a.name.lower())

    def _agent_json(self, agent: AgentView, now: float, role: str | None) -> dict[str, Any]:
        state, call_id = self._agent_state(agent, now)
        since = agent.since
        if state == "available" and agent.wrap_up_until is not None:
            since = max(since, agent.wrap_up_until)  # available since the wrap-up ran out
        out: dict[str, Any] = {
            "id": agent.id,
            "name": agent.name,
            "state": state,
            "reason": agent.paused if state == "paused" else None,
            "since": since,
            "handled_today": agent.handled,
            "call_id": call_id,
            "with": None,
        }
        if call_id is not None and state in ("ringing", "on_call"):
            out["with"] = self.caller_info(call_id, role)
        return out

    def agent_state(self, agent_id: str, now: float) -> str:
        """What the board shows the agent as: on_call, ringing, paused, wrap_up, available or
        offline."""
        return self._agent_state(self.agents[agent_id], now)[0]

    def _agent_state(self, agent: AgentView, now: float) -> tuple[str, str | None]:
        held = self._holding.get(agent.id)
        if held:
            return "on_call", self._first(held)
        rung = self._rung.get(agent.id)
        if rung:
            return "ringing", self._first(rung)
        if agent.paused is not None:
            return "paused", None
        if agent.wrap_up_until is not None and now < agent.wrap_up_until:
            return "wrap_up", agent.wrap_call
        return ("available" if agent.online else "offline"), None

    def _first(self, call_ids: dict[str, None]) -> str:
        """The call of `call_ids` the board saw first (almost always the only one)."""
        if len(call_ids) == 1:
            return next(iter(call_ids))
        return min(call_ids, key=lambda call_id: self.calls[call_id].order)


def _drop(index: dict[str, dict[str, None]], agent_id: str, call_id: str) -> None:
    calls = index.get(agent_id)
    if calls is not None:
        calls.pop(call_id, None)
        if not calls:
            del index[agent_id]
