"""FreeSWITCH as a telephony source: the event socket in inbound mode (`kind = "esl"`).

:class:`EslSource` connects to mod_event_socket, answers `auth/request` with the password,
subscribes to the channel events and mod_callcenter's `CUSTOM callcenter::info`, and hands each
event to the sans-I/O mapper (:mod:`screenpop.telephony.freeswitch.mapper`); framing lives in
:mod:`screenpop.telephony.freeswitch.protocol`, the session in
:mod:`screenpop.telephony.freeswitch.connection`, the link skeleton in
:mod:`screenpop.telephony.link`. The reader never waits on anything but the socket.

After every (re)connect, and after frames it had to drop (one may have been a call event), it
resyncs: `api show channels as json` re-learns calls ringing or answered on user legs,
`api callcenter_config queue list members <queue>` re-learns queued ones. mod_callcenter's
`agent-status-change` events become agent status events (:mod:`.agents`); :meth:`EslSource.pause`
sets an agent `On Break` or `Available`.
A periodic `api status` with a reply deadline notices half-open connections. A bad password, a
refused connection or a `text/disconnect-notice` sets :attr:`EslSource.status`, logs once per
change and retries with exponential backoff; nothing here raises out of :meth:`EslSource.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import Field

from screenpop.errors import AuthError, ProtocolError
from screenpop.events import SourceEvent
from screenpop.settings import Strict, validate_options
from screenpop.telephony.base import Emit, SourceContext, SourceStatus
from screenpop.telephony.freeswitch.agents import AVAILABLE_STATUS, ON_BREAK_STATUS, agent_status
from screenpop.telephony.freeswitch.connection import EslConnection
from screenpop.telephony.freeswitch.mapper import EslCallMapper
from screenpop.telephony.freeswitch.protocol import Event, subscribe_command
from screenpop.telephony.freeswitch.resync import parse_queue_names
from screenpop.telephony.link import Emitter, PbxLink, describe

log = logging.getLogger(__name__)

CHANNEL_EVENTS = [
    "CHANNEL_CREATE",
    "CHANNEL_PROGRESS",
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_HANGUP_COMPLETE",
    "HEARTBEAT",
]
CUSTOM_EVENTS = ["callcenter::info"]
MAX_RESYNC_QUEUES = 200
_EXTENSION = re.compile(r"^[A-Za-z0-9_.+-]{1,64}(@[A-Za-z0-9_.-]{1,128})?$")
_NUMBER = re.compile(r"^\+?[0-9*#]{1,32}$")
_AGENT = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
_QUEUE = re.compile(r"^[^\s|]{1,128}$")


class EslOptions(Strict):
    """The options of a `[[telephony]] kind = "esl"` entry."""

    host: str = "127.0.0.1"
    port: int = Field(default=8021, ge=1, le=65535)
    password: str = Field(min_length=1)
    ping_interval_s: float = Field(default=20.0, gt=0)  # an `api status` this often...
    ping_timeout_s: float = Field(default=5.0, gt=0)  # ...must be answered within this
    connect_timeout_s: float = Field(default=5.0, gt=0)
    backoff_min_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    originate_context: str = Field(default="default", pattern=r"^[A-Za-z0-9_.-]{1,64}$")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AuthError):
        return f"login failed: {exc}"
    return describe(exc, "is mod_event_socket listening?")


class EslSource:
    """A FreeSWITCH server over mod_event_socket. Built by the daemon from `[[telephony]]`; also
    a Dialer and a Pauser."""

    def __init__(self, name: str, options: Mapping[str, Any], context: SourceContext) -> None:
        self.name = name
        self.options = validate_options(EslOptions, options, f"telephony.{name}")
        self.context = context
        self.mapper = EslCallMapper(name, variables=context.variables)
        self._hooks = _EslHooks(self.options, self.mapper)
        self.link = PbxLink(name, self.options, self._hooks, "ESL frame")
        self.status = self.link.status

    # -- Source protocol ------------------------------------------------------------------------

    async def run(self, emit: Emit) -> None:
        """Connect, log in, subscribe, resync and read until cancelled; reconnect with backoff."""
        await self.link.run(emit)

    async def check(self) -> SourceStatus:
        """Connect and authenticate once, then say `exit`; the outcome, never an exception."""
        status = SourceStatus(detail="connecting")
        try:
            conn = await self.link.open(lambda _event: None)
            status.set(connected=True, logged_in=False, detail="authenticating")
            try:
                await self._hooks.authenticate(conn)
                status.set(connected=True, logged_in=True, detail="connected, password accepted")
                await self._hooks.goodbye(conn)
            finally:
                await conn.close()
        except AuthError as exc:
            status.set(connected=True, logged_in=False, detail=f"login failed: {exc}")
        except (OSError, TimeoutError, ProtocolError) as exc:
            status.set(connected=False, logged_in=False, detail=_describe(exc))
        return status

    async def originate(self, extension: str, number: str, agent_id: str) -> str:
        """Ring `extension` (`1001`, `user/1001`, `1001@domain`), then dial `number` from it.

        Sends `bgapi originate {origination_caller_id_number=<number>,...}user/<ext> <number>
        XML <originate_context>` and returns FreeSWITCH's Job-UUID. The agent's leg carries
        `screenpop_outbound=true`, so the pop it causes is marked outbound. Raises ProtocolError
        (refused, unreachable, unsafe arguments) or AuthError.
        """
        ext = extension.removeprefix("user/")
        if not _EXTENSION.match(ext) or not _NUMBER.match(number) or not _AGENT.match(agent_id):
            raise ProtocolError("refusing to originate: extension, number or agent id not plain")
        variables = (
            f"origination_caller_id_number={number},screenpop_agent={agent_id},"
            "screenpop_outbound=true"
        )
        context = self.options.originate_context
        line = f"bgapi originate {{{variables}}}user/{ext} {number} XML {context}"
        try:
            reply = await self.link.send_once(
                lambda conn: conn.request(line, self.link.reply_timeout)
            )
        except (OSError, TimeoutError) as exc:
            raise ProtocolError(f"FreeSWITCH {self.name} unreachable: {_describe(exc)}") from exc
        if not reply.ok:
            raise ProtocolError(f"FreeSWITCH refused originate: {reply.reply_text}")
        job = reply.headers.get("Job-UUID") or reply.reply_text.removeprefix("+OK Job-UUID:")
        return job.strip()

    async def pause(self, extensions: Sequence[str], paused: bool, reason: str | None) -> None:
        """`bgapi callcenter_config agent set status <agent> 'On Break'|'Available'` for the
        agent's mod_callcenter name: their first extension that is not a device (`1001@default`,
        `agent1`; `user/1001` counts as `1001`). mod_callcenter has no pause reason: the daemon
        keeps the one asked for. It confirms with an `agent-status-change` event.
        ValueError when no extension is a plain name; ProtocolError when refused or away."""
        names = [e.removeprefix("user/") for e in extensions]
        agent = next((n for n in names if "/" not in n and _AGENT.match(n)), None)
        if agent is None:
            raise ValueError("no extension of this agent is a mod_callcenter agent name")
        status = ON_BREAK_STATUS if paused else AVAILABLE_STATUS
        line = f"bgapi callcenter_config agent set status {agent} '{status}'"
        try:
            reply = await self.link.send_once(
                lambda conn: conn.request(line, self.link.reply_timeout)
            )
        except (OSError, TimeoutError) as exc:
            raise ProtocolError(f"FreeSWITCH {self.name} unreachable: {_describe(exc)}") from exc
        if not reply.ok:
            raise ProtocolError(f"FreeSWITCH refused the pause: {reply.reply_text}")
        log.info("telephony %s: agent %s set to %s", self.name, agent, status)


class _EslHooks:
    """The ESL side of the link: auth, the event subscription, the resync commands, `api
    status` as keep-alive, `exit`."""

    keepalive = "keep-alive"
    login_step = "authenticating"

    def __init__(self, options: EslOptions, mapper: EslCallMapper) -> None:
        self.options = options
        self.mapper = mapper
        self._reply_timeout = max(options.ping_timeout_s, options.connect_timeout_s)
        self._known_before: list[str] | None = None  # open calls when the subscription was sent

    def connect(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_item: Callable[[Event], None],
        on_reject: Callable[[int, str], None],
    ) -> EslConnection:
        return EslConnection(reader, writer, on_item, on_reject)

    async def login(self, conn: EslConnection) -> str:
        await self.authenticate(conn)
        return f"connected to {self.options.host}:{self.options.port}, subscribed"

    async def authenticate(self, conn: EslConnection) -> None:
        """Wait for `auth/request`, answer it. Raises AuthError for a wrong password."""
        try:
            async with asyncio.timeout(self.options.connect_timeout_s):
                await conn.auth_requested.wait()
        except TimeoutError:
            raise TimeoutError(
                "no auth/request from the server: is this mod_event_socket?"
            ) from None
        if conn.closed.is_set():
            raise ConnectionError(conn.close_reason)
        reply = await conn.request(f"auth {self.options.password}", self._reply_timeout)
        if not reply.ok:
            raise AuthError(
                f"FreeSWITCH rejected the password ({reply.reply_text}): "
                "check `password` in event_socket.conf.xml"
            )

    async def subscribe(self, conn: EslConnection) -> None:
        self._known_before = self.mapper.open_calls  # no event of this session precedes this
        line = subscribe_command(CHANNEL_EVENTS, CUSTOM_EVENTS)
        reply = await conn.request(line, self._reply_timeout)
        if not reply.ok:
            raise ProtocolError(f"event subscription refused: {reply.reply_text}")

    async def resync(self, conn: EslConnection, emit: Emitter) -> None:
        """Re-learn calls ringing, queued or answered, and end those gone while we were away.

        Only the calls open when the subscription was confirmed (after a reconnect), or when
        this resync began (a later one, after dropped frames), can have ended unseen; calls
        learned from events since are current.
        """
        known = self._known_before if self._known_before is not None else self.mapper.open_calls
        self._known_before = None
        reply = await conn.request("api show channels as json", self._reply_timeout)
        channels = reply.body.decode("utf-8", "replace") if reply.ok else None
        members: dict[str, str] = {}
        reply = await conn.request("api callcenter_config queue list", self._reply_timeout)
        if reply.ok:  # else mod_callcenter is not loaded: nothing queued to re-learn
            queues = parse_queue_names(reply.body.decode("utf-8", "replace"))
            for queue in [q for q in queues if _QUEUE.match(q)][:MAX_RESYNC_QUEUES]:
                line = f"api callcenter_config queue list members {queue}"
                reply = await conn.request(line, self._reply_timeout)
                members[queue] = reply.body.decode("utf-8", "replace")
        emit(self.mapper.resync(channels, members, known))

    async def ping(self, conn: EslConnection, wait_s: float) -> None:
        await conn.request("api status", wait_s)

    def map(self, item: Event) -> Sequence[SourceEvent]:
        if item.name == "HEARTBEAT":
            return []
        return [*self.mapper.feed(item.headers), *agent_status(self.mapper.source, item.headers)]

    def describe(self, item: Event) -> str:
        return f"{item.name} event"

    def explain(self, exc: BaseException) -> str:
        return _describe(exc)

    def closing(self, conn: EslConnection) -> None:
        """Nothing to say: FreeSWITCH needs no goodbye on a closing socket."""

    async def goodbye(self, conn: EslConnection) -> None:
        with contextlib.suppress(OSError, TimeoutError):
            await conn.request("exit", self.options.ping_timeout_s)
