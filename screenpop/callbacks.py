"""Callbacks: callers who gave up waiting (or whom nobody answered) become items that an agent of
the queue takes, calls back and closes (README, "Callbacks").

Items are made and closed by the caller's return through the call log's writes
(:mod:`screenpop.callback_rules`, the store writer and its outbox); once the store holds such a
write (:meth:`CallbackService.written`), every online agent who sees the queue gets a fresh
`callbacks` snapshot (coalesced, at most a few a second, one read of the store each). What
agents do (take, release, dial, close) is answered by the store at once
(:class:`~screenpop.store.callbacks.CallbackStore`: of two agents taking one item, one wins) and
the changed item goes to everyone who sees it as a `callback` message.

Who sees an item: an agent whose `[[agents]] queues` lists its queue (every queue when they
have none), and every agent whose role watches the board. In cluster mode the items live in the
shared store, and each change is also told to the other nodes (:attr:`CallbackService.share`),
which pass it to the agents whose tabs they hold.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from screenpop.agents import Agent
from screenpop.callerid import mask
from screenpop.delivery.hub import Hub
from screenpop.delivery.inbound import (
    CallbackAction,
    CallbackClose,
    CallbackDial,
    CallbackRelease,
    CallbackTake,
)
from screenpop.delivery.outbound import CallbackMessage, CallbacksMessage
from screenpop.delivery.wire import Encoded
from screenpop.errors import ScreenpopError
from screenpop.pipeline.live import LiveConfig
from screenpop.store.callback_table import CallbackRecord, CallbackReturn
from screenpop.store.callbacks import CallbackItem, CallbackStore, Refused
from screenpop.store.schema import Write
from screenpop.tasks import TaskOwner

log = logging.getLogger(__name__)

MAX_RATE_HZ = 4.0
Dial = Callable[[str, str], Awaitable[str]]  # (agent id, number) -> the new call's id
Share = Callable[[dict[str, Any]], None]


class CallbackService:
    """The callbacks of every queue. `online()` lists the agents with a page open on this node;
    `dial` is click-to-dial. Call :meth:`close` before `tasks` closes."""

    def __init__(
        self,
        store: CallbackStore,
        live: LiveConfig,
        hub: Hub,
        online: Callable[[], Iterable[Agent]],
        tasks: TaskOwner,
        registry: CollectorRegistry,
        dial: Dial,
        max_rate_hz: float = MAX_RATE_HZ,
    ) -> None:
        self.store = store
        self._live = live
        self._hub = hub
        self._online = online
        self._tasks = tasks
        self._dial = dial
        self.share: Share = lambda change: None  # cluster mode: tell the other nodes
        self._interval = 1.0 / max_rate_hz
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        # the callers with open or taken items as last read (None: not read yet), so that a
        # caller without any, answered, costs no refresh
        self._numbers: set[str] | None = None
        self.events = Counter(
            "screenpop_callbacks_total",
            "Callback items by event: created, returned (the caller called again and was"
            " answered), taken, released, dialled, closed, refused (an agent's action refused)",
            ["event"],
            registry=registry,
        )
        self.refusals = Counter(
            "screenpop_callback_refusals_total",
            "Agents' callback actions refused, by reason: taken (by another agent), closed,"
            " not_yours, unknown (no such item), queue (not the agent's queue), disposition",
            ["reason"],
            registry=registry,
        )

    # -- who sees what ----------------------------------------------------------------------

    def sees(self, agent: Agent, queue: str) -> bool:
        """True when `agent` sees the callback items of `queue`."""
        return self._live.role(agent.role).board or agent.sees_queue(queue)

    # -- snapshots --------------------------------------------------------------------------

    async def send_to(self, agent: Agent, always: bool = True) -> None:
        """A tab connected or resumed: give the agent their items now. Without `always` (a new
        tab, or one its replay brought up to date), only when there are some to show."""
        items = await self._read()
        if items is None:
            return
        if always or any(self.sees(agent, item.queue) for item in items):
            await self._hub.publish(agent.id, self._snapshot(agent, items))

    async def prime(self) -> None:
        """Learn which callers have items (run once at start, before the first calls)."""
        await self._read()

    def written(self, writes: Sequence[Write]) -> None:
        """The store writer stored `writes`: new items or a caller's return refresh the pages."""
        made = [w.e164 for w in writes if isinstance(w, CallbackRecord)]
        known = self._numbers
        returned = sum(
            1
            for w in writes
            if isinstance(w, CallbackReturn) and (known is None or w.e164 in known)
        )
        if known is not None:
            known.update(made)
        if made:
            self.events.labels("created").inc(len(made))
        if returned:
            self.events.labels("returned").inc(returned)
        if made or returned:
            self.changed()
            self.share({"kind": "refresh"})

    def changed(self) -> None:
        """Items were made or closed: send every online agent a fresh snapshot soon."""
        if self._closed or self._timer is not None:
            return
        delay = max(0.0, self._last + self._interval - time.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self._flush)

    def _flush(self) -> None:
        self._timer = None
        self._last = time.monotonic()
        self._tasks.spawn(self._publish_all(), name="callbacks flush")

    async def _publish_all(self) -> None:
        agents = list(self._online())
        if not agents:
            return
        items = await self._read()
        if items is None:
            return
        built: dict[tuple[str, ...] | None, Encoded] = {}  # one encode per view of the items
        for agent in agents:
            view = self._view(agent)
            if view not in built:
                built[view] = self._snapshot(agent, items)
            await self._hub.publish(agent.id, built[view])

    def _view(self, agent: Agent) -> tuple[str, ...] | None:
        """What decides which items the agent sees: None for every queue."""
        if self._live.role(agent.role).board or agent.queues is None:
            return None
        return agent.queues

    def _snapshot(self, agent: Agent, items: Sequence[CallbackItem]) -> Encoded:
        shown = [item.to_json() for item in items if self.sees(agent, item.queue)]
        return Encoded.of(CallbacksMessage(shown))

    async def _read(self) -> list[CallbackItem] | None:
        try:
            items = await self.store.open_items()
        except ScreenpopError as exc:
            log.warning("callbacks: the items could not be read: %s", exc)
            return None
        self._numbers = {item.e164 for item in items}
        return items

    # -- what agents do ---------------------------------------------------------------------

    async def act(self, agent: Agent, action: CallbackAction) -> CallbackItem:
        """Carry out an agent's action; the changed item goes to everyone who sees it.
        Refused (a ValueError, counted) when the item's state or queue does not allow it;
        StoreError when the store does not answer; the dialer's errors for a dial."""
        try:
            item = await self._act(agent, action)
        except Refused as exc:
            self.events.labels("refused").inc()
            self.refusals.labels(exc.reason).inc()
            log.info("agent %s: %s %s refused: %s", agent.id, action.type, action.id, exc)
            raise
        await self.publish_item(item.to_json())
        self.share({"kind": "item", "item": item.to_json()})
        return item

    async def _act(self, agent: Agent, action: CallbackAction) -> CallbackItem:
        found = await self.store.get(action.id)
        if found is None:
            raise Refused("unknown callback", "unknown")
        if not self.sees(agent, found.queue):
            raise Refused(f"not your queue ({found.queue})", "queue")
        now = time.time()
        match action:
            case CallbackTake():
                item = await self.store.take(action.id, agent.id, now)
                self.events.labels("taken").inc()
            case CallbackRelease():
                item = await self.store.release(action.id, agent.id)
                self.events.labels("released").inc()
            case CallbackDial():
                item = await self._call_back(agent, action.id)
            case CallbackClose(disposition=disposition):
                if disposition not in self._live.settings.ui.dispositions:
                    raise Refused(f"unknown disposition {disposition!r}", "disposition")
                item = await self.store.close(action.id, agent.id, disposition, now)
                self.events.labels("closed").inc()
        return item

    async def _call_back(self, agent: Agent, item_id: int) -> CallbackItem:
        """Dial the caller of the agent's item; the new call is linked to it."""
        item = await self.store.check_mine(item_id, agent.id)
        call_id = await self._dial(agent.id, item.e164)
        linked = await self.store.called_back(item_id, agent.id, call_id, time.time())
        self.events.labels("dialled").inc()
        log.info("call %s: %s calls back %s (item %s)", call_id, agent.id, mask(item.e164), item_id)
        return linked

    async def publish_item(self, item: Mapping[str, Any]) -> None:
        """Send one changed item to this node's online agents who see its queue."""
        encoded = Encoded.of(CallbackMessage(dict(item)))
        for agent in list(self._online()):
            if self.sees(agent, str(item.get("queue", ""))):
                await self._hub.publish(agent.id, encoded)

    async def remote(self, change: Mapping[str, Any]) -> None:
        """Another node's change (cluster mode): pass it to this node's agents."""
        item = change.get("item")
        if change.get("kind") == "item" and isinstance(item, Mapping):
            await self.publish_item(item)
        else:
            self.changed()

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
