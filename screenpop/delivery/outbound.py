"""What the daemon sends an agent's tabs over the websocket, as typed values (what tabs send
back is in :mod:`screenpop.delivery.inbound`).

Each message is a frozen dataclass; :meth:`to_json` gives the wire form (README, "Websocket").
The hub adds `seq` when it numbers a message for an agent; `error` replies are not numbered
(they answer one tab, not the agent). Cards travel already rendered for the agent's role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

JsonObject = dict[str, Any]
Direction = Literal["inbound", "outbound"]


@dataclass(frozen=True, slots=True)
class Hello:
    """The first message on a new tab: who the tab is and where its stream stands."""

    type: ClassVar[str] = "hello"
    agent: str
    name: str
    role: str
    seq: int
    dispositions: Sequence[str]
    board: bool

    def to_json(self) -> JsonObject:
        return {
            "type": self.type,
            "agent": self.agent,
            "name": self.name,
            "role": self.role,
            "seq": self.seq,
            "dispositions": list(self.dispositions),
            "board": self.board,
        }


@dataclass(frozen=True, slots=True)
class PopMessage:
    """Show this call's card: the phone rings (or the call was answered or transferred)."""

    type: ClassVar[str] = "pop"
    call_id: str
    state: str
    queue: str | None
    direction: Direction
    card: JsonObject

    def to_json(self) -> JsonObject:
        return {
            "type": self.type,
            "call_id": self.call_id,
            "state": self.state,
            "queue": self.queue,
            "direction": self.direction,
            "card": self.card,
        }


@dataclass(frozen=True, slots=True)
class CardMessage:
    """The call's card changed (a late section, the history, a pick, a withheld caller)."""

    type: ClassVar[str] = "card"
    call_id: str
    card: JsonObject

    def to_json(self) -> JsonObject:
        return {"type": self.type, "call_id": self.call_id, "card": self.card}


@dataclass(frozen=True, slots=True)
class CallMessage:
    """The call changed as this agent sees it (`state`: see AgentCallState)."""

    type: ClassVar[str] = "call"
    call_id: str
    state: str
    agent: str | None

    def to_json(self) -> JsonObject:
        return {
            "type": self.type,
            "call_id": self.call_id,
            "state": self.state,
            "agent": self.agent,
        }


@dataclass(frozen=True, slots=True)
class NoteMessage:
    """A note the agent saved on a call (to every tab of theirs)."""

    type: ClassVar[str] = "note"
    call_id: str
    note: JsonObject

    def to_json(self) -> JsonObject:
        return {"type": self.type, "call_id": self.call_id, "note": self.note}


@dataclass(frozen=True, slots=True)
class RecordMessage:
    """Where a note's write-back to one connector stands: synced, pending or failed (why)."""

    type: ClassVar[str] = "record"
    call_id: str
    note_id: str
    connector: str
    state: str
    error: str = ""

    def to_json(self) -> JsonObject:
        return {
            "type": self.type,
            "call_id": self.call_id,
            "note_id": self.note_id,
            "connector": self.connector,
            "state": self.state,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class BoardMessage:
    """A board snapshot for the watcher's role."""

    type: ClassVar[str] = "board"
    board: JsonObject

    def to_json(self) -> JsonObject:
        return {"type": self.type, "board": self.board}


@dataclass(frozen=True, slots=True)
class StatusMessage:
    """The agent's status changed (or a tab resumed): `available`, or `paused` with a reason;
    `pending` says a pause (True) or unpause (False) was asked and the PBX has not confirmed it
    yet (None: nothing asked)."""

    type: ClassVar[str] = "status"
    state: str
    reason: str | None
    since: float
    pending: bool | None = None

    def to_json(self) -> JsonObject:
        return {
            "type": self.type,
            "state": self.state,
            "reason": self.reason,
            "since": self.since,
            "pending": self.pending,
        }


@dataclass(frozen=True, slots=True)
class CallbacksMessage:
    """Every open or taken callback item of the agent's queues (README, "Callbacks")."""

    type: ClassVar[str] = "callbacks"
    items: Sequence[JsonObject]

    def to_json(self) -> JsonObject:
        return {"type": self.type, "items": list(self.items)}


@dataclass(frozen=True, slots=True)
class CallbackMessage:
    """One callback item changed (taken, released, dialled, closed)."""

    type: ClassVar[str] = "callback"
    item: JsonObject

    def to_json(self) -> JsonObject:
        return {"type": self.type, "item": self.item}


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """A tab's message was refused; `about` names the message type refused, when known."""

    type: ClassVar[str] = "error"
    reason: str
    about: str | None = None

    def to_json(self) -> JsonObject:
        out: JsonObject = {"type": self.type, "reason": self.reason}
        if self.about is not None:
            out["about"] = self.about
        return out


ServerMessage = (
    Hello
    | PopMessage
    | CardMessage
    | CallMessage
    | NoteMessage
    | RecordMessage
    | BoardMessage
    | StatusMessage
    | CallbacksMessage
    | CallbackMessage
)
