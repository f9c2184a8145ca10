"""The PBX-neutral call event and the states a call and an agent's view of it can be in.

Every telephony source (AMI, ESL, webhooks, the simulator) translates its own protocol into
:class:`CallEvent` values; nothing after the source knows which PBX a call came from.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

WITHHELD_CALLER = "anonymous"  # a withheld caller's `caller` (callerid reads it as withheld)


class EventKind(StrEnum):
    """What happened to a call, as a source reports it."""

    QUEUED = "queued"  # the caller waits in a queue; no agent rings yet
    RINGING = "ringing"  # `endpoint` rings for this call
    ANSWERED = "answered"  # `endpoint` answered
    MISSED = "missed"  # `endpoint` stopped ringing unanswered (no answer, rejected, cancelled)
    TRANSFERRED = "transferred"  # the call moved to `endpoint`
    ENDED = "ended"  # the call is over after being answered (or the source cannot tell)
    ABANDONED = "abandoned"  # the caller hung up before anybody answered
    UPDATED = "updated"  # the source learned call variables (IVR data); the state is unchanged


class CallState(StrEnum):
    """The state of a whole call (one conversation, keyed by the PBX's linked id)."""

    QUEUED = "queued"
    RINGING = "ringing"
    ANSWERED = "answered"
    TRANSFERRED = "transferred"
    ENDED = "ended"
    ABANDONED = "abandoned"


class AgentCallState(StrEnum):
    """The state of a call as one agent sees it; the `state` of websocket `call` messages."""

    RINGING = "ringing"
    ANSWERED = "answered"
    ANSWERED_ELSEWHERE = "answered_elsewhere"
    MISSED = "missed"
    TRANSFERRED = "transferred"
    ENDED = "ended"
    ABANDONED = "abandoned"


FINAL_CALL_STATES = frozenset({CallState.ENDED, CallState.ABANDONED})


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One thing a telephony source saw.

    `call_id` is the PBX's id for the whole conversation (Asterisk `Linkedid`, FreeSWITCH
    call-center member uuid, Twilio `CallSid`...). `endpoint` is the agent's device or name exactly
    as the PBX spells it (`PJSIP/1001-0000001a`, `Local/1001@from-internal;1`, `user/1001`, a
    TaskRouter worker); the agent directory maps it to an agent. `caller` is the raw caller id:
    the number the agent's phone is shown when it rings, as the PBX presents it then.

    `withheld` says the PBX marked the caller's presentation as restricted (however it says so:
    Asterisk `CallingPres`/`CID-CallingPres` "Prohibited", FreeSWITCH `Caller-Privacy-Hide-Number`,
    a `Privacy` header, a withheld word in the number). A source that sees it sets `withheld` and
    puts `WITHHELD_CALLER` in `caller`, never the number; the tracker then treats the call as
    withheld for good: no number on the card, board, call log or history, never looked up, even
    if a later event carries one.

    `variables` are the call variables the source kept (those `[lookup] keys` names: IVR data
    such as the account number the caller typed), as known when the event happened; the tracker
    keeps the latest value of each. An `updated` event only brings new variables.
    """

    source: str
    call_id: str
    kind: EventKind
    caller: str | None = None
    caller_name: str | None = None
    endpoint: str | None = None
    queue: str | None = None
    outbound: bool = False
    withheld: bool = False
    at: float = field(default_factory=time.time)
    variables: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class AgentStatusEvent:
    """The PBX says an agent's endpoint is paused (not offered queue calls) or available again.

    `endpoint` is the agent's device or name as the PBX spells it (an AMI queue member
    `Interface` / `StateInterface`, a mod_callcenter `CC-Agent`); the agent directory maps it to
    an agent like a call's endpoint. `reason` is the PBX's pause reason (empty: none given).
    `logged_out` says the PBX took the agent out of service altogether (FreeSWITCH `Logged
    Out`); it counts as paused, with the reason "logged out".

    These events do not go through the call intake: they touch no call, so their order among
    call events does not matter; the daemon hands them to the agent status book
    (:mod:`screenpop.agent_status`), which keeps their own order per agent.
    """

    source: str
    endpoint: str
    paused: bool
    reason: str = ""
    logged_out: bool = False
    state_endpoint: str | None = None  # another spelling of the device (AMI `StateInterface`)
    at: float = field(default_factory=time.time)


SourceEvent = CallEvent | AgentStatusEvent


def merge_variables(current: dict[str, str], new: Mapping[str, str]) -> bool:
    """Take `new` call variables into `current` (an empty value removes one); True if changed."""
    changed = False
    for name, value in new.items():
        if value:
            changed = changed or current.get(name) != value
            current[name] = value
        elif name in current:
            del current[name]
            changed = True
    return changed  # what a telephony source emits
