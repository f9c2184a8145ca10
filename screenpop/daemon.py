"""The composition root: builds every part from the settings and wires them together.

Event path (all on one event loop, nothing on it blocks): a source calls :meth:`Daemon.emit` ->
the call tracker returns effects -> a card build starts at first sight of the caller -> each
agent's pop, call-state and card messages go through that call's :class:`Courier`, which keeps
them in order and waits (bounded by the connectors' deadlines) for the card before a pop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from screenpop.agents import AgentDirectory
from screenpop.board import Board
from screenpop.board_feed import BoardFeed
from screenpop.cache import Cache, Revalidator, open_cache
from screenpop.callerid import CallerId
from screenpop.calls import CallTracker
from screenpop.card import Card
from screenpop.connectors.registry import ConnectorSet
from screenpop.desk import DeskParts, DeskService
from screenpop.errors import ConfigError, ScreenpopError
from screenpop.events import CallEvent
from screenpop.hub import Hub
from screenpop.lookup import Lookup
from screenpop.metrics import Metrics
from screenpop.pops import PopService
from screenpop.presence import Presence
from screenpop.settings import RoleSettings, Settings, load_settings
from screenpop.store import Store
from screenpop.tasks import TaskOwner
from screenpop.telephony.base import (
    Source,
    SourceContext,
    find_source_kind,
)

log = logging.getLogger(__name__)


class Daemon:
    """Everything the daemon runs. Use as ``async with Daemon(settings) as daemon:``.

    What the web layer may do goes through :attr:`desk` (built once everything is open).
    """

    desk: DeskService

    def __init__(self, settings: Settings, config_path: Path | None = None) -> None:
        self.settings = settings
        self.config_path = config_path  # re-read on SIGHUP and POST /admin/reload
        self.directory = AgentDirectory(settings.agents)
        self.metrics = Metrics()
        self.hub = Hub(settings.server.replay_buffer, settings.server.outbound_queue)
        self.sources: dict[str, Source] = {}
        self.cache: Cache | None = None
        self.store: Store | None = None
        self._stack = AsyncExitStack()
        self._tasks = TaskOwner()
        self.presence = Presence(
            lambda agent_id: self.pops.directory.get(agent_id),
            lambda agent: self.pops.role(agent.role).board,
        )
        self._connectors = ConnectorSet([])
        self._revalidator: Revalidator | None = None
        self.board = Board(
            settings.board.service_level_s, settings.board.wrap_up_s, self._caller_info
        )
        self.board.set_agents((a.id, a.name) for a in self.directory.all() if a.extensions)
        self.board_feed = BoardFeed(self.board, self.hub.publish, self.presence.board_watchers)
        self.pops = PopService(
            settings,
            self.directory,
            self.hub,
            self.metrics,
            self.board,
            self.board_feed,
            self._tasks,
        )
        self.web_port: int | None = None

    @property
    def lookup(self) -> Lookup | None:
        """The current fan-out (replaced on reload)."""
        return self.pops.lookup

    @property
    def tracker(self) -> CallTracker:
        return self.pops.tracker

    # -- life cycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Daemon:
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.board_feed.close()
        self.hub.close_all()
        await self._tasks.aclose()
        await self._connectors.aclose()
        await self._stack.aclose()

    async def _open(self) -> None:
        cfg = self.settings
        cache = open_cache(cfg.cache.url, cfg.cache.key_prefix, cfg.cache.timeout_ms / 1000)
        self._stack.push_async_callback(cache.aclose)
        self.cache = cache
        revalidator = self._revalidator = Revalidator()
        self._stack.push_async_callback(revalidator.aclose)
        store = Store(resolve_url(cfg.store.url, cfg.base_dir))
        await store.start()
        self._stack.push_async_callback(store.aclose)
        self.store = self.pops.store = store
        await self._rebuild_board(store)
        self._connectors = await ConnectorSet.start(cfg.connectors, cfg.base_dir)
        self.pops.lookup = self._make_lookup(self._connectors, cfg)
        self.sources = self._build_sources()
        self.desk = DeskService(
            DeskParts(
                pops=self.pops,
                hub=self.hub,
                metrics=self.metrics,
                board=self.board,
                board_feed=self.board_feed,
                presence=self.presence,
                sources=self.sources,
                readiness=self.readiness,
                metrics_text=self.metrics_text,
                reload=self.reload,
            )
        )

    def _make_lookup(self, connectors: ConnectorSet, cfg: Settings) -> Lookup:
        assert self.cache is not None and self._revalidator is not None
        return Lookup(
            connectors.runtimes, self.cache, cfg.cache, self._revalidator, metrics=self.metrics
        )

    async def _rebuild_board(self, store: Store) -> None:
        midnight = dt.datetime.combine(dt.date.today(), dt.time()).timestamp()
        try:
            records = await store.calls_since(midnight)
        except ScreenpopError as exc:
            log.warning("board: today's calls could not be read from the call log: %s", exc)
            return
        self.board.rebuild(dataclasses.asdict(r) for r in records)

    async def reload(self, path: Path | None = None) -> str:
        """Re-read the config and swap connectors, agents and roles in place.

        The new config is validated completely, and its connectors started, before anything is
        swapped; on any error a ConfigError says why and the old config keeps running. Agents stay
        connected and calls in progress are kept. Returns a one-line summary.
        """
        path = path or self.config_path
        if path is None:
            raise ConfigError("this daemon was not started from a config file: nothing to reload")
        new = load_settings(path)
        connectors = await ConnectorSet.start(new.connectors, new.base_dir)
        notes = self._restart_only_changes(new)
        old_connectors, old = self._connectors, self.settings
        self.settings, self._connectors = new, connectors
        self.directory = AgentDirectory(new.agents)
        self.pops.swap(new, self.directory, self._make_lookup(connectors, new))
        self.board.service_level_s = new.board.service_level_s
        self.board.wrap_up_s = new.board.wrap_up_s
        self.board.set_agents((a.id, a.name) for a in self.directory.all() if a.extensions)
        self.board_feed.changed()
        grace = max((c.late_ms for c in old.connectors), default=0) / 1000 + 1.0
        self._tasks.spawn(self._close_later(old_connectors, grace), name="close old connectors")
        summary = (
            f"reloaded {path}: {len(new.connectors)} connectors, {len(new.agents)} agents, "
            f"{len(new.roles)} roles" + "".join(f"; {n}" for n in notes)
        )
        log.info("%s", summary)
        return summary

    def _restart_only_changes(self, new: Settings) -> list[str]:
        old = self.settings
        notes = []
        for section in ("server", "cache", "store", "telephony"):
            if getattr(old, section) != getattr(new, section):
                notes.append(f"[{section}] changed: takes effect after a restart")
                log.warning("reload: [%s] changed; it takes effect after a restart", section)
        return notes

    @staticmethod
    async def _close_later(connectors: ConnectorSet, delay_s: float) -> None:
        try:
            await asyncio.sleep(delay_s)  # lookups already running on them finish first
        finally:
            await connectors.aclose()  # also when the daemon stops within the grace

    def _build_sources(self) -> dict[str, Source]:
        context = SourceContext(
            base_dir=self.settings.base_dir,
            default_region=self.settings.phone.default_region,
            online_agents=self.presence.online_extensions,
        )
        sources: dict[str, Source] = {}
        for entry in self.settings.telephony:
            factory = find_source_kind(entry.kind, f"telephony.{entry.name}")
            sources[entry.name] = factory(entry.name, entry.options(), context)
        return sources

    async def run_sources(self) -> None:
        """Run every telephony source until cancelled."""
        async with asyncio.TaskGroup() as tg:
            for name, source in self.sources.items():
                tg.create_task(source.run(self.emit), name=f"source {name}")

    # -- what the web app and the sources use ------------------------------------------------

    def emit(self, event: CallEvent) -> None:
        """Take one event from a source. Never blocks and never raises into the source."""
        self.pops.emit(event)

    def role(self, name: str) -> RoleSettings:
        """A role's settings; an unknown role sees no section at all."""
        return self.pops.role(name)

    def _caller_info(self, call_id: str, role: str | None) -> dict[str, Any]:
        return self.pops.caller_info(call_id, role)

    async def build_card(self, caller: CallerId, call_id: str) -> Card:
        """Build a card outside any call (API, CLI); waits for late answers too."""
        return await self.pops.build_card(caller, call_id)

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, dict[str, Any]] = {}
        for name, source in self.sources.items():
            status = source.status
            self.metrics.source_up.labels(name).set(1 if status.connected else 0)
            self.metrics.source_rejected.labels(name).set(status.rejected)
            checks[f"telephony.{name}"] = {"ok": status.logged_in, "detail": status.detail}
        checks["cache"] = await _check(self.cache.ping() if self.cache is not None else None)
        checks["store"] = await _check(self.store.ping() if self.store is not None else None)
        return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}

    def metrics_text(self) -> bytes:
        for name, source in self.sources.items():
            self.metrics.source_up.labels(name).set(1 if source.status.connected else 0)
            self.metrics.source_rejected.labels(name).set(source.status.rejected)
        if self.cache is not None:
            self.metrics.cache_errors.set(getattr(self.cache, "errors", 0))
        return self.metrics.render()

    # -- serving ----------------------------------------------------------------------------

    async def serve(self, on_ready: Callable[[int], None] = lambda port: None) -> None:
        """Serve the web app and run the sources until cancelled."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self._reload_on_signal)
        try:
            async with self.web() as port:
                on_ready(port)
                await self.run_sources()
                await asyncio.Event().wait()
        finally:
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
        """Serve the web app on the configured host and port; yields the bound port."""
        from aiohttp import web

        from agent_ui.app import build_app

        runner = web.AppRunner(build_app(self.desk), handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.server.host, self.settings.server.port)
        try:
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self.web_port = sockets[0].getsockname()[1] if sockets else self.settings.server.port
            yield self.web_port
        finally:
            await runner.cleanup()


async def _check(probe: Awaitable[None] | None) -> dict[str, Any]:
    if probe is None:
        return {"ok": False, "detail": "not started"}
    try:
        async with asyncio.timeout(2):
            await probe
    except (ScreenpopError, TimeoutError, OSError) as exc:
        return {"ok": False, "detail": str(exc) or type(exc).__name__}
    return {"ok": True, "detail": "ok"}


def resolve_url(url: str, base_dir: Path) -> str:
    """Resolve a relative SQLite path against the config file's folder."""
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and not url[len(prefix) :].startswith(("/", ":memory:")):
        return prefix + str((base_dir / url[len(prefix) :]).resolve())
    return url
