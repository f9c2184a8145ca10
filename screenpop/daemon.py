"""The composition root: builds every part from the settings, wires them together, and opens
and closes every resource in one place (one `AsyncExitStack`).

Event path (all on one event loop, nothing on it blocks): a source calls :meth:`Daemon.emit` ->
the pipeline's intake applies the event to its call (the `CallStore` and the pure reducer) ->
the effects start a card build at first sight of the caller and queue each agent's pop,
call-state and card messages on that call's courier, which keeps them in order and waits
(bounded by the connectors' deadlines) for the card before a pop (:mod:`screenpop.pipeline`).
Agent status events (pauses) take a path of their own (:mod:`screenpop.pipeline.statuses`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path

from screenpop.agents import AgentDirectory
from screenpop.board.feed import BoardFeed
from screenpop.board.model import Board
from screenpop.board.opening import board_for, configure_board, refill_today
from screenpop.board.state import BoardState, MemoryBoardState
from screenpop.cache import Cache, Revalidator, open_cache
from screenpop.call_store import MemoryCallStore
from screenpop.call_table import CallTable
from screenpop.callback_wiring import wire_callbacks
from screenpop.cluster.node import ClusterNode
from screenpop.connectors.registry import ConnectorSet
from screenpop.delivery.hub import Hub
from screenpop.delivery.log import MemoryDeliveryLog
from screenpop.desk import DeskParts, DeskService
from screenpop.errors import ConfigError, ScreenpopError, StoreError
from screenpop.events import AgentStatusEvent, SourceEvent
from screenpop.heap import HeapKeeper
from screenpop.live_metrics import LiveFigures
from screenpop.logs import LogSetup
from screenpop.lookup import Lookup
from screenpop.metrics import Metrics
from screenpop.paths import outbox_path, resolve_url
from screenpop.pipeline.actions import AgentActions
from screenpop.pipeline.builds import caller_info
from screenpop.pipeline.intake import EventIntake
from screenpop.pipeline.live import LiveConfig
from screenpop.pipeline.records import status_teller
from screenpop.pipeline.runtime import CallRuntimes
from screenpop.pipeline.settle import nothing_owed, settle
from screenpop.pipeline.statuses import AgentStatuses
from screenpop.pops import PipelineParts, assemble
from screenpop.presence import Presence
from screenpop.record_figures import RecordFigures
from screenpop.reloads import build_sources, close_later, restart_only_changes
from screenpop.report_mailing import start_mailing
from screenpop.reports.service import Reporter
from screenpop.retention import start_retention
from screenpop.settings import RoleSettings, Settings, load_settings
from screenpop.store import Store
from screenpop.store.figures import WriterFigures
from screenpop.store.outbox import Outbox
from screenpop.store.records import RecordQueue, records_path
from screenpop.store.writer import StoreWriter
from screenpop.tasks import TaskOwner
from screenpop.telephony.base import Source
from screenpop.web_serving import serve_web
from screenpop.writeback import Writeback, recorders_of

log = logging.getLogger(__name__)

STOP_DRAIN_S = 2.0  # on SIGTERM, the pops already owed get this long to reach their tabs


class Daemon:
    """Everything the daemon runs. Use as ``async with Daemon(settings) as daemon:``; the parts
    below exist inside the block. What the web layer may do goes through :attr:`desk`."""

    live: LiveConfig  # settings, agents and lookup: what a reload swaps
    metrics: Metrics
    hub: Hub
    calls: MemoryCallStore
    runtimes: CallRuntimes  # what only this process holds of each call (build, courier)
    board: Board
    store: Store
    writer: StoreWriter
    actions: AgentActions
    sources: dict[str, Source]
    desk: DeskService
    _cache: Cache
    _revalidator: Revalidator
    _board_state: BoardState
    _board_feed: BoardFeed
    _intake: EventIntake
    _heap: HeapKeeper  # freezes what lives a while; runs while serving
    statuses: AgentStatuses  # agents' pauses, as the PBX confirms them
    cluster: ClusterNode | None  # with `[cluster] url`: this node's share of the cluster

    def __init__(
        self,
        settings: Settings,
        config_path: Path | None = None,
        log_setup: LogSetup | None = None,
        demo_dir: Path | None = None,  # `screenpop demo`: its back office, for /demo/crm
    ) -> None:
        self._initial = settings
        self.config_path = config_path  # re-read on SIGHUP and POST /admin/reload
        self._log_setup = log_setup or LogSetup()  # what wins over [logging] on a reload too
        self._stack = AsyncExitStack()
        self._tasks = TaskOwner()
        self._connectors = ConnectorSet([])
        self.web_port: int | None = None
        self.demo_dir = demo_dir

    @property
    def settings(self) -> Settings:
        return self.live.settings

    @property
    def lookup(self) -> Lookup:
        """The current fan-out (replaced on reload)."""
        return self.live.lookup

    @property
    def tracker(self) -> CallTable:
        """The calls as this process holds them (read only)."""
        return self.calls.table

    def role(self, name: str) -> RoleSettings:
        """A role's settings; an unknown role sees no section at all."""
        return self.live.role(name)

    # -- life cycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Daemon:
        try:
            await self._open(self._initial, self._stack)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _open(self, cfg: Settings, stack: AsyncExitStack) -> None:
        """Open every resource and build every part; each close is pushed on `stack` as soon as
        its resource is open, so they close in reverse: the intake applies what it took, the
        call log writes what it queued, then tabs, tasks, connectors, store and cache close."""
        await self._open_resources(cfg, stack)
        self.metrics = Metrics()
        self.cluster = None
        if cfg.cluster.enabled:
            self.cluster = await stack.enter_async_context(ClusterNode(cfg, self._cache))
        self.live = LiveConfig(
            cfg, AgentDirectory(cfg.agents), self._make_lookup(self._connectors, cfg)
        )
        if self.cluster is not None:
            self.hub = self.cluster.hub()
        else:
            log_ = MemoryDeliveryLog(cfg.server.replay_buffer, cfg.server.replay_buffer_bytes)
            self.hub = Hub(log_, cfg.server.outbound_queue)
        stack.callback(self.hub.close_all)
        presence = Presence(
            lambda agent_id: self.live.directory.get(agent_id),
            lambda agent: self.live.role(agent.role).board,
        )
        runtimes = self.runtimes = CallRuntimes(self._tasks)
        await self._open_board(cfg, runtimes, presence)
        stack.callback(self._board_feed.close)
        await self._open_pipeline(runtimes, stack)
        self.sources = build_sources(cfg, presence)
        if self.cluster is not None:  # AMI/ESL links run only on the node holding their lease
            self.sources = self.cluster.lease(self.sources)
            self.metrics.registry.register(self.cluster.collector())
        parts = (self.live, self.hub, self._board_state, self._board_feed, self.sources)
        self.statuses = await stack.enter_async_context(AgentStatuses(*parts, writer=self.writer))
        self.desk = self._build_desk(presence)
        start_mailing(cfg, self._reporter, self.metrics.registry, self._tasks, self.cluster)
        start_retention(self.live, self.store, self._tasks, self.metrics.registry, self.cluster)
        # its deep pass waits for a moment when nothing is owed to a tab (it runs from serve)
        quiet = functools.partial(nothing_owed, self._intake, self.runtimes, self.hub)
        self._heap = HeapKeeper(self.metrics.registry, quiet)

    async def _open_resources(self, cfg: Settings, stack: AsyncExitStack) -> None:
        """The cache, the store, the connectors and the background tasks' owner."""
        self._cache = open_cache(cfg.cache.url, cfg.cache.key_prefix, cfg.cache.timeout_ms / 1000)
        stack.push_async_callback(self._cache.aclose)
        self._revalidator = Revalidator()
        stack.push_async_callback(self._revalidator.aclose)
        store_url = resolve_url(cfg.store.url, cfg.base_dir)
        self.store = Store(store_url)
        stack.push_async_callback(self.store.aclose)
        self._reporter = await stack.enter_async_context(Reporter(store_url))
        try:
            await self.store.start()
        except StoreError as exc:
            if not self.store.opened:
                raise  # a URL it cannot use: a config error
            log.error("store away at start, pops run and writes wait in the outbox: %s", exc)
        outbox_file = outbox_path(cfg.store.outbox_path, cfg.base_dir, store_url)
        outbox = Outbox(outbox_file, cfg.store.outbox_max)
        await outbox.open()
        stack.push_async_callback(outbox.aclose)
        self.writer = await stack.enter_async_context(StoreWriter(self.store, outbox))
        self._records = RecordQueue(records_path(outbox_file), cfg.store.outbox_max)
        await self._records.open()
        stack.push_async_callback(self._records.aclose)
        self._connectors = await ConnectorSet.start(
            cfg.connectors, cfg.base_dir, tuple(cfg.lookup.keys)
        )
        stack.push_async_callback(self._close_connectors)
        stack.push_async_callback(self._tasks.aclose)

    async def _open_pipeline(self, runtimes: CallRuntimes, stack: AsyncExitStack) -> None:
        """The call store and the pipeline, its writer and its intake running."""
        self.calls = MemoryCallStore()
        self.writeback = await stack.enter_async_context(
            Writeback(
                self._records,
                lambda: recorders_of(self.live.lookup.connectors),
                status_teller(self.hub),
            )
        )
        pipeline = assemble(
            PipelineParts(
                live=self.live,
                calls=self.calls,
                runtimes=runtimes,
                hub=self.hub,
                board=self._board_state,
                board_feed=self._board_feed,
                store=self.store,
                writer=self.writer,
                metrics=self.metrics,
                tasks=self._tasks,
                writeback=self.writeback,
            )
        )
        self._intake = await stack.enter_async_context(pipeline.intake)
        self.actions, self.audit = pipeline.actions, pipeline.audit

    def _build_desk(self, presence: Presence) -> DeskService:
        self.metrics.registry.register(LiveFigures(self.sources, self._cache, self.board))
        self.metrics.registry.register(WriterFigures(self.writer))
        self.metrics.registry.register(RecordFigures(self.writeback))
        return DeskService(
            DeskParts(
                live=self.live,
                actions=self.actions,
                emit=self.emit,
                hub=self.hub,
                metrics=self.metrics,
                board=self._board_state,
                board_feed=self._board_feed,
                presence=presence,
                sources=self.sources,
                statuses=self.statuses,
                cache=self._cache,
                store=self.store,
                writer=self.writer,
                writeback=self.writeback,
                reload=self.reload,
                audit=self.audit,
                cluster=self.cluster,
                callbacks=wire_callbacks(self, presence, self._tasks, self._stack),
                reporter=self._reporter,
            )
        )

    async def _open_board(self, cfg: Settings, runtimes: CallRuntimes, presence: Presence) -> None:
        """The board, refilled with today's figures from the call log, and its feed."""
        self.board = board_for(
            cfg.board, cfg.ui, functools.partial(caller_info, self.live, runtimes)
        )
        self._board_state = MemoryBoardState(self.board)
        if self.cluster is not None:  # every node applies every node's board changes
            self._board_state = self.cluster.share_board(self._board_state)
        await self._configure_board(cfg)
        await refill_today(self._board_state, self.store, self.board.tz)
        self._board_feed = BoardFeed(
            self._board_state, self.hub.publish, presence.board_watchers, self._tasks
        )
        if self.cluster is not None:
            self.cluster.on_board_change(self._board_feed.changed)

    async def _configure_board(self, cfg: Settings) -> None:
        agents = [(a.id, a.name) for a in self.live.directory.all() if a.extensions]
        await configure_board(self._board_state, cfg.board, cfg.ui, agents)

    def _make_lookup(self, connectors: ConnectorSet, cfg: Settings) -> Lookup:
        claims = self.cluster.claims if self.cluster is not None else None
        return Lookup(
            connectors.runtimes,
            self._cache,
            cfg.cache,
            self._revalidator,
            metrics=self.metrics,
            claims=claims,
        )

    async def _close_connectors(self) -> None:
        await self._connectors.aclose()

    async def reload(self, path: Path | None = None) -> str:
        """Re-read the config, swap connectors, agents and roles in place, apply `[logging]`.

        The new config is validated completely, and its connectors started, before anything is
        swapped; on any error a ConfigError says why and the old config keeps running. Agents stay
        connected and calls in progress are kept. Returns a one-line summary.
        """
        path = path or self.config_path
        if path is None:
            raise ConfigError("this daemon was not started from a config file: nothing to reload")
        new = load_settings(path)
        connectors = await ConnectorSet.start(new.connectors, new.base_dir, tuple(new.lookup.keys))
        notes = restart_only_changes(self.settings, new)
        old_connectors, old = self._connectors, self.settings
        self._connectors = connectors
        self.live.swap(new, AgentDirectory(new.agents), self._make_lookup(connectors, new))
        self.statuses.book.forget({agent.id for agent in self.live.directory.all()})
        await self._configure_board(new)
        self._board_feed.changed()
        if new.logging != old.logging:
            notes.append(self._log_setup.reapply(new.logging.level, new.logging.format))
        grace = max((c.late_ms for c in old.connectors), default=0) / 1000 + 1.0
        self._tasks.spawn(close_later(old_connectors, grace), name="close old connectors")
        summary = (
            f"reloaded {path}: {len(new.connectors)} connectors, {len(new.agents)} agents, "
            f"{len(new.roles)} roles" + "".join(f"; {n}" for n in notes)
        )
        log.info("%s", summary)
        return summary

    # -- what the sources and the tests drive ----------------------------------------------

    def emit(self, event: SourceEvent) -> None:
        """Take one event from a source. Never blocks and never raises into the source."""
        if isinstance(event, AgentStatusEvent):
            self.statuses.emit(event)
        else:
            self._intake.emit(event)

    def metrics_text(self) -> bytes:
        return self.desk.metrics_text()

    async def run_sources(self) -> None:
        """Run every telephony source until cancelled."""
        async with asyncio.TaskGroup() as tg:
            for name, source in self.sources.items():
                tg.create_task(source.run(self.emit), name=f"source {name}")

    # -- serving ----------------------------------------------------------------------------

    async def serve(self, on_ready: Callable[[int], None] = lambda port: None) -> None:
        """Serve the web app and run the sources until cancelled; then stop in order (web)."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self._reload_on_signal)
        try:
            async with self.web() as port:
                # What start-up built lives as long as the daemon: out of every collector pass;
                # what lives a while after it joins it (screenpop.heap).
                gc.freeze()
                self._tasks.spawn(self._heap.run(), name="heap keeper")
                on_ready(port)
                await self.run_sources()
                await asyncio.Event().wait()
        finally:
            gc.unfreeze()  # stopped: what it held may be collected again (tests, embedders)
            loop.remove_signal_handler(signal.SIGHUP)

    def _reload_on_signal(self) -> None:
        async def reload() -> None:
            try:
                await self.reload()
            except ScreenpopError as exc:
                log.error("reload refused, the running config stays: %s", exc)

        self._tasks.spawn(reload(), name="reload")

    @contextlib.asynccontextmanager
    async def web(self) -> AsyncIterator[int]:
        """Serve the web app on the configured host and port; yields the bound port. On the way
        out: no new connection, what the tabs are owed goes out (at most STOP_DRAIN_S), then they
        close as going away (1001). A second cancel (signal) cuts the wait short."""
        server = self.settings.server
        drain = functools.partial(settle, self._intake, self.runtimes, self.hub, STOP_DRAIN_S)
        async with serve_web(self.desk, server.host, server.port, drain, self.demo_dir) as port:
            self.web_port = port
            yield port
