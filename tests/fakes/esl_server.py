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
from urllib.parse import quote

REJECTION = "Access Denied, go away.\n"
DISCONNECT_TEXT = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
MEMBER_COLUMNS = [
    "queue", "instance_id", "uuid", "session_uuid", "cid_number", "cid_name", "system_epoch",
    "joined_epoch", "rejoined_epoch", "bridge_epoch", "abandoned_epoch", "base_score",
    "skill_score", "serving_agent", "serving_system", "state", "score",
]  # fmt: skip
_SAFE = "-_.!~*'()"  # what FreeSWITCH's switch_url_encode leaves alone besides alphanumerics


def frame(headers: Mapping[str, str], body: bytes = b"") -> bytes:
    """One outer frame: plain headers, Content-Length when there is a body, then the body."""
    lines = [f"{k}: {v}" for k, v in headers.items()]
    if body:
        lines.insert(0, f"Content-Length: {len(body)}")
    return ("\n".join(lines) + "\n\n").encode() + body


def event_body(headers: Mapping[str, str], body: str = "") -> bytes:
    """A text/event-plain body as switch_event_serialize writes it: URL-encoded values."""
    text = "".join(f"{k}: {quote(v, safe=_SAFE)}\n" for k, v in headers.items())
    raw = body.encode()
    if raw:
        return (text + f"Content-Length: {len(raw)}\n\n").encode() + raw
    return (text + "\n").encode()


def event_frame(headers: Mapping[str, str], body: str = "") -> bytes:
    """The whole frame FreeSWITCH sends for one event."""
    return frame({"Content-Type": "text/event-plain"}, event_body(headers, body))


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
        notice = frame({"Content-Type": "text/disconnect-notice"}, DISCONNECT_TEXT.encode())
        for client in list(self._clients):
            client.writer.write(notice)
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
            line = block.decode().strip().splitlines()[0]
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
            self.failed_logins += 1
            client.writer.write(_reply("-ERR invalid"))
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
            client.writer.write(
                frame({"Content-Type": "text/disconnect-notice"}, DISCONNECT_TEXT.encode())
            )
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
            names = sorted(set(self.members))
            return (
                "name|strategy|moh_sound\n" + "".join(f"{n}|ring-all|\n" for n in names) + "+OK\n"
            )
        if command.startswith("callcenter_config queue list members "):
            queue = command.rsplit(" ", 1)[1]
            rows = self.members.get(queue, [])
            lines = ["|".join(MEMBER_COLUMNS)]
            lines += ["|".join(r[c] for c in MEMBER_COLUMNS) for r in rows]
            return "\n".join(lines) + "\n+OK\n"
        return f"-ERR {command.split(' ')[0]} Command not found!\n"


def _reply(text: str) -> bytes:
    return frame({"Content-Type": "command/reply", "Reply-Text": text})


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
    """A `CUSTOM callcenter::info` event for the member whose channel uuid is `member`."""
    h = _common("CUSTOM")
    h.update({
        "Event-Subclass": "callcenter::info",
        "CC-Queue": queue,
        "CC-Action": action,
        "CC-Member-UUID": f"row-{member}",
        "CC-Member-Session-UUID": member,
        "CC-Member-CID-Number": "+12125551234",
        "CC-Member-CID-Name": "Jane Doe",
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


def bridge_event(a: str, b: str, **extra: str) -> dict[str, str]:
    """CHANNEL_BRIDGE as fired on leg `a` when it is bridged to leg `b`."""
    return channel_event(
        "CHANNEL_BRIDGE", a, direction="inbound",
        **{"Bridge-A-Unique-ID": a, "Bridge-B-Unique-ID": b, "Other-Leg-Unique-ID": b}, **extra,
    )  # fmt: skip
