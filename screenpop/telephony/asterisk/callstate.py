"""What the AMI mapper remembers about one call, and the field readings it shares. No I/O.

Caller id: the number an agent's phone is shown when it rings is the ringing channel's
*connected line* (Asterisk's `ConnectedLineNum` is, by definition, the party at the other end as
the channel presents it; `DialBegin`/`DialState`/`AgentCalled` carry it as `DestConnectedLineNum`).
Asterisk fills it from the calling channel's caller id at dial time, which is why a dialplan's
`Set(CALLERID(num)=...)` (a `NewCallerid` on the caller's channel) shows up there and not in
the caller's `Newchannel`. Where the dest's connected line is still `<unknown>` (Asterisk 22
`DialBegin`, seen in the captures) the calling channel's `CallerIDNum` is what gets copied.

Presentation: Asterisk's `CID-CallingPres`/`CallingPres` is `<code> (<text>)` with the
ast_party presentation code: bits 0x60 are 0x00 allowed, 0x20 restricted, 0x40 number
unavailable. Restricted and unavailable both mean: show no number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from screenpop.telephony.asterisk.protocol import Message

UNKNOWN = "<unknown>"
PRES_KEYS = ("CID-CallingPres", "CallingPres")
_PRES_CODE = re.compile(r"^\s*(\d+)")
_PRES_WORDS = ("prohibited", "restricted", "unavailable")
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-fA-F]{4,8}(;[12])?$")


@dataclass(slots=True)
class CallState:
    """One conversation, keyed by Linkedid."""

    call_id: str
    caller: str | None = None
    caller_name: str | None = None
    caller_uid: str | None = None  # the caller's channel: its Hangup ends the call
    caller_chan: str = ""  # that channel's name
    root_num: str = ""  # the caller channel's own CallerIDNum, as last seen
    queue: str | None = None
    queued: bool = False
    outbound: bool = False
    answered: bool = False  # an agent (or the dialled party) picked up
    withheld: bool = False  # the caller's presentation is restricted: sticky
    transfer_pending: bool = False  # blind-transferred: the next device that rings is the new agent
    checked: bool = False  # whether this is a consultation call has been decided
    consult_of: str | None = None  # a consultation call placed from that call: never reported
    dialled: dict[str, str] = field(default_factory=dict)  # dest uid -> channel, not ringing yet
    ringing: dict[str, str] = field(default_factory=dict)  # dest uid -> channel, reported ringing
    answered_legs: dict[str, str] = field(default_factory=dict)  # dest uid -> channel, in order
    variables: dict[str, str] = field(default_factory=dict)  # the caller channel's, wanted ones


def caller_of(msg: Message, prefix: str = "") -> tuple[str | None, str | None]:
    """(`CallerIDNum`, `CallerIDName`) under `prefix`; the name unescaped, `<unknown>` as None."""
    number = msg.get(f"{prefix}CallerIDNum").strip() or None
    name = known(msg.get(f"{prefix}CallerIDName"))
    return number, unescape_c(name) if name else None


def shown_caller(msg: Message) -> tuple[str | None, str | None]:
    """The caller a dialled device is shown: its connected line, else the dialling channel's id."""
    number = known(msg.get("DestConnectedLineNum"))
    if number is not None:
        name = known(msg.get("DestConnectedLineName"))
        return number, unescape_c(name) if name else None
    number, name = caller_of(msg)
    return (number, name) if known(number or "") else (None, None)


def restricted(msg: Message) -> bool:
    """True when the message marks its channel's caller presentation restricted/unavailable."""
    for key in PRES_KEYS:
        value = msg.get(key)
        if not value:
            continue
        code = _PRES_CODE.match(value)
        if code is not None:
            return (int(code.group(1)) & 0x60) in (0x20, 0x40)
        return any(word in value.lower() for word in _PRES_WORDS)
    return False


def device_of(channel: str) -> str:
    """The device behind a channel name: `SIP/150010002-0000002d` -> `SIP/150010002`."""
    return _CHANNEL_SUFFIX.sub("", channel.strip())


def is_local(channel: str) -> bool:
    return channel.lower().startswith("local/")


_C_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "?": "?",
}
_C_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def unescape_c(value: str) -> str:
    """Decode the C escapes Asterisk puts in caller names (`\\"` -> `"`, `\\\\` -> `\\`).

    An unknown escape keeps its backslash; a lone trailing backslash stays as it is.
    """
    if "\\" not in value:
        return value
    return _C_ESCAPE.sub(lambda m: _C_ESCAPES.get(m.group(1), m.group(0)), value)


def known(value: str) -> str | None:
    """The value, or None when Asterisk says it has none (empty or `<unknown>`)."""
    value = value.strip()
    return None if not value or value == UNKNOWN else value
