"""Transfers and consultation calls for the AMI table. No I/O.

Blind transfer (`BlindTransfer`, Asterisk 12+): TRANSFERRED to the `Extension`, and to the device
the transferee then dials once it rings. If the transferer was the call's first channel (the
caller transferred the agent to someone else), the transferee's channel becomes the caller's
side of the call, so the call ends when the people still talking hang up.

Attended transfer: an agent (or the caller) puts the call on hold and calls someone else: the
*consultation call*. A phone's own transfer key makes it a separate call with a Linkedid of its
own, from a device that is already up in another call; the person it rings is a colleague being
asked, not a customer calling, so a consultation call is never reported (no pop "from 201").
It is told apart at its first dial: its calling device is the device of a channel that answered
another live call (`SIP/150010002-0000002e` while `SIP/150010002-0000002d` is up), or it is the
first channel of another answered call with the same caller id (the caller consults). That second
test is not made when either call is in a queue: a queue's caller is a customer on a trunk, and
two customers calling at once from one company's main number share the trunk device and the
caller id.
Real `AttendedTransfer` events with `DestType: Bridge` may carry no `Transferee*` or
`TransferTarget*` fields at all; the target is then the device that answered the consultation
call named by `SecondTransfererLinkedid` (the last answered leg that is no Local channel and not
a transferer). TRANSFERRED(target) goes to the original call (`TransfereeLinkedid`, else
`OrigTransfererLinkedid`); the consultation call is forgotten.

Known limit: outside queues, a direct inbound call on a trunk device from the same number as
another answered call on that device is still taken for a consultation call (an agent on an
outbound call through that trunk, or a second direct call from one main number). Different
numbers are told apart.
"""

from __future__ import annotations

from screenpop.events import CallEvent, EventKind
from screenpop.telephony.asterisk.calls import CallTable
from screenpop.telephony.asterisk.callstate import CallState, device_of, is_local, known
from screenpop.telephony.asterisk.protocol import Message


def classify(table: CallTable, call: CallState, msg: Message) -> None:
    """Decide, at a call's first dial from its caller channel, whether it is a consultation."""
    call.checked = True
    device = device_of(msg.get("Channel"))
    number = known(msg.get("CallerIDNum")) or call.root_num
    for other in table.calls.values():
        if other is call or other.consult_of is not None or not other.answered:
            continue
        if _busy_device(other, device, number, queued=call.queued or other.queued):
            table.mark_consult(call, other)
            return


def _busy_device(other: CallState, device: str, number: str, *, queued: bool) -> bool:
    """`device` is up in `other` as its agent, or as its caller with the same caller id. The
    second only counts outside queues: a queue's caller is a customer on a trunk, and two
    customers calling from one main number share the trunk and the caller id."""
    if any(device_of(channel) == device for channel in other.answered_legs.values()):
        return True
    if queued:
        return False
    same_root = bool(other.caller_chan) and device_of(other.caller_chan) == device
    return same_root and bool(number) and number == other.root_num


def _find(table: CallTable, msg: Message, keys: tuple[str, ...]) -> CallState | None:
    for key in keys:
        call = table.calls.get(msg.get(key))
        if call is not None and call.consult_of is None:
            return call
    return None


def blind(table: CallTable, msg: Message) -> list[CallEvent]:
    """`BlindTransfer` -> TRANSFERRED(`Extension`); the next device that rings is the agent."""
    if msg.get("Result").lower() != "success":
        return []
    call = _find(table, msg, ("TransfereeLinkedid", "TransfererLinkedid"))
    if call is None:
        return []
    transferee = msg.get("TransfereeUniqueid")
    if msg.get("TransfererUniqueid") == call.caller_uid and transferee:
        table.move_caller_channel(call, transferee, msg.get("TransfereeChannel"))
    call.transfer_pending = True
    call.ringing.clear()
    call.dialled.clear()
    extension = msg.get("Extension")
    return [table.event(call, EventKind.TRANSFERRED, extension)] if extension else []


def attended(table: CallTable, msg: Message) -> list[CallEvent]:
    """`AttendedTransfer` -> TRANSFERRED(target) on the original call."""
    if msg.get("Result").lower() != "success":
        return []
    call = _find(table, msg, ("TransfereeLinkedid", "OrigTransfererLinkedid"))
    consult = table.calls.get(msg.get("SecondTransfererLinkedid"))
    if call is None:
        call = _find(table, msg, ("SecondTransfererLinkedid",))
    if call is None:
        return []
    target = known(msg.get("TransferTargetChannel"))
    if target is None:
        target = _consult_target(consult or call, msg)
    if target is None:
        target = known(msg.get("SecondTransfererConnectedLineNum"))
    if consult is not None and consult is not call:
        table.close(consult)
    if target is None:
        return []
    _hand_over(table, call, msg)
    call.answered, call.transfer_pending = True, False
    call.ringing.clear()
    call.dialled.clear()
    return [table.event(call, EventKind.TRANSFERRED, target)]


def _consult_target(consult: CallState, msg: Message) -> str | None:
    """The device that answered the consultation call (no Local half, no transferer)."""
    transferers = {msg.get("OrigTransfererChannel"), msg.get("SecondTransfererChannel")}
    candidates = [c for c in consult.answered_legs.values() if c and c not in transferers]
    real = [c for c in candidates if not is_local(c)]
    if real:
        return real[-1]
    return candidates[-1] if candidates else None


def _hand_over(table: CallTable, call: CallState, msg: Message) -> None:
    """If the transferer was the caller's channel, the call's other party takes its place."""
    if msg.get("OrigTransfererUniqueid") != call.caller_uid:
        return
    transferee = msg.get("TransfereeUniqueid")
    if transferee:
        table.move_caller_channel(call, transferee, msg.get("TransfereeChannel"))
        return
    legs = [(uid, ch) for uid, ch in call.answered_legs.items() if not is_local(ch)]
    legs = legs or list(call.answered_legs.items())
    if legs:
        table.move_caller_channel(call, *legs[0])
