"""Re-learning calls after a (re)connect to the manager, for the AMI table. No I/O."""

from __future__ import annotations

from screenpop.events import CallEvent, EventKind
from screenpop.telephony.asterisk.calls import CallTable
from screenpop.telephony.asterisk.callstate import CallState, caller_of, known
from screenpop.telephony.asterisk.protocol import Message

STATE_RINGING = "5"
STATE_UP = "6"


def channels(table: CallTable, items: list[Message]) -> list[CallEvent]:
    """Re-learn calls from a `CoreShowChannels` list (events missed while disconnected).

    Calls we knew that have no channel left ended while we were away: ENDED. Agent legs
    still ringing ring again (RINGING); an agent leg up in a bridge answered (ANSWERED);
    agent legs we saw ringing that are gone stopped ringing (MISSED). The tracker drops the
    duplicates, so a call still ringing the same agent pops nobody twice. The caller channel's
    `ChanVariable` headers (manager.conf `channelvars`) are taken as for live events: a call
    variable set while we were away (an IVR account) reaches a call we knew as an UPDATED.
    """
    by_call: dict[str, list[Message]] = {}
    for item in items:
        if item.get("Linkedid"):
            by_call.setdefault(item.get("Linkedid"), []).append(item)
    events: list[CallEvent] = []
    for call in list(table.calls.values()):
        if call.call_id not in by_call:
            table.close(call)
            events.append(table.event(call, EventKind.ENDED))
    for call_id, channels in by_call.items():
        events.extend(_resync_call(table, call_id, channels))
    return events


def _resync_call(table: CallTable, call_id: str, channels: list[Message]) -> list[CallEvent]:
    root = next((c for c in channels if c.get("Uniqueid") == call_id), None)
    legs = [c for c in channels if c is not root and not c.get("Channel").endswith(";2")]
    if root is None and not legs:
        return []
    seen_before = call_id in table.calls
    call = table.get_call(call_id, root) if root is not None else table.get_call(call_id)
    if call is None:
        return []
    changed = [table.observe(call, c) for c in channels] if seen_before else []
    updated = [table.event(call, EventKind.UPDATED)] if any(changed) else []
    return updated + _resync_legs(table, call, root, legs)


def _resync_legs(
    table: CallTable, call: CallState, root: Message | None, legs: list[Message]
) -> list[CallEvent]:
    if call.caller is None and legs:
        call.caller, call.caller_name = caller_of(legs[0], "ConnectedLine")
    if root is not None:
        table.set_caller_channel(call, call.call_id)
    ringing = {c.get("Uniqueid"): c for c in legs if c.get("ChannelState") == STATE_RINGING}
    up = [c for c in legs if c.get("ChannelState") == STATE_UP and known(c.get("BridgeId"))]
    if call.answered:
        return []
    if up:
        call.answered = True
        call.ringing.clear()
        return [table.event(call, EventKind.ANSWERED, up[0].get("Channel"))]
    events = [
        table.event(call, EventKind.MISSED, endpoint)
        for uid, endpoint in call.ringing.items()
        if uid not in ringing
    ]
    call.ringing = {uid: c.get("Channel") for uid, c in ringing.items()}
    for uid in ringing:
        call.dialled.pop(uid, None)
    events += [table.event(call, EventKind.RINGING, ep) for ep in call.ringing.values()]
    return events


def queues(table: CallTable, entries: list[Message]) -> list[CallEvent]:
    """Re-learn waiting callers from `QueueStatus` (`QueueEntry` items): QUEUED each.

    A `QueueEntry` names the caller's channel by `Uniqueid`, not by `Linkedid`; the call id
    comes from the channels already known (live events or :meth:`resync_channels`).
    """
    events: list[CallEvent] = []
    for entry in entries:
        uid = entry.get("Uniqueid")
        call = table.get_call(table.call_of_channel(uid), entry)
        if call is None or call.answered:
            continue
        table.set_caller_channel(call, uid)
        call.queue, call.queued = entry.get("Queue") or call.queue, True
        events.append(table.event(call, EventKind.QUEUED))
    return events
