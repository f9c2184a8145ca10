"""Asterisk (and FreePBX) as a telephony source: the manager interface (`kind = "ami"`).

:class:`AmiSource` connects to the manager port, reads the banner, logs in with `Username` and
`Secret`, and hands each event to the sans-I/O mapper (:mod:`screenpop.telephony.asterisk.mapper`);
framing lives in :mod:`screenpop.telephony.asterisk.protocol`, the session in
:mod:`screenpop.telephony.asterisk.connection`. The reader never waits on anything but the socket.

After every (re)connect, and after frames it had to drop (one may have been a call event), it
resyncs: `CoreShowChannels` re-learns calls ringing or answered (and ends the ones that finished
while it was away), `QueueStatus` re-learns callers waiting in queues and which queue members are
paused. Queue member pauses (:mod:`screenpop.telephony.asterisk.members`) become agent status
events; :meth:`AmiSource.pause` sends `QueuePause` for every queue.
A `Ping` every `ping_interval_s` that must be answered within `ping_timeout_s` notices half-open
connections. A wrong secret, a refused connection or a dropped session sets :attr:`status`, logs
once per change and retries with exponential backoff; nothing but cancellation leaves :meth:`run`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import Field

from screenpop.errors import AuthError, ProtocolError
from screenpop.events import SourceEvent
from screenpop.settings import Strict, validate_options
from screenpop.telephony.asterisk.connection import AmiConnection
from screenpop.telephony.asterisk.mapper import AmiCallMapper
from screenpop.telephony.asterisk.members import AmiMemberMapper
from screenpop.telephony.asterisk.protocol import Message
from screenpop.telephony.base import Emit, SourceContext, SourceStatus
from screenpop.telephony.link import Emitter, PbxLink, describe

log = logging.getLogger(__name__)

_DEVICE = re.compile(r"^[A-Za-z0-9]{1,16}/[A-Za-z0-9_.+@-]{1,128}$")
_EXTENSION = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")
_NUMBER = re.compile(r"^\+?[0-9*#]{1,32}$")
_AGENT = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
_REASON = re.compile(r"^[^\r\n]{0,80}$")


class AmiOptions(Strict):
    """The options of a `[[telephony]] kind = "ami"` entry (a manager.conf user)."""

    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=1, le=65535)
    username: str = Field(min_length=1)
    secret: str = Field(min_length=1)
    events: str = "on"  # the Login `Events` mask: "on", or e.g. "call,agent"
    ping_interval_s: float = Field(default=20.0, gt=0)  # a `Ping` this often...
    ping_timeout_s: float = Field(default=5.0, gt=0)  # ...must be answered within this
    connect_timeout_s: float = Field(default=5.0, gt=0)
    resync_timeout_s: float = Field(default=10.0, gt=0)
    backoff_min_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    originate_context: str = "from-internal"  # where the dialled number is run
    originate_timeout_ms: int = Field(default=30000, gt=0)  # how long the agent's phone rings
    originate_tech: str = "PJSIP"  # for an extension given without a technology (`1001`)
    originate_caller_id: str | None = None  # shown on the agent's phone; default the number


def _describe(exc: BaseException) -> str:
    return describe(exc, "is the manager enabled in manager.conf?")


class AmiSource:
    """An Asterisk server over AMI. Built by the daemon from `[[telephony]]`; also a Dialer
    and a Pauser."""

    def __init__(self, name: str, options: Mapping[str, Any], context: SourceContext) -> None:
        self.name = name
        self.options = validate_options(AmiOptions, options, f"telephony.{name}")
        self.context = context
        self.mapper = AmiCallMapper(name, variables=context.variables)
        self.members = AmiMemberMapper(name)
        self._hooks = _AmiHooks(self.options, self.mapper, self.members)
        self.link = PbxLink(name, self.options, self._hooks, "AMI message")
        self.status = self.link.status

    # -- Source protocol ------------------------------------------------------------------------

    async def run(self, emit: Emit) -> None:
        """Connect, log in, resync and read until cancelled; reconnect with backoff."""
        await self.link.run(emit)

    async def check(self) -> SourceStatus:
        """Connect, log in and try the resync action once, then log off; the outcome, never an
        exception. A user whose `read`/`write` lacks what the resync needs fails here, not in
        an endless reconnect loop at run time."""
        status = SourceStatus(detail="connecting")
        try:
            conn = await self.link.open(lambda _msg: None)
            status.set(connected=True, logged_in=False, detail="logging in")
            try:
                version = await self._hooks.manager_version(conn)
                await conn.request_list("CoreShowChannels", [], self.options.resync_timeout_s)
                status.set(connected=True, logged_in=True, detail=f"logged in ({version})")
            finally:
                conn.send_logoff()
                await conn.close()
        except AuthError as exc:
            status.set(connected=True, logged_in=False, detail=str(exc))
        except ProtocolError as exc:
            status.set(connected=status.connected, logged_in=False, detail=_describe(exc))
        except (OSError, TimeoutError) as exc:
            status.set(connected=False, logged_in=False, detail=_describe(exc))
        return status

    async def originate(self, extension: str, number: str, agent_id: str) -> str:
        """Ring the agent's device (`PJSIP/1001`, or `1001` with `originate_tech`), then dial.

        Sends `Action: Originate` (Channel = the device, Exten = `number`, Context =
        `originate_context`, Priority 1, Async) with a `ChannelId` of ours, and returns that id:
        it becomes the call's Linkedid, so the pop it causes is this call, marked outbound.
        Raises ProtocolError (refused, unreachable, unsafe arguments) or AuthError.
        """
        device = extension if "/" in extension else f"{self.options.originate_tech}/{extension}"
        if not (_DEVICE.match(device) and _NUMBER.match(number) and _AGENT.match(agent_id)):
            raise ProtocolError("refusing to originate: extension, number or agent id not plain")
        if not _EXTENSION.match(self.options.originate_context):
            raise ProtocolError("refusing to originate: originate_context is not plain")
        call_id = f"screenpop-{uuid.uuid4().hex}"
        caller_id = self.options.originate_caller_id or f'"{number}" <{number}>'
        fields = [
            ("Channel", device),
            ("Exten", number),
            ("Context", self.options.originate_context),
            ("Priority", "1"),
            ("CallerID", caller_id),
            ("Timeout", str(self.options.originate_timeout_ms)),
            ("Async", "true"),
            ("ChannelId", call_id),
            ("Variable", f"SCREENPOP_AGENT={agent_id}"),
        ]
        self.mapper.expect_originate(call_id, number, agent_id)
        try:
            reply = await self.link.send_once(
                lambda conn: conn.request("Originate", fields, self.link.reply_timeout)
            )
        except (OSError, TimeoutError) as exc:
            self.mapper.forget_originate(call_id)
            raise ProtocolError(f"Asterisk {self.name} unreachable: {_describe(exc)}") from exc
        if reply.response.lower() != "success":
            self.mapper.forget_originate(call_id)
            raise ProtocolError(f"Asterisk refused originate: {reply.get('Message')}")
        log.info("telephony %s: originate from %s for agent %s", self.name, device, agent_id)
        return call_id

    async def pause(self, extensions: Sequence[str], paused: bool, reason: str | None) -> None:
        """`Action: QueuePause` for the agent's device (their first extension that names one,
        `PJSIP/1001`, `Local/1001@from-internal`; else the first with `originate_tech`, as for
        click-to-dial), `Paused: true|false`, the reason, and no
        `Queue`: every queue the member is in. Asterisk confirms with `QueueMemberPause` events.
        ValueError when no extension names a device; ProtocolError when refused or away."""
        device = next((e for e in extensions if "/" in e and _DEVICE.match(e)), None)
        if device is None and extensions and _EXTENSION.match(extensions[0]):
            device = f"{self.options.originate_tech}/{extensions[0]}"  # as originate does
        if device is None:
            raise ValueError("no extension of this agent names a device (such as PJSIP/1001)")
        if reason is not None and not _REASON.match(reason):
            raise ValueError("a pause reason is one short line")
        fields = [("Interface", device), ("Paused", "true" if paused else "false")]
        if paused and reason:
            fields.append(("Reason", reason))
        try:
            reply = await self.link.send_once(
                lambda conn: conn.request("QueuePause", fields, self.link.reply_timeout)
            )
        except (OSError, TimeoutError) as exc:
            raise ProtocolError(f"Asterisk {self.name} unreachable: {_describe(exc)}") from exc
        if reply.response.lower() != "success":
            raise ProtocolError(f"Asterisk refused the pause: {reply.get('Message')}")
        log.info("telephony %s: QueuePause %s paused=%s", self.name, device, paused)


class _AmiHooks:
    """The AMI side of the link: banner and Login, the resync lists, Ping, Logoff."""

    keepalive = "Ping"
    login_step = "logging in"

    def __init__(
        self, options: AmiOptions, mapper: AmiCallMapper, members: AmiMemberMapper
    ) -> None:
        self.options = options
        self.mapper = mapper
        self.members = members
        self._reply_timeout = max(options.ping_timeout_s, options.connect_timeout_s)

    def connect(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_item: Callable[[Message], None],
        on_reject: Callable[[int, str], None],
    ) -> AmiConnection:
        return AmiConnection(reader, writer, on_item, on_reject)

    async def login(self, conn: AmiConnection) -> str:
        version = await self.manager_version(conn)
        return f"logged in to {self.options.host}:{self.options.port} (AMI {version})"

    async def manager_version(self, conn: AmiConnection) -> str:
        """Wait for the banner, send Login; the manager version. Raises AuthError on Error."""
        try:
            async with asyncio.timeout(self.options.connect_timeout_s):
                banner = await conn.banner
        except TimeoutError:
            raise TimeoutError("no banner from the server: is this the AMI port?") from None
        if banner is None:
            if conn.closed.is_set():
                raise ConnectionError(conn.close_reason)
            raise ProtocolError("no 'Asterisk Call Manager' banner: is this the AMI port?")
        fields = [
            ("Username", self.options.username),
            ("Secret", self.options.secret),
            ("Events", self.options.events),
        ]
        reply = await conn.request("Login", fields, self._reply_timeout)
        if reply.response.lower() != "success":
            message = reply.get("Message") or reply.response
            raise AuthError(f"login failed: {message} (check the user and secret in manager.conf)")
        return banner.version

    async def subscribe(self, conn: AmiConnection) -> None:
        """Nothing to do: the Login's `Events` mask subscribed."""

    async def resync(self, conn: AmiConnection, emit: Emitter) -> None:
        """Re-learn calls ringing, answered or queued (events missed while away)."""

        def channels_done(items: list[Message]) -> None:
            emit(self.mapper.resync_channels([i for i in items if i.event == "CoreShowChannel"]))

        def queues_done(items: list[Message]) -> None:
            emit(self.mapper.resync_queues([i for i in items if i.event == "QueueEntry"]))
            emit(self.members.resync([i for i in items if i.event == "QueueMember"]))

        wait = self.options.resync_timeout_s
        await conn.request_list("CoreShowChannels", [], wait, channels_done)
        try:
            await conn.request_list("QueueStatus", [], wait, queues_done)
        except ProtocolError as exc:  # app_queue not loaded: nobody to re-learn
            log.debug("telephony %s: %s", self.mapper.source, exc)

    async def ping(self, conn: AmiConnection, wait_s: float) -> None:
        await conn.request("Ping", [], wait_s)

    def map(self, item: Message) -> Sequence[SourceEvent]:
        return [*self.mapper.feed(item), *self.members.feed(item)]

    def describe(self, item: Message) -> str:
        return f"{item.event} event of call {item.get('Linkedid') or '?'}"

    def explain(self, exc: BaseException) -> str:
        return _describe(exc)

    def closing(self, conn: AmiConnection) -> None:
        conn.send_logoff()

    async def goodbye(self, conn: AmiConnection) -> None:
        """Logoff goes out in :meth:`closing`."""
