"""Call events in: :meth:`EventIntake.emit` takes a source's event without blocking or raising;
one task applies the events in the order they came (load the call from the `CallStore`, advance
it with the pure reducer, save it, interpret the effects), so one call's events are never
applied out of order, whatever the store's latency."""

from __future__ import annotations

import logging

from screenpop.call_store import CallStore
from screenpop.calls import CallReducer
from screenpop.events import CallEvent
from screenpop.metrics import Metrics
from screenpop.pipeline.effects import EffectInterpreter
from screenpop.pipeline.runtime import CallRuntimes
from screenpop.tasks import OrderedWorker

log = logging.getLogger(__name__)


class EventIntake(OrderedWorker[CallEvent]):
    """Queues events and applies them in order. Use as ``async with``: on exit the events
    already taken are applied (for at most `drain_s` seconds), then it stops."""

    def __init__(
        self,
        reducer: CallReducer,
        calls: CallStore,
        runtimes: CallRuntimes,
        effects: EffectInterpreter,
        metrics: Metrics,
        drain_s: float = 2.0,
    ) -> None:
        self._reducer = reducer
        self._calls = calls
        self._runtimes = runtimes
        self._effects = effects
        self._metrics = metrics
        super().__init__("event intake", drain_s)

    def emit(self, event: CallEvent) -> None:
        """Take one event from a source. Never blocks and never raises into the source."""
        self._metrics.events.labels(event.source, str(event.kind)).inc()
        if not self.running:
            log.warning("call %s: event %s after shutdown, dropped", event.call_id, event.kind)
            return
        self.put(event)

    def _describe(self, event: CallEvent) -> str:
        return f"call {event.call_id}: event {event.kind}"

    async def _handle(self, event: CallEvent) -> None:
        call, effects = self._reducer.advance(await self._calls.load(event.call_id), event)
        if not effects:
            self._metrics.events_ignored.inc()
        if call is None:
            return
        await self._calls.save(call)
        self._runtimes.seen(call)
        await self._effects.apply(effects, event)
