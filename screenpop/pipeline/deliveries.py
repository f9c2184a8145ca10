"""One call's messages to agents, in order: pops (each waiting, bounded by the connectors' late
deadline, for the call's first card), call states and card updates all go through the call's
courier, so an agent never sees a call's state before its pop or a card before the pop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from screenpop.audit import AuditTrail
from screenpop.board.feed import BoardFeed
from screenpop.calls import Call
from screenpop.card import Card
from screenpop.delivery.hub import Hub
from screenpop.delivery.outbound import CallMessage, CardMessage, Direction, PopMessage
from screenpop.events import AgentCallState, CallState
from screenpop.metrics import Metrics
from screenpop.pipeline.live import LiveConfig
from screenpop.pipeline.runtime import CallRuntimes
from screenpop.tasks import TaskOwner


class Deliveries:
    """Queues pops, call states and card updates on each call's courier."""

    def __init__(
        self,
        live: LiveConfig,
        hub: Hub,
        runtimes: CallRuntimes,
        board_feed: BoardFeed,
        metrics: Metrics,
        tasks: TaskOwner,
        audit: AuditTrail | None = None,
    ) -> None:
        self._audit = audit  # each pop delivered: who saw which caller
        self._live = live
        self._hub = hub
        self._runtimes = runtimes
        self._feed = board_feed
        self._metrics = metrics
        self._tasks = tasks

    def pop(self, call: Call, agent_id: str, at: float) -> None:
        """Pop the call's card on the agent's tabs; `at` is when the phone rang (epoch s)."""
        state = pop_state(call, agent_id)
        self._runtimes.courier(call).put(lambda: self._deliver_pop(agent_id, call, state, at))

    def notify(self, call: Call, agent_id: str, state: AgentCallState) -> None:
        """Tell the agent the call changed, as they see it."""
        message = CallMessage(call.call_id, str(state), call.agent)
        self._runtimes.courier(call).put(lambda: self._publish(agent_id, message))

    def redeliver(self, agent_id: str, calls: Iterable[Call]) -> None:
        """Pop these calls (still active for the agent) again: the agent's missed messages are
        gone from the replay buffer."""
        for call in calls:
            state = pop_state(call, agent_id)
            self._runtimes.courier(call).put(
                lambda c=call, s=state: self._deliver_pop(agent_id, c, s, time.time())  # type: ignore[misc]
            )

    def card_updated(self, call_id: str, card: Card) -> None:
        """The call's card changed: every agent it popped for gets it, after their pop."""
        runtime = self._runtimes.get(call_id)
        if runtime is None:
            return
        agents = list(dict.fromkeys(runtime.call.popped))
        messages = [(a, CardMessage(call_id, self._live.card_json(card, a))) for a in agents]

        async def send() -> None:
            await self._feed.card_changed(call_id)
            for agent_id, message in messages:
                await self._hub.publish(agent_id, message)

        if runtime.courier is not None:
            runtime.courier.put(send)
        else:
            self._tasks.spawn(send(), name=f"card {call_id}")

    async def _publish(self, agent_id: str, message: CallMessage) -> None:
        await self._hub.publish(agent_id, message)

    async def _deliver_pop(self, agent_id: str, call: Call, state: str, at: float) -> None:
        runtime = self._runtimes.get(call.call_id)
        build = runtime.build if runtime is not None else None
        if build is None:
            return
        try:
            card = await asyncio.wait_for(
                asyncio.shield(build.first), timeout=self._live.pop_guard_s() + 1.0
            )
        except TimeoutError:
            card = build.card
        direction: Direction = "outbound" if call.outbound else "inbound"
        card_json = self._live.card_json(card, agent_id)
        await self._hub.publish(
            agent_id, PopMessage(call.call_id, state, call.queue, direction, card_json)
        )
        self._metrics.pops.inc()
        self._metrics.event_to_pop.observe(max(0.0, time.time() - at))
        if self._audit is not None and runtime is not None:
            caller = runtime.caller
            e164 = caller.e164 if caller is not None and caller.lookupable else None
            self._audit.pop(agent_id, e164, call.call_id)


def pop_state(call: Call, agent_id: str) -> str:
    """How a pop shows the call to this agent: ringing, answered (theirs) or transferred."""
    if call.agent == agent_id and call.state is CallState.TRANSFERRED:
        return "transferred"
    return "answered" if call.agent == agent_id else "ringing"
