"""The card-build lifecycle: a build starts at first sight of a call's caller, starts again when
the caller or the call's lookup keys (IVR data) change (the old one stops and speaks to nobody),
passes late updates on, and is forgotten a grace after the call ended
(:class:`~screenpop.pipeline.runtime.CallRuntimes`).

A build runs the connectors and reads the call log at the same time: the pop never waits on SQL;
what the log knows reaches the card as soon as it is read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from screenpop.callerid import CallerId, mask, normalize
from screenpop.calls import Call
from screenpop.card import Card
from screenpop.connectors.contract import LookupQuery
from screenpop.errors import ScreenpopError
from screenpop.lookup import CardBuild
from screenpop.pipeline.live import LiveConfig
from screenpop.pipeline.runtime import CallRuntime, CallRuntimes
from screenpop.store import Store
from screenpop.tasks import TaskOwner

log = logging.getLogger(__name__)

CardUpdated = Callable[[str, Card], None]


class CardBuilds:
    """Starts, replaces and runs the card builds of calls; `on_card(call_id, card)` hears every
    update of a call's current build after its first card."""

    def __init__(
        self,
        live: LiveConfig,
        runtimes: CallRuntimes,
        store: Store,
        tasks: TaskOwner,
        on_card: CardUpdated,
    ) -> None:
        self._live = live
        self._runtimes = runtimes
        self._store = store
        self._tasks = tasks
        self._on_card = on_card

    def start(self, call: Call, *, shown: bool = False) -> None:
        """Start the call's card build; again when its caller or its lookup keys changed (the old
        build stops).
        With `shown`, agents already have the previous card: they get the new one at once."""
        runtime = self._runtimes.seen(call)
        caller = normalize(call.caller, self._live.settings.phone.default_region)
        keys = self._live.settings.lookup.values(call.variables)
        previous = runtime.caller
        if previous is not None and _same_caller(previous, caller) and keys == runtime.keys:
            return
        runtime.caller, runtime.keys = caller, keys
        lookup = self._live.lookup
        card = Card(
            call.call_id, {**caller.to_json(), "name": call.caller_name}, {}, lookup.priorities
        )
        # Bound methods of this long-lived object, never closures over the build or the runtime:
        # the build holds its callback, so a callback holding the build would make a reference
        # cycle per call, left for the collector's slow full passes.
        build = CardBuild(card, self._updated)
        runtime.build = build
        if runtime.build_task is not None:
            runtime.build_task.cancel()
        log.info(
            "call %s: caller %s (%s)%s, %s card",
            call.call_id,
            mask(caller.e164 or caller.raw),
            caller.kind,
            f" with {', '.join(sorted(keys))}" if keys else "",
            _why(previous, caller),
        )
        if keys:
            log.debug("call %s: lookup keys %s", call.call_id, keys)
        task = self._tasks.spawn(self.run(build, caller, keys), name=f"build {call.call_id}")
        runtime.build_task = task
        task.add_done_callback(lambda t: _build_done(runtime, t))
        if shown:  # a caller withheld after the pop: the number leaves the agents' screens now
            build.first.add_done_callback(self._first_shown)

    def rebuild(self, call_id: str) -> None:
        """Build the call's card again from the connectors (drop the number's cache entries
        first); every agent who has the card gets the new one as soon as it is built."""
        runtime = self._runtimes.get(call_id)
        if runtime is not None:
            runtime.caller = None
            self.start(runtime.call, shown=True)

    def query_for(self, call_id: str) -> LookupQuery | None:
        """The lookup query the call's card was built with; None for a caller without one."""
        runtime = self._runtimes.get(call_id)
        if runtime is None or runtime.caller is None:
            return None
        return self._query(runtime.caller, runtime.keys)

    def _updated(self, card: Card) -> None:
        """A card build moved on. Only the call's current build speaks: its latest card is
        `card` (a build replaced by a newer one, or forgotten, speaks to nobody)."""
        runtime = self._runtimes.get(card.call_id)
        if runtime is not None and runtime.build is not None and runtime.build.card is card:
            self._on_card(card.call_id, card)

    def _first_shown(self, first: asyncio.Future[Card]) -> None:
        """The first card of a rebuild whose agents have the old card: they get it at once."""
        if first.cancelled():
            return
        runtime = self._runtimes.get(first.result().call_id)
        build = runtime.build if runtime is not None else None
        if build is not None and build.first is first:
            self._on_card(build.card.call_id, build.card)

    async def run(
        self, build: CardBuild, caller: CallerId, keys: dict[str, str] | None = None
    ) -> None:
        """Fill `build`: the connectors and the call log at once. The connectors (and the cache)
        start first: the history read's SQL is prepared on this loop, and a cache hit must not
        wait behind it."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(build.run(self._live.lookup, self._query(caller, keys or {})))
            if caller.lookupable and caller.e164 is not None:
                tg.create_task(self._recall(build, caller.e164))

    def _query(self, caller: CallerId, keys: dict[str, str]) -> LookupQuery | None:
        """The caller's lookup query with every configured lookup key ("" when it has none)."""
        query = caller.query()
        if query is None:
            return None
        names = self._live.settings.lookup.keys
        return dataclasses.replace(query, keys={name: keys.get(name, "") for name in names})

    async def _recall(self, build: CardBuild, e164: str) -> None:
        history_size = self._live.settings.store.history_size
        try:
            history, chosen = await self._store.recall(e164, history_size + 1)
        except ScreenpopError as exc:
            log.warning("call %s: history unavailable: %s", build.card.call_id, exc)
            return
        call_id = build.card.call_id  # this call may already be in the log: not its own past
        history = [h for h in history if h.get("call_id") != call_id][:history_size]
        if history or chosen is not None:
            build.amend(history, chosen)


def caller_info(
    live: LiveConfig, runtimes: CallRuntimes, call_id: str, role: str | None
) -> dict[str, Any]:
    """How the board shows a caller: the number and the role-filtered card summary.

    Every board update asks it for every waiting caller and each role watching, so it is made
    once per card and role and kept on the call's runtime until the card or the role changes.
    Treat the answer as read-only: snapshots share it.
    """
    runtime = runtimes.get(call_id)
    if runtime is None or runtime.build is None:
        return {"caller": None, "caller_name": None, "summary": {}}
    card = runtime.build.card
    settings = live.role(role) if role else None
    kept = runtime.board_info.get(role)
    if kept is not None and kept[0] is card and kept[1] is settings:
        return kept[2]
    info = _board_caller(card.to_json(settings))
    runtime.board_info[role] = (card, settings, info)
    return info


def _board_caller(card: dict[str, Any]) -> dict[str, Any]:
    caller = card["caller"]
    shown = "number withheld" if caller.get("kind") != "number" else caller.get("national")
    return {"caller": shown, "caller_name": caller.get("name"), "summary": card["summary"]}


def _build_done(runtime: CallRuntime, task: asyncio.Task[Any]) -> None:
    if runtime.build_task is task:
        runtime.build_task = None


def _why(previous: CallerId | None, caller: CallerId) -> str:
    if previous is None:
        return "building"
    if _same_caller(previous, caller):
        return "lookup keys changed, rebuilding"
    return "caller changed, rebuilding"


def _same_caller(a: CallerId, b: CallerId) -> bool:
    """Two spellings of one caller (`201` twice, or `+31...` and `0...`) need no second lookup."""
    if a.kind != b.kind:
        return False
    if a.e164 is not None or b.e164 is not None:
        return a.e164 == b.e164 and a.extension == b.extension
    return a.kind == "withheld" or a.raw == b.raw
