"""The write-back items of a call: one per saved note, one at its end (`<call_id>:end`), with
the customer its card settled on, and the agents' tabs told how each note's write-back stands."""

from __future__ import annotations

from datetime import UTC, datetime

from screenpop.calls import Call
from screenpop.card import Card
from screenpop.connectors.contract import RecordItem
from screenpop.delivery.hub import Hub
from screenpop.delivery.outbound import RecordMessage
from screenpop.pipeline.runtime import CallRuntimes
from screenpop.store.schema import NoteRecord
from screenpop.writeback import Notify, RecordStatus


def iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat()


def customer_of(card: Card | None) -> str | None:
    """The customer the card is about: the one picked, else the only one it found."""
    if card is None:
        return None
    if card.chosen is not None:
        return card.chosen
    found = {
        str(r["customer_id"])
        for s in card.sections.values()
        for r in s.records()
        if r.get("customer_id") not in (None, "")
    }
    return found.pop() if len(found) == 1 else None


def _card(runtimes: CallRuntimes, call_id: str) -> Card | None:
    runtime = runtimes.get(call_id)
    return runtime.build.card if runtime is not None and runtime.build is not None else None


def note_item(note: NoteRecord, runtimes: CallRuntimes) -> RecordItem:
    """A saved note as a write-back (its id is the record id)."""
    runtime = runtimes.get(note.call_id)
    call = runtime.call if runtime is not None else None
    return RecordItem(
        record_id=note.note_id,
        kind="note",
        call_id=note.call_id,
        e164=note.caller_e164,
        customer_id=customer_of(_card(runtimes, note.call_id)),
        agent=note.agent_id,
        disposition=note.disposition,
        text=note.text,
        at=iso(note.at),
        direction=None if call is None else ("outbound" if call.outbound else "inbound"),
        queue=None if call is None else call.queue,
    )


def call_end_item(call: Call, e164: str | None, runtimes: CallRuntimes) -> RecordItem:
    """A call's end as a write-back: its outcome (`disposition`: the final state) and talk time."""
    talk_s = None
    if call.answered_at is not None and call.ended_at is not None:
        talk_s = round(max(0.0, call.ended_at - call.answered_at), 3)
    return RecordItem(
        record_id=f"{call.call_id}:end",
        kind="call_end",
        call_id=call.call_id,
        e164=e164,
        customer_id=customer_of(_card(runtimes, call.call_id)),
        agent=call.agent,
        disposition=str(call.state),
        at=iso(call.ended_at),
        direction="outbound" if call.outbound else "inbound",
        queue=call.queue,
        talk_s=talk_s,
    )


def status_teller(hub: Hub) -> Notify:
    """A `notify` for the write-back: each note's state to every tab of its agent."""

    async def tell(status: RecordStatus) -> None:
        item = status.item
        if item.kind != "note" or item.agent is None:
            return
        message = RecordMessage(
            item.call_id, item.record_id, status.connector, status.state, status.error
        )
        await hub.publish(item.agent, message)

    return tell
