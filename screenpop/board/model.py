"""The supervisor's queue board: live calls per queue, agents and their states, today's figures.

Sans-I/O like the call tracker; the in-memory `BoardState` wraps it. The pipeline feeds it every
call change (:meth:`Board.on_call`), agents' presence, pauses (:meth:`Board.pause`) and wrap-up,
and the feed asks for a :meth:`Board.snapshot` when it publishes a `board` message. Times are
epoch seconds passed in, so the board can be tested without a clock. Live calls are indexed by
the agents they are with or ringing, so an agent's state is found without walking every call.

"Today" is the center's calendar day (`tz`, from `[ui] timezone`): today's figures
(:mod:`~screenpop.board.figures`) restart at its midnight, and :meth:`Board.rebuild` refills
them from the call log after a restart. Thresholds and alarms: :mod:`~screenpop.board.alarms`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from screenpop.board import alarms
from screenpop.board.alarms import Thresholds
from screenpop.board.entries import agent_json, queue_json
from screenpop.board.figures import AgentDay, QueueDay, headline
from screenpop.board.views import AgentView, CallView, drop
from screenpop.calls import Call
from screenpop.events import CallState
from screenpop.localday import local_date

DIRECT = "(direct)"  # calls that reached an agent without a queue
MAX_CALL_AGE_S = 4 * 3600.0  # a call the PBX never reported ended leaves the board after this
AGED_REMEMBERED = 10_000  # ids of aged-out calls kept, so a late event does not bring one back


@dataclass(slots=True)
class Board:
    """Live state of every queue and agent. `caller_info(call_id, role)` gives a waiting caller's
    display fields (the role-filtered card summary and the formatted number)."""

    service_level_s: float
    wrap_up_s: float
    caller_info: Callable[[str, str | None], dict[str, Any]]
    tz: dt.tzinfo | None = None  # the center's zone (None: the server's)
    thresholds: Mapping[str, Thresholds] = field(default_factory=dict)  # queue or "default"
    day: dt.date = dt.date.min  # today in `tz`; set from the clock when not given
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
    _members: dict[str, set[str]] = field(default_factory=dict)  # queue: agents its calls reached

    def __post_init__(self) -> None:
        if self.day == dt.date.min:
            self.day = local_date(time.time(), self.tz)

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
        view.online = online
        if view.paused is None:  # a pause goes on with the tab closed: its time too
            view.since = now
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
            self._end_wrap_up(view, now)
            view.since = now
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
        self._misses(view, call)
        view.state, view.agent, view.ringing = call.state, call.agent, frozenset(call.ringing)
        self._count(view, call)
        if call.active:
            self._link(view)
        else:
            del self.calls[call.call_id]
            self._wrap_up(call, now)
        self.version += 1

    def _misses(self, view: CallView, call: Call) -> None:
        """Count a miss for each agent the call stopped ringing who did not answer it (it rang
        out, someone else answered, or the caller hung up); once per call and agent, taken back
        if that agent answers it after all."""
        answerer = self.agents.get(call.agent) if call.agent else None
        if answerer is not None and answerer.id in view.missed:
            answerer.today.missed = max(0, answerer.today.missed - 1)
            view.missed -= {answerer.id}
        if not self._today(view.started_at):
            return
        still = frozenset(call.ringing) if call.active else frozenset()
        for agent_id in view.ringing - still - view.missed - {call.agent}:
            agent = self.agents.get(agent_id)
            if agent is not None:
                agent.today.missed += 1
                view.missed |= {agent_id}

    def _link(self, view: CallView) -> None:
        """Index a live call under the agent holding it and every agent it rings."""
        if view.agent is not None:
            self._holding.setdefault(view.agent, {})[view.call_id] = None
        for agent_id in view.ringing:
            self._rung.setdefault(agent_id, {})[view.call_id] = None
        if view.queue != DIRECT:
            members = self._members.setdefault(view.queue, set())
            members.update(view.ringing)
            if view.agent is not None:
                members.add(view.agent)

    def _unlink(self, view: CallView) -> None:
        """Undo :meth:`_link` for the call as it was indexed."""
        if view.agent is not None:
            drop(self._holding, view.agent, view.call_id)
        for agent_id in view.ringing:
            drop(self._rung, agent_id, view.call_id)

    def _touch_agents(self, view: CallView, call: Call, now: float) -> None:
        for agent_id in (view.ringing ^ frozenset(call.ringing)) | {view.agent, call.agent}:
            agent = self.agents.get(agent_id) if agent_id else None
            if agent is not None:
                agent.since = now
                if agent_id in call.ringing or agent_id == call.agent:
                    self._end_wrap_up(agent, now)

    def _count(self, view: CallView, call: Call) -> None:
        if view.counted or not self._today(call.started_at):
            return
        if call.answered_at is not None:
            if not call.outbound:
                wait = call.answered_at - (call.started_at or call.answered_at)
                self._queue_day(view.queue).answer(wait, self.service_level_s)
            if call.agent in self.agents:
                self.agents[call.agent].today.handled += 1
            view.counted = True
        elif call.state is CallState.ABANDONED:
            self._queue_day(view.queue).abandoned += 1
            view.counted = True

    def _queue_day(self, queue: str) -> QueueDay:
        return self.queues.setdefault(queue, QueueDay())

    def _wrap_up(self, call: Call, now: float) -> None:
        """The agent's call ended: wrap-up starts, and the call counts in today's handle time
        with a whole wrap-up (the part not used is taken back when it ends early)."""
        agent = self.agents.get(call.agent) if call.agent else None
        if agent is None or call.state is not CallState.ENDED:
            return
        if self.wrap_up_s > 0:
            agent.wrap_up_until, agent.wrap_call, agent.since = (
                now + self.wrap_up_s,
                call.call_id,
                now,
            )
        if call.answered_at is not None and self._today(call.started_at):
            talk = max(0.0, (call.ended_at or now) - call.answered_at)
            agent.today.handle_s += talk + self.wrap_up_s
            agent.today.finished += 1
            agent.wrap_credit = agent.wrap_up_until

    def _end_wrap_up(self, agent: AgentView, now: float) -> None:
        """Wrap-up is over before its time (the agent is ready, or a call reaches them)."""
        if agent.wrap_credit is not None:
            agent.today.handle_s -= max(0.0, agent.wrap_credit - now)
        agent.wrap_up_until = agent.wrap_call = agent.wrap_credit = None

    def rebuild(self, calls: Iterable[Mapping[str, Any]], now: float | None = None) -> None:
        """Refill today's figures (today at `now` when given) from the call log
        (`CallRecord`-like mappings) after a restart. Handle times count the talk (and a
        record's `wrap_s` when it has one); misses are not in the log."""
        if now is not None:
            self._roll(now)
        for rec in calls:
            started = rec.get("started_at")
            if started is None or not self._today(started) or rec.get("call_id") in self.logged:
                continue
            if self._rebuild_one(rec, started) and rec.get("call_id"):
                self.logged.add(rec["call_id"])
        self.version += 1

    def _rebuild_one(self, rec: Mapping[str, Any], started: float) -> bool:
        queue = rec.get("queue") or DIRECT
        answered, ended = rec.get("answered_at"), rec.get("ended_at")
        if answered is None:
            if rec.get("state") != str(CallState.ABANDONED):
                return False
            self._queue_day(queue).abandoned += 1
            return True
        if rec.get("direction") != "outbound":
            self._queue_day(queue).answer(answered - started, self.service_level_s)
        agent = self.agents.get(rec.get("agent_id") or "")
        if agent is not None:
            agent.today.handled += 1
            if ended is not None:
                agent.today.handle_s += max(0.0, ended - answered) + (rec.get("wrap_s") or 0.0)
                agent.today.finished += 1
        return True

    def _today(self, ts: float) -> bool:
        return local_date(ts, self.tz) == self.day

    def _roll(self, now: float) -> None:
        today = local_date(now, self.tz)
        if today != self.day:
            self.day = today
            self.queues = {}
            self.logged = set()
            for agent in self.agents.values():
                agent.today, agent.wrap_credit = AgentDay(), None

    def snapshot(self, now: float, role: str | None) -> dict[str, Any]:
        """The board as a supervisor of `role` sees it (`board` message payload): the headline
        (`totals`), the `alarms`, each queue and each agent; `recheck_at` is when a waiting
        caller's wait next crosses a limit (the feed publishes again then), or None."""
        self._roll(now)
        agents = self._sorted_agents()
        states = [self._agent_state(a, now) for a in agents]
        available = {
            a.id for a, (state, _) in zip(agents, states, strict=True) if state == "available"
        }
        views = self.waiting()
        names = self.queue_names(views)
        found: list[dict[str, Any]] = []
        recheck: list[float] = []
        queues = [
            queue_json(self, name, views.get(name, []), now, role, available, found, recheck)
            for name in names
        ]
        day = QueueDay.combined(self.queues[n] for n in names if n in self.queues)
        longest = max((q["longest_wait_s"] for q in queues), default=0.0)
        totals = headline(day, sum(len(v) for v in views.values()), longest, (s for s, _ in states))
        totals["levels"] = alarms.worst(q["levels"] for q in queues)
        return {
            "at": now,
            "service_level_s": self.service_level_s,
            "totals": totals,
            "alarms": alarms.ordered(found),
            "recheck_at": min(recheck, default=None),
            "queues": queues,
            "agents": [
                agent_json(self, a, st, now, role) for a, st in zip(agents, states, strict=True)
            ],
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

    def anyone_available(self, queue: str, available: set[str]) -> bool:
        """An agent who takes `queue` (its calls reached them) is available; any agent, while
        the queue's calls have reached nobody on the board."""
        members = self._members.get(queue, set()) & self.agents.keys()
        return bool(available & members) if members else bool(available)

    def _sorted_agents(self) -> list[AgentView]:
        return sorted(self.agents.values(), key=lambda a: a.name.lower())

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
