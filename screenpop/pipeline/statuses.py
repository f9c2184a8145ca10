"""Agent statuses in and out: the PBX's pause confirmations applied in order, pause requests sent
to the PBX, every change told to the agent's tabs and to the board.

:meth:`AgentStatuses.emit` takes a source's :class:`AgentStatusEvent` without blocking (a path
of its own beside the call intake: a status touches no call); one task applies them in the
order they came. :meth:`AgentStatuses.request` sends a pause to the first source that can
pause (a :class:`~screenpop.telephony.base.Pauser`); with none, the daemon's word is final and
the status changes at once. Each pause that ends (the agent is available again, or paused for
another reason) is queued on the store writer as a
:class:`~screenpop.store.schema.PauseRecord`, for paused time by reason in reports.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from screenpop.agent_status import AgentStatus, StatusBook
from screenpop.board.feed import BoardFeed
from screenpop.board.state import BoardState
from screenpop.delivery.hub import Hub
from screenpop.delivery.outbound import StatusMessage
from screenpop.errors import ProtocolError
from screenpop.events import AgentStatusEvent
from screenpop.pipeline.live import LiveConfig
from screenpop.store.schema import PauseRecord
from screenpop.store.writer import StoreWriter
from screenpop.tasks import OrderedWorker
from screenpop.telephony.base import Pauser, Source

log = logging.getLogger(__name__)


class AgentStatuses(OrderedWorker[AgentStatusEvent]):
    """Use as ``async with`` (its task applies the sources' events)."""

    def __init__(
        self,
        live: LiveConfig,
        hub: Hub,
        board: BoardState,
        board_feed: BoardFeed,
        sources: Mapping[str, Source],
        clock: Callable[[], float] = time.time,
        writer: StoreWriter | None = None,
    ) -> None:
        super().__init__("agent statuses")
        self._live = live
        self._hub = hub
        self._board = board
        self._feed = board_feed
        self._sources = sources
        self._clock = clock
        self._writer = writer
        self.book = StatusBook(clock())
        self.unmatched = 0  # pauses of endpoints no agent has (counted, not an error)

    # -- from the sources ---------------------------------------------------------------------
    def emit(self, event: AgentStatusEvent) -> None:
        """Take one status event from a source. Never blocks and never raises into it."""
        if not self.running:
            log.warning("agent status of %s after shutdown, dropped", event.endpoint)
            return
        self.put(event)

    def _describe(self, event: AgentStatusEvent) -> str:
        return f"status of {event.endpoint} (paused={event.paused})"

    async def _handle(self, event: AgentStatusEvent) -> None:
        match = self._live.match_agent
        agent_id = match(event.endpoint) or match(event.state_endpoint)
        if agent_id is None:
            self.unmatched += 1
            log.debug("telephony %s: %s is no agent's", event.source, event.endpoint)
            return
        await self._apply(agent_id, event.paused, event.reason, event.at)

    # -- from the pages -----------------------------------------------------------------------
    def status(self, agent_id: str) -> AgentStatus:
        return self.book.get(agent_id)

    def pauser(self) -> tuple[str, Pauser] | None:
        """The first telephony source that can pause agents, with its name."""
        for name, source in self._sources.items():
            if isinstance(source, Pauser):
                return name, source
        return None

    async def request(self, agent_id: str, paused: bool, reason: str | None) -> None:
        """Pause (with `reason`) or unpause the agent at the PBX. Their tabs show "pausing…"
        until the PBX confirms. ProtocolError (refused, unreachable) or ValueError (no
        extension the PBX knows) after telling the tabs that nothing is pending any more."""
        agent = self._live.directory.get(agent_id)
        if agent is None:
            raise KeyError(f"no agent {agent_id!r}")
        found = self.pauser()
        now = self._clock()
        if found is None or not agent.extensions:
            await self._apply(agent_id, paused, reason, now)  # nothing to ask: ours is the word
            return
        name, pauser = found
        self.book.asked(agent_id, paused, reason, now)
        await self.send_status(agent_id)
        try:
            await pauser.pause(agent.extensions, paused, reason)
        except (ProtocolError, ValueError):
            self.book.refused(agent_id)
            await self.send_status(agent_id)
            raise
        log.info("agent %s: %s asked of %s", agent_id, "pause" if paused else "unpause", name)

    async def resumed(self, agent_id: str) -> None:
        """A tab resumed: it takes the agent for available (the page's default) unless told
        otherwise, so a paused agent, or one with a pause on the way, gets its status again."""
        if self.book.get(agent_id).paused or self.book.pending(agent_id, self._clock()) is not None:
            await self.send_status(agent_id)

    async def send_status(self, agent_id: str) -> None:
        """Tell the agent's tabs their status as it stands (after a resume, or a request)."""
        status = self.book.get(agent_id)
        pending = self.book.pending(agent_id, self._clock())
        message = StatusMessage(status.state, status.reason, status.since, pending)
        await self._hub.publish(agent_id, message)

    # -- both ---------------------------------------------------------------------------------
    async def _apply(self, agent_id: str, paused: bool, reason: str | None, now: float) -> None:
        before = self.book.get(agent_id)
        status = self.book.confirmed(agent_id, paused, reason, now)
        if status is None:
            return
        if before.paused and self._writer is not None:
            pause = PauseRecord(agent_id, before.reason or "", before.since, now)
            self._writer.queue(pause)
        log.info("agent %s: %s %s", agent_id, status.state, status.reason or "")
        await self.send_status(agent_id)
        await self._board.pause(agent_id, (status.reason or "") if status.paused else None, now)
        self._feed.changed()
