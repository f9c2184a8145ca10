"""Messages browsers send over `/ws`, validated at the trust boundary (pydantic); what the daemon
sends them is in :mod:`screenpop.delivery.outbound`."""

from __future__ import annotations

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


AnyClientMessage = Resume | Ack | Note | Choose | Dial | Ready
ClientMessage = Annotated[AnyClientMessage, Field(discriminator="type")]
_ADAPTER: TypeAdapter[AnyClientMessage] = TypeAdapter(ClientMessage)
KNOWN_TYPES = "resume, ack, note, choose, dial or ready"


class BadMessage(ValueError):
    """A client message that is not valid JSON or not one of the known messages."""


def parse_client_message(text: str) -> AnyClientMessage:
    """Parse one text frame; raises :class:`BadMessage` with a reason safe to send back."""
    try:
        return _ADAPTER.validate_json(text)
    except ValidationError as exc:
        raise BadMessage(_reason(exc)) from None


def _reason(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    if err["type"] == "json_invalid":
        return "not valid JSON"
    if err["type"] in ("union_tag_invalid", "union_tag_not_found", "model_attributes_type"):
        return f"unknown message type (expected {KNOWN_TYPES})"
    where = ".".join(str(p) for p in err["loc"][1:]) or "message"
    return f"{where}: {err['msg']}"
