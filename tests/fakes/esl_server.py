"""A fake FreeSWITCH mod_event_socket (inbound mode) on 127.0.0.1, speaking the real wire format.

On connect it sends `Content-Type: auth/request`; `auth <password>` gets `+OK accepted` or
`-ERR invalid` (and the connection closed, as FreeSWITCH does). `event plain ...` gets a
command/reply and subscribes the client; `api ...` gets an api/response with a Content-Length
body (`status`, `show channels as json`, `callcenter_config queue list`, `callcenter_config
queue list members <queue>`); `bgapi ...` gets `+OK Job-UUID: ...`; `exit` gets a reply and a
disconnect-notice. Events go to subscribed clients as `text/event-plain` frames whose header
values are URL-encoded and whose outer Content-Length counts the body bytes.

Tests drive it: :meth:`FakeFreeSwitch.send_event`, :meth:`disconnect_notice`, :meth:`drop`,
:attr:`mute` (stop answering and sending: a half-open connection), and the `channels` / `members`
tables that the resync commands read.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType

from screenpop.telephony.freeswitch.protocol import (
    encode_event,
    encode_frame,
    parse_command,
)
from screenpop.telephony.freeswitch.protocol import (
    event_frame as event_frame,  # tests build events with it
)

REJECTION = "Access Denied, go away.\n"
DISCONNECT_TEXT = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
MEMBER_COLUMNS = [
    "queue", "instance_id", "uuid", "session_uuid", "cid_number", "cid_name", "system_epoch",
    "joined_epoch", "rejoined_epoch", "bridge_epoch", "abandoned_epoch", "base_score",
    "skill_score", "serving_agent", "serving_system", "state", "score",
]  # fmt: skip
QUEUE_COLUMNS = [
    "name", "strategy", "moh_sound", "time_base_score", "tier_rules_apply",
    "tier_rule_wait_second", "tier_rule_wait_multiply_level", "tier_rule_no_agent_no_wait",
    "discard_abandoned_after", "abandoned_resume_allowed", "max_wait_time",
    "max_wait_time_with_no_agent", "max_wait_time_with_no_agent_time_reached", "record_template",
    "calls_answered", "calls_abandoned", "ring_progressively_delay",
    "skip_agents_with_external_calls", "agent_no_answer_status",
]  # fmt: skip  # the 19 columns of FreeSWITCH 1.10's `callcenter_config queue list`


def frame(headers: Mapping[str, str], body: bytes = b"") -> bytes:
    """One outer frame as FreeSWITCH writes a reply: `Content-Type` first, then
    `Content-Length` when there is a body (api/response, disconnect-notice)."""
    return encode_frame(headers, body)


def event_body(headers: Mapping[str, str], body: str = "") -> bytes:
    """A text/event-plain body as switch_event_serialize writes it: URL-encoded values."""
    return encode_event(headers, body)


@dataclass
class _Client:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    subscribed: bool = False
    commands: list[str] = field(default_factory=list)


class FakeFreeSwitch:
    """`async with FakeFreeSwitch(password) as fs:` listens on `fs.port` until the block ends."""

    def __init__(self, password: str = "ClueCon") -> None:
        self.password = password
        self.port = 0
        self.channels: dict[str, dict[str, str]] = {}  # uuid -> `show channels` row
        self.members: dict[str, list[dict[str, str]]] = {}  # queue -> member rows
        self.queues: set[str] = set()  # queues listed even when nobody waits in them
        self.callcenter_loaded = True
        self.mute = False  # read but never answer or send anything: a half-open connection
        self.rude = False  # refuse connections as an inbound ACL does (text/rude-rejection)
        self.commands: list[str] = []  # every command received, in order, across connections
        self.logins = 0
        self.failed_logins = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._clients: list[_Client] = []
        self._tasks: set[asyncio.Task[object]] = set()
        self._subscribed = asyncio.Condition()

    async def __aenter__(self) -> FakeFreeSwitch:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self.drop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    # -- what tests call ------------------------------------------------------------------------

    async def wait_subscribed(self, count: int = 1) -> None:
        """Until `count` subscriptions have been made since the server started."""
        async with self._subscribed:
            await self._subscribed.wait_for(lambda: self._subscriptions() >= count)

    async def send_event(self, headers: Mapping[str, str], body: str = "") -> None:
        """Send one event to every subscribed client."""
        await self.send_raw(event_frame(headers, body))

    async def send_raw(self, data: bytes, chunk: int = 0) -> None:
        """Send bytes as they are to every subscribed client, optionally in small writes."""
        for client in [c for c in self._clients if c.subscribed]:
            step = chunk or len(data) or 1
            for i in range(0, len(data), step):
                client.writer.write(data[i : i + step])
                with contextlib.suppress(OSError):
                    await client.writer.drain()

    async def disconnect_notice(self) -> None:
        """Send text/disconnect-notice to every client, then close, as FreeSWITCH does."""
        for client in list(self._clients):
            client.writer.write(_disconnect_notice())
        await self.drop()

    async def drop(self) -> None:
        """Close every connection without a word."""
        for client in list(self._clients):
            client.writer.close()
            with contextlib.suppress(OSError):
                await client.writer.wait_closed()
        self._clients.clear()

    def add_member(self, queue: str, session_uuid: str, number: str, name: str, **row: str) -> None:
        """A row of `callcenter_config queue list members <queue>`."""
        base = dict.fromkeys(MEMBER_COLUMNS, "")
        base.update(queue=queue, uuid=str(uuid.uuid4()), session_uuid=session_uuid)
        base.update(cid_number=number, cid_name=name, state="Waiting", serving_system="single_box")
        base.update(row)
        self.members.setdefault(queue, []).append(base)

    # -- the protocol ---------------------------------------------------------------------------

    def _subscriptions(self) -> int:
        return sum(1 for c in self.commands if c.startswith("event plain"))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        client = _Client(reader, writer)
        self._clients.append(client)
        self.connections += 1
        try:
            if self.rude:
                writer.write(frame({"Content-Type": "text/rude-rejection"}, REJECTION.encode()))
                await writer.drain()
                return
            writer.write(frame({"Content-Type": "auth/request"}))
            await self._serve(client)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            if client in self._clients:
                self._clients.remove(client)
            writer.close()

    async def _serve(self, client: _Client) -> None:
        authed = False
        while True:
            block = await client.reader.readuntil(b"\n\n")
            line, _headers = parse_command(block)
            self.commands.append(line)
            if self.mute:
                continue
            if not authed:
                authed = await self._auth(client, line)
                if not authed:
                    return
                continue
            if not await self._command(client, line):
                return
            async with self._subscribed:
                self._subscribed.notify_all()

    async def _auth(self, client: _Client, line: str) -> bool:
        if line == f"auth {self.password}":
            self.logins += 1
            client.writer.write(_reply("+OK accepted"))
            return True
        if line.startswith("auth "):
            # FreeSWITCH 1.10: the refusal, then a disconnect-notice, then it closes the socket
            self.failed_logins += 1
            client.writer.write(_reply("-ERR invalid"))
            client.writer.write(_disconnect_notice())
        else:
            client.writer.write(_reply("-ERR command not found"))
        await client.writer.drain()
        return False

    async def _command(self, client: _Client, line: str) -> bool:
        if line.startswith("event plain "):
            client.subscribed = True
            client.writer.write(_reply("+OK event listener enabled plain"))
        elif line.startswith("api "):
            body = self._api(line.removeprefix("api ").strip())
            client.writer.write(frame({"Content-Type": "api/response"}, body.encode()))
        elif line.startswith("bgapi "):
            job = str(uuid.uuid4())
            client.writer.write(
                frame({"Content-Type": "command/reply", "Reply-Text": f"+OK Job-UUID: {job}",
                       "Job-UUID": job})
            )  # fmt: skip
        elif line == "exit":
            client.writer.write(_reply("+OK bye"))
            client.writer.write(_disconnect_notice())
            await client.writer.drain()
            return False
        else:
            client.writer.write(_reply("-ERR command not found"))
        await client.writer.drain()
        return True

    def _api(self, command: str) -> str:
        if command == "status":
            return "UP 0 years, 0 days, 1 hour, 2 minutes\nFreeSWITCH (Version 1.10.12) is ready\n"
        if command == "show channels as json":
            rows = list(self.channels.values())
            data: dict[str, object] = {"row_count": len(rows)}
            if rows:
                data["rows"] = rows
            return json.dumps(data)
        if command.startswith("callcenter_config queue list") and not self.callcenter_loaded:
            return "-ERR callcenter_config Command not found!\n"
        if command == "callcenter_config queue list":
            lines = ["|".join(QUEUE_COLUMNS)]
            for name in sorted(set(self.members) | set(self.queues)):
                row = dict.fromkeys(QUEUE_COLUMNS, "0")
                row.update(name=name, strategy="ring-all", record_template="")
                lines.append("|".join(row[c] for c in QUEUE_COLUMNS))
            return "\n".join(lines) + "\n+OK\n"
        if command.startswith("callcenter_config queue list members "):
            queue = command.rsplit(" ", 1)[1]
            rows = self.members.get(queue, [])
            if not rows:
                return "+OK\n"  # FreeSWITCH 1.10 prints no header line for an empty queue
            lines = ["|".join(MEMBER_COLUMNS)]
            lines += ["|".join(r[c] for c in MEMBER_COLUMNS) for r in rows]
            return "\n".join(lines) + "\n+OK\n"
        return f"-ERR {command.split(' ')[0]} Command not found!\n"


def _reply(text: str) -> bytes:
    return frame({"Content-Type": "command/reply", "Reply-Text": text})


def _disconnect_notice() -> bytes:
    return frame({"Content-Type": "text/disconnect-notice"}, DISCONNECT_TEXT.encode())


# -- events as FreeSWITCH 1.10 writes them (the headers that matter, plus realistic noise) --------

_SEQUENCE = itertools.count(4001)


def _common(name: str) -> dict[str, str]:
    return {
        "Event-Name": name,
        "Core-UUID": "6ddf010e-bc0b-4366-8413-6becd7f77076",
        "FreeSWITCH-Hostname": "fs1",
        "FreeSWITCH-IPv4": "10.0.0.5",
        "Event-Date-Local": "2026-11-20 10:02:00",
        "Event-Date-GMT": "Fri, 20 Nov 2026 10:02:00 GMT",
        "Event-Calling-File": "switch_channel.c",
        "Event-Sequence": str(next(_SEQUENCE)),
    }


def channel_event(
    name: str,
    uuid: str,
    *,
    direction: str,
    number: str = "+12125551234",
    caller_name: str = "Jane Doe",
    dest: str = "5000",
    root: str | None = None,
    user: str | None = None,
    state: str = "CS_EXECUTE",
    **extra: str,
) -> dict[str, str]:
    """A CHANNEL_* event. Outbound legs name their caller's leg (`root`) as FreeSWITCH does:
    `variable_call_uuid` and `Other-Leg-Unique-ID`; `user` is the `user/<x>` it dialed."""
    h = _common(name)
    h.update({
        "Channel-State": state,
        "Channel-Name": f"sofia/internal/{user or number}@10.0.0.5",
        "Unique-ID": uuid,
        "Call-Direction": direction,
        "Answer-State": "ringing" if name == "CHANNEL_CREATE" else "answered",
        "Caller-Caller-ID-Number": number,
        "Caller-Caller-ID-Name": caller_name,
        "Caller-Destination-Number": user or dest,
        "Caller-Unique-ID": uuid,
        "variable_call_uuid": root or uuid,
    })  # fmt: skip
    if root:
        h["Other-Leg-Unique-ID"] = root
    if user:
        h["variable_dialed_user"] = user
        h["variable_dialed_domain"] = "default"
    h.update(extra)
    return h


# What each callcenter::info action carries besides its CC-* headers, as FreeSWITCH 1.10.12 sends
# it (tests/fixtures/esl): the member's channel data, the agent leg's, or none at all.
_MEMBER_DATA = frozenset({"member-queue-start", "member-queue-resume", "member-queue-end"})
_AGENT_DATA = frozenset({"bridge-agent-start", "bridge-agent-end"})


def cc_event(
    action: str,
    member: str,
    *,
    queue: str = "support@default",
    agent: str | None = None,
    agent_uuid: str | None = None,
    cause: str | None = None,
    cancel_reason: str | None = None,
    hangup_cause: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """A `CUSTOM callcenter::info` event for the member whose channel uuid is `member`.

    As real FreeSWITCH writes them: `member-queue-*` carry the member (caller) channel's data,
    so its privacy flags and, for `member-queue-end`, its `Answer-State`; `bridge-agent-start`
    and `-end` carry the agent leg's data (its own privacy flags, never the caller's) and
    `CC-Agent-UUID`; `agent-offering` and `bridge-agent-fail` carry no channel data and no
    `CC-Agent-UUID` (`agent_uuid` is dropped for them). `extra` overrides anything.
    """
    h = _common("CUSTOM")
    h["Event-Subclass"] = "callcenter::info"
    number, name = "+12125551234", "Jane Doe"
    if action in _MEMBER_DATA:
        h.update(_channel_data(member, "inbound", number, name, side="member"))
    elif action in _AGENT_DATA:
        leg = agent_uuid or f"agent-leg-{member}"
        h.update(_channel_data(leg, "outbound", number, name, side="agent"))
    else:
        agent_uuid = None
    h.update({
        "CC-Queue": queue,
        "CC-Action": action,
        "CC-Member-UUID": f"row-{member}",
        "CC-Member-Session-UUID": member,
        "CC-Member-CID-Number": number,
        "CC-Member-CID-Name": name,
    })  # fmt: skip
    optional = {
        "CC-Agent": agent,
        "CC-Agent-UUID": agent_uuid,
        "CC-Cause": cause,
        "CC-Cancel-Reason": cancel_reason,
        "CC-Hangup-Cause": hangup_cause,
    }
    h.update({k: v for k, v in optional.items() if v is not None})
    h.update(extra)
    return h


def _channel_data(uuid: str, direction: str, number: str, name: str, side: str) -> dict[str, str]:
    """The channel headers switch_channel_event_set_data adds (the ones that matter)."""
    return {
        "Channel-State": "CS_EXECUTE",
        "Channel-Call-State": "ACTIVE",
        "Unique-ID": uuid,
        "Call-Direction": direction,
        "Answer-State": "answered",
        "Caller-Caller-ID-Number": number,
        "Caller-Caller-ID-Name": name,
        "Caller-Privacy-Hide-Name": "false",
        "Caller-Privacy-Hide-Number": "false",
        "variable_call_uuid": uuid,
        "variable_cc_side": side,
    }


def bridge_event(a: str, b: str, **extra: str) -> dict[str, str]:
    """CHANNEL_BRIDGE as fired on leg `a` when it is bridged to leg `b`."""
    return channel_event(
        "CHANNEL_BRIDGE", a, direction="inbound",
        **{"Bridge-A-Unique-ID": a, "Bridge-B-Unique-ID": b, "Other-Leg-Unique-ID": b}, **extra,
    )  # fmt: skip
