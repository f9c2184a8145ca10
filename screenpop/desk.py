"""What agents and the web layer can do: the facade behind agent_ui's `Desk` protocol.

It is built by the daemon once the cache, the store and the sources exist, and holds nothing of
its own but what it is given. Settings, agents and roles are read through the pop service on
every call, so a reload is seen at once.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry

from screenpop.agents import Agent
from screenpop.board import Board
from screenpop.board_feed import BoardFeed
from screenpop.callerid import mask, normalize
from screenpop.errors import ScreenpopError
from screenpop.events import CallEvent, EventKind
from screenpop.hub import Hub, Subscription
from screenpop.messages import Hello
from screenpop.metrics import Metrics
from screenpop.pops import PopService
from screenpop.presence import Presence
from screenpop.settings import ServerSettings
from screenpop.telephony.base import Dialer, Source, WebhookSource

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class DeskParts:
    """What the desk is made of; the daemon fills it in once everything is open."""

    pops: PopService
    hub: Hub
    metrics: Metrics
    board: Board
    board_feed: BoardFeed
    presence: Presence
    sources: Mapping[str, Source]
    readiness: Callable[[], Awaitable[dict[str, Any]]]
    metrics_text: Callable[[], bytes]
    reload: Callable[[], Awaitable[str]]


class DeskService:
    """Implements agent_ui's Desk: who may do what, an agent's tabs and actions, operations."""

    def __init__(self, parts: DeskParts) -> None:
        self._p = parts

    # -- who may do what ----------------------------------------------------------------------
    @property
    def server(self) -> ServerSettings:
        return self._p.pops.settings.server

    @property
    def dispositions(self) -> Sequence[str]:
        return self._p.pops.settings.ui.dispositions

    def agent(self, agent_id: str) -> Agent | None:
        return self._p.pops.directory.get(agent_id)

    def authenticate(self, agent_id: str, token: str) -> Agent | None:
        return self._p.pops.directory.authenticate(agent_id, token)

    def authenticate_token(self, token: str) -> Agent | None:
        return self._p.pops.directory.authenticate_token(token)

    def watches_board(self, agent: Agent) -> bool:
        return self._p.pops.role(agent.role).board

    # -- an agent's tabs ------------------------------------------------------------------------
    def subscribe(self, agent_id: str) -> Subscription:
        return self._p.hub.subscribe(agent_id)

    def unsubscribe(self, sub: Subscription) -> None:
        self._p.hub.unsubscribe(sub)

    def hello(self, agent: Agent) -> Hello:
        seq = self._p.hub.log.last_seq(agent.id)
        board = self.watches_board(agent)
        return Hello(agent.id, agent.name, agent.role, seq, list(self.dispositions), board)

    def connected(self, agent_id: str) -> None:
        self._p.presence.opened(agent_id)
        self._p.metrics.websockets.inc()
        self._p.board.presence(agent_id, True, time.time())
        self._p.board_feed.changed()

    def disconnected(self, agent_id: str) -> None:
        if self._p.presence.closed(agent_id):
            self._p.board.presence(agent_id, False, time.time())
            self._p.board_feed.changed()
        self._p.metrics.websockets.dec()

    def resume(self, sub: Subscription, last_seq: int) -> None:
        """Replay what a tab missed; past the buffer, pop every call still active for it again."""
        if not self._p.hub.resume(sub, last_seq):
            self._p.pops.redeliver(sub)
        agent = self.agent(sub.agent_id)
        if agent is not None and self.watches_board(agent):
            # after the replay, so the tab never sees a newer seq before the ones it missed
            self._p.board_feed.send_to(sub.agent_id, agent.role)

    def ack(self, agent_id: str, seq: int) -> None:
        latency = self._p.hub.ack(agent_id, seq)
        if latency is not None:
            self._p.metrics.ring_to_render.observe(latency)

    def ready(self, agent_id: str) -> None:
        """The agent closed the card of their last call: their wrap-up is over."""
        self._p.board.ready(agent_id, time.time())
        self._p.board_feed.changed()

    def slow_client(self) -> None:
        self._p.metrics.slow_clients.inc()

    # -- what an agent does --------------------------------------------------------------------
    async def save_note(
        self, agent_id: str, call_id: str, disposition: str, text: str
    ) -> dict[str, Any]:
        """Save an agent's note on a call they were popped; every tab of theirs receives it.
        KeyError when the call is not theirs or the disposition is unknown."""
        return await self._p.pops.save_note(agent_id, call_id, disposition, text)

    async def choose(self, agent_id: str, call_id: str, customer_id: str) -> None:
        """The agent picked one of the card's candidate customers (see PopService.choose)."""
        await self._p.pops.choose(agent_id, call_id, customer_id)

    async def dial(self, agent_id: str, number: str) -> str:
        """Click-to-dial: call `number` from the agent's first extension through the first
        telephony source that can place calls; the outbound call pops its card at once.
        ValueError for a number that cannot be dialled, ScreenpopError when no source can."""
        agent = self.agent(agent_id)
        if agent is None or not agent.extensions:
            raise ValueError("this agent has no extension to call from")
        target = normalize(number, self._p.pops.settings.phone.default_region)
        if not target.lookupable or target.e164 is None:
            raise ValueError(f"not a phone number that can be dialled ({target.kind})")
        found = self.dialer()
        if found is None:
            raise ScreenpopError("no telephony source here can place calls")
        name, dialer = found
        extension = agent.extensions[0]
        call_id = await dialer.originate(extension, target.e164, agent_id)
        event = CallEvent(name, call_id, EventKind.RINGING, target.e164, endpoint=extension)
        self.emit(dataclasses.replace(event, outbound=True))
        log.info("call %s: %s dials %s", call_id, agent_id, mask(target.e164))
        return call_id

    def dialer(self) -> tuple[str, Dialer] | None:
        """The first telephony source that can place calls, with its name."""
        for name, source in self._p.sources.items():
            if isinstance(source, Dialer):
                return name, source
        return None

    async def card_for_number(self, number: str, role_name: str) -> dict[str, Any]:
        """One fan-out for `number`, as the role may see it. ValueError for a non-number."""
        pops = self._p.pops
        caller = normalize(number, pops.settings.phone.default_region)
        if not caller.lookupable:
            raise ValueError(f"not a phone number that can be looked up ({caller.kind})")
        card = await pops.build_card(caller, call_id="")
        return card.to_json(pops.role(role_name))

    # -- operations -----------------------------------------------------------------------------
    @property
    def metrics_registry(self) -> CollectorRegistry:
        return self._p.metrics.registry

    async def readiness(self) -> dict[str, Any]:
        return await self._p.readiness()

    def metrics_text(self) -> bytes:
        return self._p.metrics_text()

    async def reload(self) -> str:
        return await self._p.reload()

    def webhook(self, name: str) -> WebhookSource | None:
        source = self._p.sources.get(name)
        return source if isinstance(source, WebhookSource) else None

    def emit(self, event: CallEvent) -> None:
        """Take one event from a source. Never blocks and never raises into the source."""
        self._p.pops.emit(event)
