"""A little Asterisk: builds AMI event packets in the shape of the real captures.

:class:`Pbx` keeps the channels that exist (for `CoreShowChannels`) and the callers waiting in
queues (for `QueueStatus`), and each method returns the packets Asterisk 22 sends for that step,
with the fields and the order seen in `tests/fixtures/ami/` (channel snapshot fields, `Dest*`
fields on dial and agent events, `Answered elsewhere` hangups for ring-all losers) and, for what
the captures do not show (no answer, abandon, transfers, Local channels), the fields of Asterisk's
AMI event documentation. With `channelvars` (manager.conf's option of that name), every event
and `CoreShowChannel` item of a channel carries a `ChanVariable: NAME=value` header for each of
those variables set on it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from screenpop.telephony.asterisk.protocol import encode_message

Fields = list[tuple[str, str]]
STATE_DESC = {"0": "Down", "4": "Ring", "5": "Ringing", "6": "Up"}


@dataclass
class Chan:
    name: str
    uid: str
    linkedid: str
    num: str
    cid_name: str
    context: str
    exten: str = "s"
    state: str = "0"
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    bridge: str = ""
    app: str = ""
    chanvars: dict[str, str] = field(default_factory=dict)  # the `channelvars` set on it


def snapshot(ch: Chan, prefix: str = "") -> Fields:
    return [
        (f"{prefix}Channel", ch.name),
        (f"{prefix}ChannelState", ch.state),
        (f"{prefix}ChannelStateDesc", STATE_DESC.get(ch.state, "Unknown")),
        (f"{prefix}CallerIDNum", ch.num),
        (f"{prefix}CallerIDName", ch.cid_name),
        (f"{prefix}ConnectedLineNum", ch.connected_num),
        (f"{prefix}ConnectedLineName", ch.connected_name),
        (f"{prefix}Language", "en"),
        (f"{prefix}AccountCode", ""),
        (f"{prefix}Context", ch.context),
        (f"{prefix}Exten", ch.exten),
        (f"{prefix}Priority", "1"),
        (f"{prefix}Uniqueid", ch.uid),
        (f"{prefix}Linkedid", ch.linkedid),
        *[(f"{prefix}ChanVariable", f"{name}={value}") for name, value in ch.chanvars.items()],
    ]


def packet(fields: Fields) -> bytes:
    """One message on the wire, written by the product's own encoder."""
    return encode_message(fields)


@dataclass
class Call:
    caller: Chan
    queue: str | None = None
    legs: dict[str, Chan] = field(default_factory=dict)  # agent device -> its leg
    inner: dict[str, Chan] = field(default_factory=dict)  # Local;2 half -> device leg


class Pbx:
    """Channels and queues of a pretend Asterisk; methods return the packets for each step."""

    def __init__(
        self, system: str = "", start: int = 1795351021, channelvars: tuple[str, ...] = ()
    ) -> None:
        self.channelvars = channelvars
        self._prefix = f"{system}-" if system else ""
        self._start = start
        self._ids = itertools.count(53)
        self._chan_seq = itertools.count(0x2F)
        self._bridges = itertools.count(1)
        self.channels: dict[str, Chan] = {}  # uniqueid -> live channel
        self.waiting: dict[str, tuple[str, Chan]] = {}  # uniqueid -> (queue, caller channel)

    # -- plumbing -------------------------------------------------------------------------------

    def _uid(self) -> str:
        return f"{self._prefix}{self._start}.{next(self._ids)}"

    def _chan(self, device: str, linkedid: str | None, num: str, name: str, ctx: str) -> Chan:
        uid = self._uid()
        if device.startswith("Local/"):
            chan_name = f"{device}-{next(self._chan_seq):08x};1"
        else:
            chan_name = f"{device}-{next(self._chan_seq):08x}"
        ch = Chan(chan_name, uid, linkedid or uid, num, name, ctx)
        self.channels[uid] = ch
        return ch

    def _event(self, name: str, privilege: str, fields: Fields) -> bytes:
        return packet([("Event", name), ("Privilege", privilege), ("Timestamp", "1.0"), *fields])

    def core_show_channels(self) -> list[Fields]:
        out: list[Fields] = []
        for ch in self.channels.values():
            extra = [("BridgeId", ch.bridge), ("Application", ch.app), ("ApplicationData", "")]
            out.append([*snapshot(ch), *extra, ("Duration", "00:00:05")])
        return out

    def queue_entries(self) -> list[Fields]:
        out: list[Fields] = []
        for position, (queue, ch) in enumerate(self.waiting.values(), start=1):
            out.append(
                [
                    ("Queue", queue),
                    ("Position", str(position)),
                    ("Channel", ch.name),
                    ("Uniqueid", ch.uid),
                    ("CallerIDNum", ch.num),
                    ("CallerIDName", ch.cid_name),
                    ("ConnectedLineNum", "<unknown>"),
                    ("ConnectedLineName", "<unknown>"),
                    ("Wait", "4"),
                    ("Priority", "0"),
                ]
            )
        return out

    # -- a caller arrives -----------------------------------------------------------------------

    def inbound(self, num: str, name: str, did: str = "5000") -> tuple[Call, list[bytes]]:
        ch = self._chan("PJSIP/carrier", None, num, name, "from-carrier")
        ch.state, ch.exten = "4", did
        out = [self._event("Newchannel", "call,all", snapshot(ch))]
        out.append(self._var(ch, "SIPDOMAIN", "127.0.0.1"))
        ch.state, ch.context, ch.app = "6", "inbound", "Queue"
        out.append(self._event("Newstate", "call,all", snapshot(ch)))
        return Call(ch), out

    def _var(self, ch: Chan, var: str, value: str) -> bytes:
        if var in self.channelvars:
            ch.chanvars[var] = value
        return self._event(
            "VarSet", "dialplan,all", [*snapshot(ch), ("Variable", var), ("Value", value)]
        )

    def join(self, call: Call, queue: str) -> list[bytes]:
        call.queue = queue
        self.waiting[call.caller.uid] = (queue, call.caller)
        fields = [*snapshot(call.caller), ("Queue", queue), ("Position", "1"), ("Count", "1")]
        return [
            self._event(
                "DeviceStateChange",
                "call,all",
                [("Device", f"Queue:{queue}"), ("State", "RINGING")],
            ),
            self._event("QueueCallerJoin", "agent,all", fields),
            self._event(
                "MusicOnHoldStart", "call,all", [*snapshot(call.caller), ("Class", "default")]
            ),
        ]

    # -- agents ring ----------------------------------------------------------------------------

    def ring(self, call: Call, device: str, num: str, name: str) -> list[bytes]:
        """A queue member (or a Dial() target when the call is not queued) starts ringing."""
        leg = self._chan(device, call.caller.linkedid, num, name, "agents")
        leg.connected_num, leg.connected_name = call.caller.num, call.caller.cid_name
        call.legs[device] = leg
        out = [self._event("Newchannel", "call,all", snapshot(leg))]
        dial = [*snapshot(call.caller), *snapshot(leg, "Dest")]
        if call.queue:
            member = [("Queue", call.queue), ("Interface", device), ("MemberName", name)]
            out.append(self._event("AgentCalled", "agent,all", dial + member))
        out.append(
            self._event("DialBegin", "call,all", [*dial, ("DialString", device.split("/", 1)[1])])
        )
        leg.state = "5"
        out.append(self._event("Newstate", "call,all", snapshot(leg)))
        out.append(
            self._event(
                "DialState",
                "call,all",
                [*snapshot(call.caller), *snapshot(leg, "Dest"), ("DialStatus", "RINGING")],
            )
        )
        if device.startswith("Local/"):
            out += self._local_inner(call, leg, device, num, name)
        return out

    def never_rings(self, call: Call, device: str, num: str, name: str, status: str) -> list[bytes]:
        """A Dial() to a phone on DND, busy or forwarding: it ends `status` while still Down."""
        leg = self._chan(device, call.caller.linkedid, num, name, "agents")
        leg.connected_num, leg.connected_name = call.caller.num, call.caller.cid_name
        dial = [*snapshot(call.caller), *snapshot(leg, "Dest")]
        out = [self._event("Newchannel", "call,all", snapshot(leg))]
        out.append(self._event("DialBegin", "call,all", [*dial, ("DialString", device)]))
        out += self._hangup(leg, "17", "User busy")
        out.append(self._event("DialEnd", "call,all", [*dial, ("DialStatus", status)]))
        return out

    def caller_id(self, call: Call, num: str, name: str, pres: str = "0") -> list[bytes]:
        """The dialplan sets the caller's id (`Set(CALLERID(...))`, `CALLERPRES()`)."""
        call.caller.num, call.caller.cid_name = num, name
        text = "Presentation Prohibited, Passed Screen" if pres == "33" else "Presentation Allowed"
        fields = [*snapshot(call.caller), ("CID-CallingPres", f"{pres} ({text})")]
        return [self._event("NewCallerid", "call,all", fields)]

    def _local_inner(self, call: Call, leg: Chan, device: str, num: str, name: str) -> list[bytes]:
        """FreePBX: the `;2` half of the Local channel runs Dial(PJSIP/<ext>)."""
        half = Chan(
            leg.name[:-1] + "2",
            self._uid(),
            leg.linkedid,
            call.caller.num,
            call.caller.cid_name,
            "from-internal",
            num,
            "5",
        )
        self.channels[half.uid] = half
        ext = device.split("/", 1)[1].split("@", 1)[0]
        phone = self._chan(f"PJSIP/{ext}", leg.linkedid, num, name, "from-internal")
        call.inner[half.uid] = phone
        out = [
            self._event("Newchannel", "call,all", snapshot(half)),
            self._event("Newchannel", "call,all", snapshot(phone)),
            self._event(
                "DialBegin",
                "call,all",
                [*snapshot(half), *snapshot(phone, "Dest"), ("DialString", ext)],
            ),
        ]
        phone.state = "5"  # Down at the dial, then Ringing: as the captures show every device
        out.append(self._event("Newstate", "call,all", snapshot(phone)))
        return out

    def no_answer(self, call: Call, device: str) -> list[bytes]:
        leg = call.legs.pop(device)
        dial = [*snapshot(call.caller), *snapshot(leg, "Dest")]
        out: list[bytes] = []
        if call.queue:
            member = [
                ("Queue", call.queue),
                ("Interface", device),
                ("MemberName", leg.cid_name),
                ("RingTime", "6000"),
            ]
            out.append(self._event("AgentRingNoAnswer", "agent,all", dial + member))
        out.append(self._event("DialEnd", "call,all", [*dial, ("DialStatus", "NOANSWER")]))
        out += self._hangup(leg, "16", "Normal Clearing")
        return out

    def _hangup(self, ch: Chan, cause: str, text: str) -> list[bytes]:
        self.channels.pop(ch.uid, None)
        self.waiting.pop(ch.uid, None)
        return [
            self._event(
                "Hangup", "call,all", [*snapshot(ch), ("Cause", cause), ("Cause-txt", text)]
            )
        ]

    # -- answer and end -------------------------------------------------------------------------

    def answer(self, call: Call, device: str) -> list[bytes]:
        leg = call.legs[device]
        leg.state = "6"
        out = [self._event("Newstate", "call,all", snapshot(leg))]
        out.append(
            self._event(
                "DialEnd",
                "call,all",
                [*snapshot(call.caller), *snapshot(leg, "Dest"), ("DialStatus", "ANSWER")],
            )
        )
        for other_device, other in list(call.legs.items()):
            if other_device != device:
                cancel = [
                    *snapshot(call.caller),
                    *snapshot(other, "Dest"),
                    ("DialStatus", "CANCEL"),
                ]
                out.append(self._event("DialEnd", "call,all", cancel))
        for other_device, other in list(call.legs.items()):
            if other_device != device:
                del call.legs[other_device]
                out += self._hangup(other, "26", "Answered elsewhere")
        call.caller.connected_num, call.caller.connected_name = leg.num, leg.cid_name
        if call.queue:
            self.waiting.pop(call.caller.uid, None)
            leave = [
                *snapshot(call.caller),
                ("Queue", call.queue),
                ("Count", "0"),
                ("Position", "1"),
            ]
            out.append(self._event("QueueCallerLeave", "agent,all", leave))
            member = [
                ("Queue", call.queue),
                ("Interface", device),
                ("MemberName", leg.cid_name),
                ("HoldTime", "3"),
                ("RingTime", "2"),
            ]
            out.append(
                self._event(
                    "AgentConnect",
                    "agent,all",
                    [*snapshot(call.caller), *snapshot(leg, "Dest"), *member],
                )
            )
        bridge = f"bridge-{next(self._bridges)}"
        for ch in (leg, call.caller):
            ch.bridge = bridge
            out.append(
                self._event(
                    "BridgeEnter",
                    "call,all",
                    [("BridgeUniqueid", bridge), ("BridgeType", "basic"), *snapshot(ch)],
                )
            )
        return out

    def complete(self, call: Call, device: str, reason: str = "caller") -> list[bytes]:
        leg = call.legs.pop(device)
        out: list[bytes] = []
        if call.queue:
            member = [
                ("Queue", call.queue),
                ("Interface", device),
                ("MemberName", leg.cid_name),
                ("HoldTime", "3"),
                ("TalkTime", "9"),
                ("Reason", reason),
            ]
            out.append(
                self._event(
                    "AgentComplete",
                    "agent,all",
                    [*snapshot(call.caller), *snapshot(leg, "Dest"), *member],
                )
            )
        out += self._hangup(call.caller, "16", "Normal Clearing")
        out += self._hangup(leg, "16", "Normal Clearing")
        for phone in call.inner.values():
            out += self._hangup(phone, "16", "Normal Clearing")
        return out

    def abandon(self, call: Call) -> list[bytes]:
        out: list[bytes] = []
        if call.queue:
            fields = [
                *snapshot(call.caller),
                ("Queue", call.queue),
                ("Position", "1"),
                ("OriginalPosition", "1"),
                ("HoldTime", "7"),
            ]
            out.append(self._event("QueueCallerAbandon", "agent,all", fields))
            leave = [
                *snapshot(call.caller),
                ("Queue", call.queue),
                ("Count", "0"),
                ("Position", "1"),
            ]
            out.append(self._event("QueueCallerLeave", "agent,all", leave))
        for leg in call.legs.values():
            out.append(
                self._event(
                    "DialEnd",
                    "call,all",
                    [*snapshot(call.caller), *snapshot(leg, "Dest"), ("DialStatus", "CANCEL")],
                )
            )
            out += self._hangup(leg, "16", "Normal Clearing")
        call.legs.clear()
        out += self._hangup(call.caller, "16", "Normal Clearing")
        return out

    # -- direct calls and transfers -------------------------------------------------------------

    def direct(
        self, num: str, name: str, device: str, agent_num: str, agent_name: str
    ) -> tuple[Call, list[bytes]]:
        """A caller dials an extension: Newchannel, then Dial(device) with no queue."""
        call, out = self.inbound(num, name, did=agent_num)
        return call, out + self.ring(call, device, agent_num, agent_name)

    def blind_transfer(self, call: Call, from_device: str, exten: str) -> list[bytes]:
        leg = call.legs.pop(from_device)
        fields = [
            ("Result", "Success"),
            *snapshot(leg, "Transferer"),
            *snapshot(call.caller, "Transferee"),
        ]
        fields += [
            ("BridgeUniqueid", leg.bridge),
            ("BridgeType", "basic"),
            ("IsExternal", "Yes"),
            ("Context", "from-internal"),
            ("Extension", exten),
        ]
        out = [self._event("BlindTransfer", "call,all", fields)]
        out += self._hangup(leg, "16", "Normal Clearing")
        call.caller.bridge = ""
        return out

    def consult(
        self,
        from_device: str,
        from_num: str,
        from_name: str,
        to_device: str,
        to_num: str,
        to_name: str,
    ) -> tuple[Call, list[bytes]]:
        """The agent's phone places the consultation call of an attended transfer."""
        ch = self._chan(from_device, None, from_num, from_name, "from-internal")
        ch.state, ch.exten = "4", to_num
        consult = Call(ch)
        out = [self._event("Newchannel", "call,all", snapshot(ch))]
        return consult, out + self.ring(consult, to_device, to_num, to_name)

    def attended_transfer(
        self, call: Call, from_device: str, consult: Call, to_device: str
    ) -> list[bytes]:
        orig, second, target = (
            call.legs.pop(from_device),
            consult.caller,
            consult.legs.pop(to_device),
        )
        fields = [
            ("Result", "Success"),
            *snapshot(orig, "OrigTransferer"),
            ("OrigBridgeUniqueid", orig.bridge),
        ]
        fields += [*snapshot(second, "SecondTransferer"), ("SecondBridgeUniqueid", second.bridge)]
        fields += [*snapshot(call.caller, "Transferee"), *snapshot(target, "TransferTarget")]
        fields += [
            ("IsExternal", "No"),
            ("DestType", "Bridge"),
            ("DestBridgeUniqueid", target.bridge),
        ]
        out = [self._event("AttendedTransfer", "call,all", fields)]
        out += self._hangup(orig, "16", "Normal Clearing")
        out += self._hangup(second, "16", "Normal Clearing")
        call.legs[to_device] = target
        return out

    def hangup_caller(self, call: Call) -> list[bytes]:
        out = self._hangup(call.caller, "16", "Normal Clearing")
        for leg in call.legs.values():
            out += self._hangup(leg, "16", "Normal Clearing")
        call.legs.clear()
        return out
