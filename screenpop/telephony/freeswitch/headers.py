"""What one FreeSWITCH event's headers say about its channel, free of I/O and of call memory.

Used by :mod:`screenpop.telephony.freeswitch.mapper`. Every function reads the URL-decoded
headers of a single event (channel data as `switch_channel_event_set_data` adds it).
"""

from __future__ import annotations

from collections.abc import Mapping

from screenpop.events import WITHHELD_CALLER

Headers = Mapping[str, str]

_TRUNK_NAMES = ("sofia/gateway/",)  # legs named after their gateway (older dial strings)
_GONE_STATES = frozenset({"CS_HANGUP", "CS_REPORTING", "CS_DESTROY"})
_PRIVACY_NUMBER = frozenset({"yes", "true", "number", "full"})  # mod_dptools `privacy` values
_PRIVACY_NAME = frozenset({"yes", "true", "name", "full"})


def withheld(h: Headers) -> bool:
    """True when the channel's caller asked for presentation restriction.

    `Caller-Privacy-Hide-Number` is how FreeSWITCH reports CLIR however the caller asked for it
    (SIP `Privacy: id` or an anonymous From, per the "Caller ID Privacy" docs); the `privacy`
    dialplan application leaves `variable_privacy`.
    """
    if h.get("Caller-Privacy-Hide-Number", "").lower() == "true":
        return True
    return h.get("variable_privacy", "").lower() in _PRIVACY_NUMBER


def name_hidden(h: Headers) -> bool:
    """True when the caller's name (not necessarily the number) is restricted."""
    if h.get("Caller-Privacy-Hide-Name", "").lower() == "true":
        return True
    return h.get("variable_privacy", "").lower() in _PRIVACY_NAME


def caller_of(number: str | None, name: str | None, h: Headers) -> tuple[str | None, str | None]:
    """(number, name) as a card may show them, given the privacy flags in `h`."""
    number = (number or "").strip() or None
    name = (name or "").strip() or None
    if withheld(h):
        return WITHHELD_CALLER, None
    if name_hidden(h):
        name = None
    return number, name


def channel_gone(h: Headers) -> bool:
    """True when an event's channel data says that channel has hung up.

    `Answer-State: hangup` is the one FreeSWITCH sets as soon as hangup starts; the states are
    checked too for events sent later in the teardown.
    """
    if h.get("Answer-State") == "hangup" or h.get("Channel-Call-State") == "HANGUP":
        return True
    return h.get("Channel-State", "") in _GONE_STATES


def root_of(h: Headers) -> str:
    """The call a leg belongs to: the caller's channel uuid as far as this event can tell.

    An inbound channel is its own call; an outbound leg names its call in `variable_call_uuid`
    (inherited from the leg that originated it), else its `Other-Leg-Unique-ID`, else it is a
    call of its own (one we originated).
    """
    uuid = h.get("Unique-ID", "")
    if h.get("Call-Direction") != "outbound":
        return uuid
    return h.get("variable_call_uuid") or h.get("Other-Leg-Unique-ID") or uuid


def origin_of(h: Headers) -> str:
    """The leg that originated this outbound leg (`Other-Type: originator` data), if known."""
    return h.get("Other-Leg-Unique-ID") or h.get("variable_originating_leg_uuid") or ""


def endpoint_of(h: Headers) -> str:
    """What a leg rang: `user/<variable_dialed_user>`, else its `Channel-Name`."""
    user = h.get("variable_dialed_user", "")
    if user:
        return f"user/{user}"
    channel = h.get("Channel-Name", "")
    if channel:
        return channel
    return f"user/{h.get('Caller-Destination-Number', '')}"


def named_trunk(h: Headers) -> bool:
    """A leg whose channel name says it goes out through a gateway (`sofia/gateway/...`)."""
    return h.get("Channel-Name", "").startswith(_TRUNK_NAMES)


def via_gateway(h: Headers) -> bool:
    """A leg mod_sofia sent through a gateway. FreeSWITCH 1.10 names such legs
    `sofia/<profile>/<number>`; only `variable_sip_gateway_name` tells."""
    return bool(h.get("variable_sip_gateway_name", "").strip()) or named_trunk(h)
