"""What an agent does to a call, and cards outside any call: notes, picking a candidate
customer, being popped again after a resume past the replay buffer, a card for a number."""

from __future__ import annotations

import dataclasses
from typing import Any

from screenpop.call_store import CallStore
from screenpop.callerid import CallerId
from screenpop.card import Card, find_candidates, nobody_found
from screenpop.connectors.contract import LookupQuery
from screenpop.delivery.hub import Hub
from screenpop.delivery.outbound import NoteMessage
from screenpop.lookup import CardBuild
from screenpop.pipeline.builds import CardBuilds
from screenpop.pipeline.deliveries import Deliveries
from screenpop.pipeline.live import LiveConfig
from screenpop.pipeline.records import note_item
from screenpop.pipeline.runtime import CallRuntimes
from screenpop.store import Store
from screenpop.store.call_log import make_note, note_json
from screenpop.store.writer import StoreWriter
from screenpop.writeback import Writeback


class AgentActions:
    """Agents' actions on calls; each checks that the call is the agent's (KeyError if not)."""

    def __init__(
        self,
        live: LiveConfig,
        calls: CallStore,
        runtimes: CallRuntimes,
        builds: CardBuilds,
        deliveries: Deliveries,
        store: Store,
        writer: StoreWriter,
        hub: Hub,
        writeback: Writeback | None = None,
    ) -> None:
        self._live = live
        self._calls = calls
        self._runtimes = runtimes
        self._builds = builds
        self._deliveries = deliveries
        self._store = store
        self._writer = writer
        self._hub = hub
        self._writeback = writeback

    async def save_note(
        self,
        agent_id: str,
        call_id: str,
        disposition: str,
        text: str,
        note_id: str | None = None,
    ) -> dict[str, Any]:
        """Save an agent's note on a call they were popped; every tab of theirs receives it.
        The note's ``synced`` says whether the store holds it (True) or it waits in the outbox
        (False: it will be stored once the store is back). Sending the same `note_id` again
        stores it once. KeyError when the call is not theirs or the disposition is unknown;
        StoreError when it could be neither stored nor queued."""
        call = await self._calls.load(call_id)
        if call is None or agent_id not in call.popped:
            raise KeyError(f"no call {call_id} for this agent")
        if disposition not in self._live.settings.ui.dispositions:
            raise KeyError(f"unknown disposition {disposition!r}")
        caller = self._caller(call_id)
        e164 = caller.e164 if caller is not None and caller.lookupable else None
        record = make_note(call_id, e164, agent_id, disposition, text, note_id=note_id)
        synced = await self._writer.save(record)
        note = {**note_json(record), "synced": synced}
        if self._writeback is not None:  # per recording connector: "pending" (or "failed: ...")
            note["records"] = await self._writeback.put(note_item(record, self._runtimes))
        await self._hub.publish(agent_id, NoteMessage(call_id, note))
        return note

    async def choose(self, agent_id: str, call_id: str, customer_id: str) -> None:
        """The agent picked one of the card's candidate customers. Every tab of every agent the
        call popped for gets the updated card; the choice is remembered for the number, so the
        next call from it pops straight to that customer. KeyError if not theirs or not offered."""
        build = await self._own_build(agent_id, call_id)
        card = build.card
        offered = {c["customer_id"] for c in find_candidates(card.sections, card.priorities)}
        if customer_id not in offered:
            raise KeyError(f"customer {customer_id!r} is not a candidate on this card")
        await self._remember(agent_id, call_id, build, customer_id)

    async def link(self, agent_id: str, call_id: str, customer_id: str) -> None:
        """The agent found the caller by search: this call's caller is that customer, remembered
        for the number like a candidate pick. Only for a caller no connector knows, or one whose
        number several customers share (ValueError otherwise); KeyError if not their call."""
        build = await self._own_build(agent_id, call_id)
        card = build.card
        known = {
            str(r["customer_id"])
            for s in card.sections.values()
            for r in s.records()
            if r.get("customer_id") not in (None, "")
        }
        if len(known) == 1 and customer_id not in known:
            raise ValueError("the connectors already know this caller as another customer")
        await self._remember(agent_id, call_id, build, customer_id)

    async def unknown_caller(self, agent_id: str, call_id: str) -> LookupQuery:
        """The lookup query of the agent's call whose caller no connector knows (a customer may
        be created for it). KeyError if not their call; ValueError when the caller is known (or
        still being looked up), or has no number."""
        build = await self._own_build(agent_id, call_id)
        if not nobody_found(build.card):
            raise ValueError("this caller is not unknown: a connector knows them (or is asked)")
        query = self._builds.query_for(call_id)
        if query is None:
            raise ValueError("this caller has no number to create a customer for")
        return query

    def rebuild(self, call_id: str) -> None:
        """Build the call's card again; the agents who have it get the new one."""
        self._builds.rebuild(call_id)

    async def _own_build(self, agent_id: str, call_id: str) -> CardBuild:
        call = await self._calls.load(call_id)
        runtime = self._runtimes.get(call_id)
        build = runtime.build if runtime is not None else None
        if call is None or build is None or agent_id not in call.popped:
            raise KeyError(f"no call {call_id} for this agent")
        return build

    async def _remember(
        self, agent_id: str, call_id: str, build: CardBuild, customer_id: str
    ) -> None:
        build.card = dataclasses.replace(build.card, chosen=customer_id)
        self._deliveries.card_updated(call_id, build.card)
        caller = self._caller(call_id)
        if caller is not None and caller.e164 is not None:
            await self._live.lookup.remember_choice(caller.e164, customer_id)
            await self._store.remember_choice(caller.e164, customer_id, agent_id)

    async def redeliver(self, agent_id: str) -> None:
        """Pop every call still active for the agent again (their missed messages are gone)."""
        self._deliveries.redeliver(agent_id, await self._calls.active_for(agent_id))

    async def build_card(self, caller: CallerId, call_id: str) -> Card:
        """Build a card outside any call (API, CLI); waits for late answers too."""
        lookup = self._live.lookup
        card = Card(call_id, {**caller.to_json(), "name": None}, {}, lookup.priorities)
        build = CardBuild(card, lambda updated: None)
        await self._builds.run(build, caller)
        return build.card

    def _caller(self, call_id: str) -> CallerId | None:
        runtime = self._runtimes.get(call_id)
        return runtime.caller if runtime is not None else None
