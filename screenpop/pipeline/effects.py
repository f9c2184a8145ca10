"""The effect interpreter: what the tracker's effects mean for the rest of the daemon. A
`Prefetch` starts a card build, a `Pop` or `Notify` goes to the call's courier, a `Changed`
updates the board and writes the call log (answers and ends only); pops and notifies also
write the agent's ring rows."""

from __future__ import annotations

import time
from collections.abc import Sequence

from screenpop.board.feed import BoardFeed
from screenpop.board.state import BoardState
from screenpop.calls import Call, Changed, Effect, Notify, Pop, Prefetch
from screenpop.events import CallEvent, CallState
from screenpop.pipeline.builds import CardBuilds
from screenpop.pipeline.call_log import CallLogWriter
from screenpop.pipeline.deliveries import Deliveries
from screenpop.pipeline.live import LiveConfig
from screenpop.pipeline.runtime import CallRuntimes


class EffectInterpreter:
    """Applies the effects of one event, in their order."""

    def __init__(
        self,
        live: LiveConfig,
        runtimes: CallRuntimes,
        builds: CardBuilds,
        deliveries: Deliveries,
        board: BoardState,
        board_feed: BoardFeed,
        call_log: CallLogWriter,
    ) -> None:
        self._live = live
        self._runtimes = runtimes
        self._builds = builds
        self._deliveries = deliveries
        self._board = board
        self._feed = board_feed
        self._call_log = call_log

    async def apply(self, effects: Sequence[Effect], event: CallEvent) -> None:
        """Carry out `effects` (from `event`); waits only for the board state, never a tab."""
        for effect in effects:
            if isinstance(effect, Prefetch):
                self._builds.start(effect.call, shown=effect.shown)
            elif isinstance(effect, Pop):
                self._deliveries.pop(effect.call, effect.agent_id, event.at)
                self._call_log.rang(effect.call, effect.agent_id, event.at)
            elif isinstance(effect, Notify):
                self._deliveries.notify(effect.call, effect.agent_id, effect.state)
                self._call_log.ring_over(effect.call, effect.agent_id, effect.state, event.at)
            elif isinstance(effect, Changed):
                await self._changed(effect.call)

    async def _changed(self, call: Call) -> None:
        await self._board.on_call(call, time.time())
        self._feed.changed()
        if not call.active and call.agent is not None and call.state is CallState.ENDED:
            self._feed.changed_later(self._live.settings.board.wrap_up_s + 0.05)
        if call.active and call.state is not CallState.ANSWERED:
            return
        self._call_log.write(call)
        if not call.active:
            self._runtimes.ended(call.call_id)
