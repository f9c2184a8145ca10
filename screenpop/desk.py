"""What agents and the web layer can do: the facade behind agent_ui's `Desk` protocol.

It is built by the daemon once the cache, the store and the sources exist, and holds nothing of
its own but what it is given. Settings, agents and roles are read through the live config on
every call, so a reload is seen at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from prometheus_client import CollectorRegistry

from screenpop.agents import Agent
from screenpop.audit import AuditTrail
from screenpop.board.feed import BoardFeed
from screenpop.board.state import BoardState
from screenpop.cache import Cache, forget_cached
from screenpop.callbacks import CallbackService
from screenpop.callerid import mask, normalize
from screenpop.connectors.contract import CreateQuery, can_create
from screenpop.create import CreateCounters, create_one, find_creator, forms
from screenpop.delivery.hub import Hub, Subscription
from screenpop.delivery.inbound import CallbackAction, check_pause_reason
from screenpop.delivery.outbound import Hello
from screenpop.errors import ScreenpopError, StoreError
from screenpop.events import CallEvent, EventKind, SourceEvent
from screenpop.layout import page_layouts
from screenpop.metrics import Metrics
from screenpop.my_calls import agent_day_json
from screenpop.pipeline.actions import AgentActions
from screenpop.pipeline.live import LiveConfig
from screenpop.pipeline.statuses import AgentStatuses
from screenpop.presence import Presence
from screenpop.reports.model import Report, ReportQuery, options_from
from screenpop.reports.service import Reporter
from screenpop.search import SearchCounters, check_query, search_all
from screenpop.settings import ServerSettings
from screenpop.store import Store
from screenpop.store.call_log import logout_record
from screenpop.store.schema import WrapRecord
from screenpop.store.writer import StoreWriter
from screenpop.telephony.base import Dialer, Source, WebhookSource
from screenpop.ui_settings import UiSettings
from screenpop.writeback import Writeback

log = logging.getLogger(__name__)


class ClusterChecks(Protocol):
    """What the cluster (`[cluster]`) adds to `/readyz`: its rows, overriding the sources'."""

    async def checks(self) -> dict[str, dict[str, Any]]: ...


@dataclasses.dataclass(frozen=True, slots=True)
class DeskParts:
    """What the desk is made of; the daemon fills it in once everything is open."""

    live: LiveConfig
    actions: AgentActions
    emit: Callable[[SourceEvent], None]
    hub: Hub
    metrics: Metrics
    board: BoardState
    board_feed: BoardFeed
    presence: Presence
    sources: Mapping[str, Source]
    statuses: AgentStatuses
    cache: Cache
    store: Store
    writer: StoreWriter
    reload: Callable[[], Awaitable[str]]
    audit: AuditTrail  # card reads, searches and reports: who saw which caller
    cluster: ClusterChecks | None = None
    writeback: Writeback | None = None  # notes and call ends to the recording connectors
    callbacks: CallbackService | None = None
    reporter: Reporter | None = None  # reports from the call log, on an engine of their own


class DeskService:
    """Implements agent_ui's Desk: who may do what, an agent's tabs and actions, operations."""

    def __init__(self, parts: DeskParts) -> None:
        self._p = parts
        self._search_counters = SearchCounters(parts.metrics.registry)
        self._create_counters = CreateCounters(parts.metrics.registry, self._creating)

    def _creating(self) -> list[str]:
        """The connectors that create, as configured now (read at each /metrics scrape)."""
        return [r.name for r in self._p.live.lookup.connectors if can_create(r.connector)]

    # -- who may do what ----------------------------------------------------------------------
    @property
    def server(self) -> ServerSettings:
        return self._p.live.settings.server

    @property
    def dispositions(self) -> Sequence[str]:
        return self._p.live.settings.ui.dispositions

    @property
    def ui(self) -> UiSettings:
        return self._p.live.settings.ui

    def agent(self, agent_id: str) -> Agent | None:
        return self._p.live.directory.get(agent_id)

    def authenticate(self, agent_id: str, token: str) -> Agent | None:
        return self._p.live.directory.authenticate(agent_id, token)

    def authenticate_token(self, token: str) -> Agent | None:
        return self._p.live.directory.authenticate_token(token)

    def watches_board(self, agent: Agent) -> bool:
        return self._p.live.role(agent.role).board

    def manages_agents(self, agent: Agent) -> bool:
        return self._p.live.role(agent.role).manage_agents

    def reads_reports(self, agent: Agent) -> bool:
        return self._p.live.role(agent.role).reports

    async def report(self, query: ReportQuery, actor: str) -> Report:
        if self._p.reporter is None:
            raise StoreError("reports: no call log")
        report = await self._p.reporter.run(query, options_from(self._p.live.settings))
        if report.reading is not None:
            self._p.audit.report(actor, *report.reading)
        return report

    def layouts(self, agent: Agent) -> dict[str, Any]:
        role = self._p.live.role(agent.role)
        return page_layouts(self._p.live.settings.sections, role.sections, role.hide)

    # -- an agent's tabs ------------------------------------------------------------------------
    def subscribe(self, agent_id: str) -> Subscription:
        return self._p.hub.subscribe(agent_id)

    def unsubscribe(self, sub: Subscription) -> None:
        self._p.hub.unsubscribe(sub)

    async def hello(self, agent: Agent) -> Hello:
        seq = await self._p.hub.log.last_seq(agent.id)
        board = self.watches_board(agent)
        return Hello(agent.id, agent.name, agent.role, seq, list(self.dispositions), board)

    async def connected(self, agent_id: str) -> None:
        self._p.presence.opened(agent_id)
        self._p.metrics.websockets.inc()
        await self._p.board.presence(agent_id, True, time.time())
        self._p.board_feed.changed()

    async def disconnected(self, agent_id: str) -> None:
        if self._p.presence.closed(agent_id):
            await self._p.board.presence(agent_id, False, time.time())
            self._p.board_feed.changed()
        self._p.metrics.websockets.dec()

    async def resume(self, sub: Subscription, last_seq: int) -> None:
        """Replay what a tab missed; past the buffer, pop every call still active for it again."""
        replayed = await self._p.hub.resume(sub, last_seq)
        if not replayed:
            await self._p.actions.redeliver(sub.agent_id)
        agent = self.agent(sub.agent_id)
        # after the replay, so the tab never sees a newer seq before the ones it missed
        if agent is not None and agent.extensions:
            await self._p.statuses.resumed(sub.agent_id)
        if agent is not None and self.watches_board(agent):
            await self._p.board_feed.send_to(sub.agent_id, agent.role)
        if agent is not None and self._p.callbacks is not None:
            await self._p.callbacks.send_to(agent, always=last_seq > 0 and not replayed)

    def ack(self, agent_id: str, seq: int) -> None:
        latency = self._p.hub.ack(agent_id, seq)
        if latency is not None:
            self._p.metrics.ring_to_render.observe(latency)

    async def ready(self, agent_id: str) -> None:
        """The agent closed the card of their last call: their wrap-up is over (on the board,
        and in the call log as the wrap-up of the call they held that ended last)."""
        now = time.time()
        await self._p.board.ready(agent_id, now)
        self._p.board_feed.changed()
        self._p.writer.queue(WrapRecord(agent_id, now, self._p.live.settings.board.wrap_up_s))

    def slow_client(self) -> None:
        self._p.metrics.slow_clients.inc()

    # -- what an agent does --------------------------------------------------------------------
    async def save_note(
        self,
        agent_id: str,
        call_id: str,
        disposition: str,
        text: str,
        note_id: str | None = None,
    ) -> dict[str, Any]:
        """Save an agent's note on a call they were popped (see AgentActions.save_note)."""
        return await self._p.actions.save_note(agent_id, call_id, disposition, text, note_id)

    async def callback(self, agent_id: str, action: CallbackAction) -> None:
        """Take, release, dial or close a callback item (see CallbackService.act)."""
        agent = self.agent(agent_id)
        if agent is None or self._p.callbacks is None:
            raise ValueError("callbacks are not available here")
        await self._p.callbacks.act(agent, action)

    async def remember_logout(self, agent_id: str, not_before_ms: int, ttl_s: float) -> None:
        """Keep a logout in the store (through the outbox while it is away)."""
        await self._p.writer.save(logout_record(agent_id, not_before_ms, ttl_s))

    async def logouts(self) -> dict[str, int]:
        """Logouts still in force, from the store (expired ones are deleted)."""
        return await self._p.store.logouts(time.time())

    async def choose(self, agent_id: str, call_id: str, customer_id: str) -> None:
        """The agent picked one of the card's candidate customers (see AgentActions.choose)."""
        await self._p.actions.choose(agent_id, call_id, customer_id)

    async def link(self, agent_id: str, call_id: str, customer_id: str) -> None:
        """A customer found by search is this call's caller (see AgentActions.link)."""
        await self._p.actions.link(agent_id, call_id, customer_id)

    async def search(self, q: str, agent: Agent) -> dict[str, Any]:
        """Customers matching `q` in every searching connector the agent's role may see (see
        screenpop.search), the query audited. ValueError unless `q` has 2 to 100 characters."""
        q = check_query(q)
        live = self._p.live
        self._p.audit.search(agent.id, q, live.settings.phone.default_region)
        return await search_all(
            live.lookup.connectors, q, live.role(agent.role), self._search_counters
        )

    def create_forms(self, role_name: str) -> list[dict[str, Any]]:
        """The connectors the role may create customers with, and their fields."""
        live = self._p.live
        return forms(live.lookup.connectors, live.role(role_name))

    async def create_customer(
        self, agent: Agent, call_id: str, connector: str, values: object
    ) -> dict[str, Any]:
        """Create the unknown caller of the agent's call in `connector` (see screenpop.create),
        drop the number's cache entries and rebuild the card for every tab. KeyError: not their
        call, or not a connector their role may create with; ValueError: the caller is known;
        FieldError: a value is wrong; CreateFailed: the back office failed."""
        live = self._p.live
        runtime = find_creator(live.lookup.connectors, live.role(agent.role), connector)
        number = await self._p.actions.unknown_caller(agent.id, call_id)
        query = CreateQuery(number, agent.id, call_id)
        created = await create_one(runtime, values, query, self._create_counters)
        await self._p.cache.drop_number(number.e164)
        self._p.actions.rebuild(call_id)
        return {"connector": runtime.name, "customer": created}

    async def dial(self, agent_id: str, number: str) -> str:
        """Click-to-dial: call `number` from the agent's first extension through the first
        telephony source that can place calls; the outbound call pops its card at once.
        ValueError for a number that cannot be dialled, ScreenpopError when no source can."""
        agent = self.agent(agent_id)
        if agent is None or not agent.extensions:
            raise ValueError("this agent has no extension to call from")
        target = normalize(number, self._p.live.settings.phone.default_region)
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

    async def set_paused(
        self, actor_id: str, paused: bool, reason: str | None, target_id: str | None = None
    ) -> None:
        """Pause (with a reason from `[ui] pause_reasons`) or unpause `target_id` (default: the
        actor), at the PBX. Pausing another agent needs a role with `manage_agents`.
        ValueError: not allowed, or a reason not in the list; KeyError: no such agent (or one
        without an extension); ProtocolError: the PBX refused or is away."""
        actor = self.agent(actor_id)
        target_id = target_id or actor_id
        if actor is None:
            raise KeyError("unknown agent")
        if target_id != actor_id and not self.manages_agents(actor):
            raise ValueError("your role may not pause other agents (manage_agents)")
        target = self.agent(target_id)
        if target is None or not target.extensions:
            raise KeyError(f"no agent {target_id!r} with a phone to pause")
        if paused:
            reason = check_pause_reason(reason, self.ui.pause_reasons)
        await self._p.statuses.request(target_id, paused, reason if paused else None)
        log.info(
            "agent %s: %s by %s", target_id, f"pause ({reason})" if paused else "unpause", actor_id
        )

    async def my_calls(self, agent_id: str, day: dt.date | None = None) -> dict[str, Any]:
        """The agent's calls of `day` (default today) in the center's time zone (`[ui]
        timezone`), newest first, from the store: ``{"day", "calls": [...]}`` (README, "My
        calls"). StoreError when the store does not answer."""
        settings = self._p.live.settings
        return await agent_day_json(
            self._p.store, agent_id, day, settings.ui.timezone, settings.phone.default_region
        )

    def dialer(self) -> tuple[str, Dialer] | None:
        """The first telephony source that can place calls, with its name."""
        for name, source in self._p.sources.items():
            if isinstance(source, Dialer):
                return name, source
        return None

    async def card_for_number(self, number: str, agent: Agent) -> dict[str, Any]:
        """One fan-out for `number`, as the agent's role may see it, recorded in the audit
        trail. ValueError for a non-number."""
        live = self._p.live
        caller = normalize(number, live.settings.phone.default_region)
        if not caller.lookupable or caller.e164 is None:
            raise ValueError(f"not a phone number that can be looked up ({caller.kind})")
        card = await self._p.actions.build_card(caller, call_id="")
        self._p.audit.card_read(agent.id, caller.e164)
        return card.to_json(live.role(agent.role), live.settings.sections)

    # -- operations -----------------------------------------------------------------------------
    @property
    def metrics_registry(self) -> CollectorRegistry:
        return self._p.metrics.registry

    async def readiness(self) -> dict[str, Any]:
        """Every telephony source logged in, the cache and the store reachable."""
        checks: dict[str, dict[str, Any]] = {}
        for name, source in self._p.sources.items():
            status = source.status
            checks[f"telephony.{name}"] = {"ok": status.logged_in, "detail": status.detail}
        if self._p.cluster is not None:
            checks.update(await self._p.cluster.checks())
        # both round trips at once: a probe waits for the slower one, never for their sum
        cache, store = await asyncio.gather(
            _check(self._p.cache.ping()), _check(self._p.store.ping())
        )
        checks["cache"], checks["store"] = cache, self._store_check(store)
        return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}

    def _store_check(self, ping: dict[str, Any]) -> dict[str, Any]:
        """The store is ready when it answers and takes writes; writes waiting in the outbox
        are said either way."""
        writer = self._p.writer
        if ping["ok"] and not writer.store_up:
            ping = {"ok": False, "detail": f"writes fail: {writer.store_error}"}
        if writer.waiting:
            ping["detail"] += f"; {writer.waiting} writes wait in the outbox"
        waiting = len(self._p.writeback.queue) if self._p.writeback is not None else 0
        if waiting:
            ping["detail"] += f"; {waiting} write-backs wait for the back offices"
        return ping

    def metrics_text(self) -> bytes:
        """The Prometheus exposition (sources, cache and board figures are read now)."""
        return self._p.metrics.render()

    async def reload(self) -> str:
        return await self._p.reload()

    async def forget_cached(self, number: str, *, dry_run: bool = False) -> dict[str, int]:
        caller = normalize(number, self._p.live.settings.phone.default_region)
        if not caller.lookupable or caller.e164 is None:
            raise ValueError(f"not a phone number ({caller.kind})")
        return await forget_cached(self._p.cache, caller.e164, dry_run=dry_run)

    def webhook(self, name: str) -> WebhookSource | None:
        source = self._p.sources.get(name)
        return source if isinstance(source, WebhookSource) else None

    def emit(self, event: SourceEvent) -> None:
        """Take one event from a source. Never blocks and never raises into the source."""
        self._p.emit(event)


async def _check(probe: Awaitable[None]) -> dict[str, Any]:
    try:
        async with asyncio.timeout(2):
            await probe
    except (ScreenpopError, TimeoutError, OSError) as exc:
        return {"ok": False, "detail": str(exc) or type(exc).__name__}
    return {"ok": True, "detail": "ok"}
