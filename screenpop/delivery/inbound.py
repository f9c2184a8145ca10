"""Messages browsers send over `/ws`, validated at the trust boundary (pydantic); what the daemon
sends them is in :mod:`screenpop.delivery.outbound`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_NOTE_CHARS = 4000
NOTE_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"  # a client-made note id (a UUID fits)


class _Client(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resume(_Client):
    """Replay what this tab missed after `last_seq`."""

    type: Literal["resume"]
    last_seq: int = Field(ge=0)


class Ack(_Client):
    """The pop numbered `seq` is on screen."""

    type: Literal["ack"]
    seq: int = Field(ge=1)


class Note(_Client):
    """Save a disposition and a note on one of the agent's calls."""

    type: Literal["note"]
    call_id: str = Field(min_length=1, max_length=200)
    disposition: str = Field(min_length=1, max_length=64)
    text: str = Field(default="", max_length=MAX_NOTE_CHARS)
    id: str | None = Field(default=None, pattern=NOTE_ID_PATTERN)  # the same id twice: one note


class Choose(_Client):
    """The caller of one of the agent's calls is this one of the card's candidate customers."""

    type: Literal["choose"]
    call_id: str = Field(min_length=1, max_length=200)
    customer_id: str = Field(min_length=1, max_length=200)


class Dial(_Client):
    """Click-to-dial: call `number` from the agent's own extension."""

    type: Literal["dial"]
    number: str = Field(min_length=1, max_length=64)


class Ready(_Client):
    """The agent closed the card of an ended call: their wrap-up is over."""

    type: Literal["ready"]


AGENT_ID_PATTERN = r"^[A-Za-z0-9_.@-]{1,128}$"


class Pause(_Client):
    """Pause the agent (or, for a role with `manage_agents`, the agent `agent`) with a reason
    from `[ui] pause_reasons` (checked by :func:`check_pause_reason` against the live list)."""

    type: Literal["pause"]
    reason: str = Field(min_length=1, max_length=64)
    agent: str | None = Field(default=None, pattern=AGENT_ID_PATTERN)


class Unpause(_Client):
    """Make the agent (or `agent`, as for :class:`Pause`) available again."""

    type: Literal["unpause"]
    agent: str | None = Field(default=None, pattern=AGENT_ID_PATTERN)


class _OnCallback(_Client):
    """An agent's action on the callback item `id`."""

    id: int = Field(ge=1)


class CallbackTake(_OnCallback):
    """The agent takes the open item: they call the caller back."""

    type: Literal["callback_take"]


class CallbackRelease(_OnCallback):
    """The agent gives back the item they took: it is open again."""

    type: Literal["callback_release"]


class CallbackDial(_OnCallback):
    """Click-to-dial the caller of the item the agent took."""

    type: Literal["callback_dial"]


class CallbackClose(_OnCallback):
    """The agent is done with the item, with a disposition from `[ui] dispositions`."""

    type: Literal["callback_close"]
    disposition: str = Field(min_length=1, max_length=64)


CallbackAction = CallbackTake | CallbackRelease | CallbackDial | CallbackClose
AnyClientMessage = Resume | Ack | Note | Choose | Dial | Ready | Pause | Unpause | CallbackAction
ClientMessage = Annotated[AnyClientMessage, Field(discriminator="type")]
_ADAPTER: TypeAdapter[AnyClientMessage] = TypeAdapter(ClientMessage)
KNOWN_TYPES = (
    "resume, ack, note, choose, dial, ready, pause, unpause, callback_take, callback_release,"
    " callback_dial or callback_close"
)
_TYPES = frozenset(KNOWN_TYPES.replace(" or", ",").split(", "))


def check_pause_reason(reason: str | None, allowed: Sequence[str]) -> str:
    """`reason` when it is one of `allowed` (`[ui] pause_reasons`); else BadMessage naming them."""
    if reason is None or reason not in allowed:
        raise BadMessage(f"reason: {reason!r} is not a pause reason ({', '.join(allowed)})")
    return reason


class BadMessage(ValueError):
    """A client message that is not valid JSON or not one of the known messages; `about` is
    its type when that is known (a `pause` without a reason)."""

    def __init__(self, reason: str, about: str | None = None) -> None:
        super().__init__(reason)
        self.about = about


def parse_client_message(text: str) -> AnyClientMessage:
    """Parse one text frame; raises :class:`BadMessage` with a reason safe to send back."""
    try:
        return _ADAPTER.validate_json(text)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        loc = err["loc"]
        about = str(loc[0]) if len(loc) > 1 and str(loc[0]) in _TYPES else None
        raise BadMessage(_reason(exc), about) from None


def _reason(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    if err["type"] == "json_invalid":
        return "not valid JSON"
    if err["type"] in ("union_tag_invalid", "union_tag_not_found", "model_attributes_type"):
        return f"unknown message type (expected {KNOWN_TYPES})"
    where = ".".join(str(p) for p in err["loc"][1:]) or "message"
    return f"{where}: {err['msg']}"
