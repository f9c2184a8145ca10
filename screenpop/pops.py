"""The pop pipeline: call events in, cards built and delivered to agents in order.

Event path (all on one event loop, nothing on it blocks): a source's event goes to
:meth:`PopService.emit` -> the call tracker returns effects -> a card build starts at first sight
of the caller -> each agent's pop, call-state and card messages go through that call's
:class:`Courier`, which keeps them in order and waits (bounded by the connectors' deadlines) for
the card before a pop. The daemon swaps `settings`, `directory` and `lookup` on reload.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

from screenpop.agents import AgentDirectory
from screenpop.board import Board
from screenpop.board_feed import BoardFeed
from screenpop.callerid import CallerId, mask, normalize
from screenpop.calls import Call, CallTracker, Changed, Effect, Notify, Pop, Prefetch
from screenpop.card import Card, find_candidates
from screenpop.errors import ScreenpopError
from screenpop.events import CallEvent, CallState
from screenpop.hub import Hub, Subscription
from screenpop.lookup import CardBuild, Lookup
from screenpop.messages import (
    CallMessage,
    CardMessage,
    Direction,
    NoteMessage,
    PopMessage,
    ServerMessage,
)
from screenpop.metrics import Metrics
from screenpop.settings import RoleSettings, Settings
from screenpop.store import CallRecord, Store
from screenpop.tasks import Courier, TaskOwner

log = logging.getLogger(__name__)

# A closed call's card stays this long for late answers, notes and picking a candidate during a
# long wrap-up; then only the call log remembers it.
CLOSED_BUILD_GRACE_S = 900.0


class PopService:
    """Turns call events into pops, card updates and call-state messages for agents."""

    def __init__(
        self,
        settings: Settings,
        directory: AgentDirectory,
        hub: Hub,
        metrics: Metrics,
        board: Board,
        board_feed: BoardFeed,
        tasks: TaskOwner,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.hub = hub
        self.metrics = metrics
        self.tracker = CallTracker(directory.match)
        self.board = board
        self.board_feed = board_feed
        self.lookup: Lookup | None = None  # set once the connectors are started
        self.store: Store | None = None
        self._tasks = tasks
        self._builds: dict[str, CardBuild] = {}
        self._callers: dict[str, CallerId] = {}
        self._build_tasks: dict[str, asyncio.Task[Any]] = {}
        self._couriers: dict[str, Courier] = {}

    def swap(self, settings: Settings, directory: AgentDirectory, lookup: Lookup) -> None:
        """Take a reloaded configuration; calls in progress are kept."""
        self.settings, self.directory, self.lookup = settings, directory, lookup
        self.tracker.set_matcher(directory.match)

    def emit(self, event: CallEvent) -> None:
        """Take one event from a source. Never blocks and never raises into the source."""
        self.metrics.events.labels(event.source, str(event.kind)).inc()
        try:
            effects = self.tracker.feed(event)
        except Exception:
            log.exception("call %s: event %s could not be applied", event.call_id, event.kind)
            return
        if not effects:
            self.metrics.events_ignored.inc()
        for effect in effects:
            self._apply(effect, event)

    def _apply(self, effect: Effect, event: CallEvent) -> None:
        if isinstance(effect, Prefetch):
            self._prefetch(effect.call, shown=effect.shown)
        elif isinstance(effect, Pop):
            state = self._pop_state(effect.call, effect.agent_id)
            self._courier(effect.call).put(
                lambda: self._deliver_pop(effect.agent_id, effect.call, state, event.at)
            )
        elif isinstance(effect, Notify):
            message = CallMessage(effect.call.call_id, str(effect.state), effect.call.agent)
            self._courier(effect.call).put(lambda: self._publish(effect.agent_id, message))
        elif isinstance(effect, Changed):
            self._changed(effect.call)

    @staticmethod
    def _pop_state(call: Call, agent_id: str) -> str:
        if call.agent == agent_id and call.state is CallState.TRANSFERRED:
            return "transferred"
        return "answered" if call.agent == agent_id else "ringing"

    def _courier(self, call: Call) -> Courier:
        courier = self._couriers.get(call.call_id)
        if courier is None:
            courier = self._couriers[call.call_id] = Courier(self._tasks, call.call_id)
        return courier

    async def _publish(self, agent_id: str, message: ServerMessage) -> None:
        self.hub.publish(agent_id, message)

    def _prefetch(self, call: Call, *, shown: bool = False) -> None:
        """Start the call's card build; again when its caller changed (the old build stops)."""
        caller = normalize(call.caller, self.settings.phone.default_region)
        previous = self._callers.get(call.call_id)
        if previous is not None and _same_caller(previous, caller):
            return
        self._callers[call.call_id] = caller
        lookup = self.lookup
        assert lookup is not None
        card = Card(
            call.call_id, {**caller.to_json(), "name": call.caller_name}, {}, lookup.priorities
        )
        build = CardBuild(card, lambda updated: self._build_updated(build, updated))
        self._builds[call.call_id] = build
        old_task = self._build_tasks.pop(call.call_id, None)
        if old_task is not None:
            old_task.cancel()
        log.info(
            "call %s: caller %s (%s), %s card",
            call.call_id,
            mask(caller.e164 or caller.raw),
            caller.kind,
            "building" if previous is None else "caller changed, rebuilding",
        )
        task = self._tasks.spawn(self._build(build, caller), name=f"build {call.call_id}")
        self._build_tasks[call.call_id] = task
        task.add_done_callback(lambda t: self._build_done(call.call_id, t))
        if shown:  # a caller withheld after the pop: the number leaves the agents' screens now
            build.first.add_done_callback(lambda f: self._build_updated(build, build.card))

    def _build_done(self, call_id: str, task: asyncio.Task[Any]) -> None:
        if self._build_tasks.get(call_id) is task:
            del self._build_tasks[call_id]

    def _build_updated(self, build: CardBuild, card: Card) -> None:
        """A card build moved on; a build replaced by a newer one speaks to nobody."""
        if self._builds.get(card.call_id) is build:
            self._card_updated(card.call_id, card)

    async def _build(self, build: CardBuild, caller: CallerId) -> None:
        """Run the connectors and read the call log at the same time: the pop never waits on
        SQL; what the log knows reaches the card as soon as it is read."""
        assert self.lookup is not None
        async with asyncio.TaskGroup() as tg:
            if caller.lookupable and caller.e164 is not None:
                tg.create_task(self._recall(build, caller.e164))
            tg.create_task(build.run(self.lookup, caller.query()))

    async def _recall(self, build: CardBuild, e164: str) -> None:
        assert self.store is not None
        try:
            history = await self.store.history(e164, self.settings.store.history_size + 1)
            chosen = await self.store.chosen_customer(e164)
        except ScreenpopError as exc:
            log.warning("call %s: history unavailable: %s", build.card.call_id, exc)
            return
        call_id = build.card.call_id  # this call may already be in the log: not its own past
        history = [h for h in history if h.get("call_id") != call_id]
        history = history[: self.settings.store.history_size]
        if history or chosen is not None:
            build.amend(history, chosen)

    def _card_updated(self, call_id: str, card: Card) -> None:
        self.board_feed.card_changed(call_id)
        call = self.tracker.get(call_id)
        if call is None:
            return
        agents = list(dict.fromkeys(call.popped))
        courier = self._couriers.get(call_id)
        for agent_id in agents:
            message = CardMessage(call_id, self.card_json(card, agent_id))
            if courier is not None:
                courier.put(lambda a=agent_id, m=message: self._publish(a, m))  # type: ignore[misc]
            else:
                self.hub.publish(agent_id, message)

    async def _deliver_pop(self, agent_id: str, call: Call, state: str, at: float) -> None:
        build = self._builds.get(call.call_id)
        if build is None:
            return
        guard = (
            max((c.settings.late_ms for c in self.lookup.connectors), default=0) / 1000
            if self.lookup
            else 1.0
        )
        try:
            card = await asyncio.wait_for(asyncio.shield(build.first), timeout=guard + 1.0)
        except TimeoutError:
            card = build.card
        direction: Direction = "outbound" if call.outbound else "inbound"
        message = PopMessage(
            call.call_id, state, call.queue, direction, self.card_json(card, agent_id)
        )
        self.hub.publish(agent_id, message)
        self.metrics.pops.inc()
        self.metrics.event_to_pop.observe(max(0.0, time.time() - at))

    def card_json(self, card: Card, agent_id: str) -> dict[str, Any]:
        agent = self.directory.get(agent_id)
        return card.to_json(self.role(agent.role if agent else "agent"))

    def role(self, name: str) -> RoleSettings:
        return self.settings.roles.get(name) or RoleSettings(sections=[])

    def _changed(self, call: Call) -> None:
        self.board.on_call(call, time.time())
        self.board_feed.changed()
        if not call.active and call.agent is not None and call.state is CallState.ENDED:
            self.board_feed.changed_later(self.settings.board.wrap_up_s + 0.05)
        if call.active and call.state is not CallState.ANSWERED:
            return
        record = self._record(call)
        if self.store is not None:
            self._tasks.spawn(self._save_call(record), name=f"log {call.call_id}", finish=True)
        if not call.active:
            courier = self._couriers.pop(call.call_id, None)
            if courier is not None:
                courier.finish()
            asyncio.get_running_loop().call_later(CLOSED_BUILD_GRACE_S, self._forget, call.call_id)

    def _forget(self, call_id: str) -> None:
        self._builds.pop(call_id, None)
        self._callers.pop(call_id, None)

    def _record(self, call: Call) -> CallRecord:
        caller = self._callers.get(call.call_id)
        return CallRecord(
            source=call.source,
            call_id=call.call_id,
            caller_raw=call.caller or "",
            caller_e164=caller.e164 if caller and caller.lookupable else None,
            caller_name=call.caller_name,
            queue=call.queue,
            agent_id=call.agent,
            state=str(call.state),
            direction="outbound" if call.outbound else "inbound",
            started_at=epoch(call.started_at),
            answered_at=epoch(call.answered_at),
            ended_at=epoch(call.ended_at),
        )

    async def _save_call(self, record: CallRecord) -> None:
        assert self.store is not None
        try:
            await self.store.record_call(record)
        except ScreenpopError as exc:
            log.warning("call %s: not logged: %s", record.call_id, exc)

    def caller_info(self, call_id: str, role: str | None) -> dict[str, Any]:
        """How the board shows a caller: the number and the role-filtered card summary."""
        build = self._builds.get(call_id)
        if build is None:
            return {"caller": None, "caller_name": None, "summary": {}}
        card = build.card.to_json(self.role(role) if role else None)
        caller = card["caller"]
        shown = "number withheld" if caller.get("kind") != "number" else caller.get("national")
        return {"caller": shown, "caller_name": caller.get("name"), "summary": card["summary"]}

    async def save_note(
        self, agent_id: str, call_id: str, disposition: str, text: str
    ) -> dict[str, Any]:
        """Save an agent's note on a call they were popped; every tab of theirs receives it."""
        call = self.tracker.get(call_id)
        if call is None or agent_id not in call.popped:
            raise KeyError(f"no call {call_id} for this agent")
        if disposition not in self.settings.ui.dispositions:
            raise KeyError(f"unknown disposition {disposition!r}")
        assert self.store is not None
        caller = self._callers.get(call_id)
        e164 = caller.e164 if caller is not None and caller.lookupable else None
        note = await self.store.add_note(call_id, e164, agent_id, disposition, text)
        message = NoteMessage(call_id, note)
        self.hub.publish(agent_id, message)
        return note

    async def choose(self, agent_id: str, call_id: str, customer_id: str) -> None:
        """The agent picked one of the card's candidate customers. Every tab of every agent the
        call popped for gets the updated card; the choice is remembered for the number, so the
        next call from it pops straight to that customer. KeyError if not theirs or not offered."""
        call = self.tracker.get(call_id)
        build = self._builds.get(call_id)
        if call is None or build is None or agent_id not in call.popped:
            raise KeyError(f"no call {call_id} for this agent")
        card = build.card
        offered = {c["customer_id"] for c in find_candidates(card.sections, card.priorities)}
        if customer_id not in offered:
            raise KeyError(f"customer {customer_id!r} is not a candidate on this card")
        build.card = dataclasses.replace(build.card, chosen=customer_id)
        self._card_updated(call_id, build.card)
        caller = self._callers.get(call_id)
        if caller is not None and caller.e164 is not None:
            if self.lookup is not None:
                await self.lookup.remember_choice(caller.e164, customer_id)
            if self.store is not None:
                await self.store.remember_choice(caller.e164, customer_id, agent_id)

    async def build_card(self, caller: CallerId, call_id: str) -> Card:
        """Build a card outside any call (API, CLI); waits for late answers too."""
        assert self.lookup is not None
        card = Card(call_id, {**caller.to_json(), "name": None}, {}, self.lookup.priorities)
        build = CardBuild(card, lambda updated: None)
        await self._build(build, caller)
        return build.card

    def redeliver(self, sub: Subscription) -> None:
        """Pop every call still active for the tab's agent again (its missed messages are gone)."""
        for call in self.tracker.active_for(sub.agent_id):
            state = self._pop_state(call, sub.agent_id)
            self._courier(call).put(
                lambda c=call, s=state: self._deliver_pop(sub.agent_id, c, s, time.time())  # type: ignore[misc]
            )


def _same_caller(a: CallerId, b: CallerId) -> bool:
    """Two spellings of one caller (`201` twice, or `+31...` and `0...`) need no second lookup."""
    if a.kind != b.kind:
        return False
    if a.e164 is not None or b.e164 is not None:
        return a.e164 == b.e164 and a.extension == b.extension
    return a.kind == "withheld" or a.raw == b.raw


def epoch(ts: float | None) -> float | None:
    return ts
