"""What every telephony source provides, and how the daemon finds a source kind.

A source owns its connection: :meth:`Source.run` connects, logs in, reads, and reconnects with
backoff until it is cancelled. It hands each event to ``emit``, which never blocks: the reader
never waits on lookups or delivery. Webhook sources have no connection; the web app passes them
each request through :meth:`WebhookSource.handle`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from screenpop.errors import ConfigError
from screenpop.events import CallEvent, SourceEvent

Emit = Callable[[SourceEvent], None]  # call events and agent status events alike


@dataclass(slots=True)
class SourceStatus:
    """Connection health of one source, for `/readyz`, `screenpop check` and `/metrics`."""

    connected: bool = False
    logged_in: bool = False
    detail: str = "not started"
    since: float = field(default_factory=time.time)
    events: int = 0  # events emitted
    rejected: int = 0  # frames or requests rejected as malformed or unauthenticated
    reconnects: int = 0
    last_event_at: float | None = None  # when the source last emitted an event

    def emitted(self, count: int = 1) -> None:
        """Count `count` events emitted now."""
        self.events += count
        if count:
            self.last_event_at = time.time()

    def set(self, *, connected: bool, logged_in: bool, detail: str) -> bool:
        """Update the state; True when it changed (log on change only)."""
        changed = (connected, logged_in) != (self.connected, self.logged_in)
        self.connected, self.logged_in, self.detail = connected, logged_in, detail
        if changed:
            self.since = time.time()
        return changed


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What the daemon hands a source besides its own options."""

    base_dir: Path
    default_region: str
    online_agents: Callable[[], Sequence[str]]  # extensions of agents with a page open (simulator)
    demo_numbers: Callable[[], Sequence[str]] = lambda: ()  # numbers the simulator may call from
    variables: frozenset[str] = frozenset()  # call variables to pass on (`[lookup] keys`)


@runtime_checkable
class Source(Protocol):
    name: str
    status: SourceStatus

    async def run(self, emit: Emit) -> None:
        """Connect and read until cancelled, reconnecting with backoff; never raises otherwise."""
        ...

    async def check(self) -> SourceStatus:
        """Connect and log in once, then disconnect; for `screenpop check`."""
        ...


@runtime_checkable
class WebhookSource(Source, Protocol):
    def handle(self, url: str, headers: dict[str, str], body: bytes) -> list[CallEvent]:
        """Verify and parse one request. Raises AuthError (403) or ProtocolError (400)."""
        ...


@runtime_checkable
class Dialer(Protocol):
    async def originate(self, extension: str, number: str, agent_id: str) -> str:
        """Start an outbound call from `extension` to `number`; returns the call id if known."""
        ...


@runtime_checkable
class Pauser(Protocol):
    """A source whose PBX can pause an agent: no queue offers them calls until unpaused."""

    async def pause(self, extensions: Sequence[str], paused: bool, reason: str | None) -> None:
        """Ask the PBX to pause (or unpause) the agent with these `extensions`, in every queue.

        Returns once the PBX accepted the request; its own confirmation arrives later as an
        :class:`~screenpop.events.AgentStatusEvent` (the truth). Raises ProtocolError when the
        PBX refused or cannot be reached, ValueError when no extension suits this PBX."""
        ...


_BUILT_IN = {
    "ami": "screenpop.telephony.asterisk.source:AmiSource",
    "esl": "screenpop.telephony.freeswitch.source:EslSource",
    "webhook": "screenpop.telephony.webhooks.flavors:make_webhook_source",
    "simulator": "screenpop.telephony.simulator:SimulatorSource",
}


class SourceFactory(Protocol):
    def __call__(self, name: str, options: dict[str, Any], context: SourceContext) -> Source: ...


def find_source_kind(kind: str, where: str) -> SourceFactory:
    """The factory for a `[[telephony]]` kind; its options are validated when it is called."""
    target = _BUILT_IN.get(kind)
    if target is None:
        known = ", ".join(_BUILT_IN)
        raise ConfigError(f"{where}: unknown telephony kind {kind!r} (known: {known})")
    module_name, attr = target.split(":")
    factory: SourceFactory = getattr(import_module(module_name), attr)
    return factory
