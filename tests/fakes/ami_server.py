"""A fake Asterisk manager: real TCP on 127.0.0.1, speaking AMI as Asterisk 22 does.

It greets with the banner, answers `Login` (Success + FullyBooted, or `Authentication failed`
and a hang-up, as Asterisk does for a bad secret), `Ping`, `Logoff`, `Originate` (queued, or
refused), and the event-list actions `CoreShowChannels` and `QueueStatus` from the channels and
waiting callers of a :class:`~tests.fakes.ami_scenarios.Pbx`. Every response carries the action's
`ActionID`; anything before login gets `Authentication Required`. Tests push event packets with
:meth:`FakeAsterisk.send`, cut every connection with :meth:`drop`, and make the current sessions
half-open (connected, silent) with :meth:`stall`. `QueuePause` is answered (or refused with
:attr:`FakeAsterisk.refuse_pause`) and, as app_queue does, confirmed to every session by one
`QueueMemberPause` per queue of :attr:`FakeAsterisk.member_queues`.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.fakes.ami_scenarios import Fields, Pbx, packet

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def _parse_actions(buffer: bytearray) -> list[dict[str, list[str]]]:
    """Complete actions in `buffer` (removed from it); keys as sent, values in order."""
    actions: list[dict[str, list[str]]] = []
    while True:
        text = bytes(buffer).replace(b"\r\n", b"\n")
        end = text.find(b"\n\n")
        if end == -1:
            return actions
        raw_end = _raw_offset(buffer, end + 2)
        block = text[:end].decode("utf-8", errors="replace")
        del buffer[:raw_end]
        action: dict[str, list[str]] = {}
        for line in block.split("\n"):
            key, _, value = line.partition(": ")
            if key:
                action.setdefault(key.lower(), []).append(value)
        if action:
            actions.append(action)


def _raw_offset(buffer: bytearray, lf_offset: int) -> int:
    """Map an offset in the CRLF-folded text back to the raw buffer."""
    raw = folded = 0
    while folded < lf_offset:
        if buffer[raw : raw + 2] == b"\r\n":
            raw += 2
        else:
            raw += 1
        folded += 1
    return raw


def member_pause(queue: str, interface: str, paused: bool, reason: str) -> bytes:
    """A `QueueMemberPause` event as Asterisk 22 writes it (the fields of its real
    `QueueMemberStatus`, documented for this event)."""
    return packet(
        [
            ("Event", "QueueMemberPause"),
            ("Privilege", "agent,all"),
            ("Timestamp", "1795351030.101010"),
            ("Queue", queue),
            ("MemberName", interface),
            ("Interface", interface),
            ("StateInterface", interface),
            ("Membership", "static"),
            ("Penalty", "0"),
            ("CallsTaken", "0"),
            ("LastCall", "0"),
            ("LastPause", "1795351030" if paused else "0"),
            ("LoginTime", "1795350358"),
            ("InCall", "0"),
            ("Status", "1"),
            ("Paused", "1" if paused else "0"),
            ("PausedReason", reason),
            ("Ringinuse", "0"),
            ("Wrapuptime", "0"),
        ]
    )


class _Session:
    def __init__(self, server: FakeAsterisk, writer: asyncio.StreamWriter) -> None:
        self.server, self.writer = server, writer
        self.logged_in = False
        self.stalled = False

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def respond(self, action_id: str, response: str, fields: Fields | None = None) -> None:
        self.write(packet([("Response", response), ("ActionID", action_id), *(fields or [])]))

    def handle(self, action: dict[str, list[str]]) -> bool:
        """Answer one action; False to hang up."""
        name = action.get("action", [""])[0].lower()
        action_id = action.get("actionid", [""])[0]
        if self.stalled:
            return True
        if name == "login":
            return self._login(action, action_id)
        if not self.logged_in:
            self.respond(action_id, "Error", [("Message", "Authentication Required")])
            return True
        if name in self.server.forbidden:  # the manager.conf user lacks the read/write class
            self.respond(action_id, "Error", [("Message", "Permission denied")])
            return True
        handler = {
            "ping": self._ping,
            "logoff": self._logoff,
            "originate": self._originate,
            "queuepause": self._queue_pause,
            "coreshowchannels": self._core_show_channels,
            "queuestatus": self._queue_status,
        }.get(name)
        if handler is None:
            self.respond(action_id, "Error", [("Message", "Invalid/unknown command")])
            return True
        return handler(action, action_id)

    def _login(self, action: dict[str, list[str]], action_id: str) -> bool:
        user = action.get("username", [""])[0]
        secret = action.get("secret", [""])[0]
        if (user, secret) != (self.server.username, self.server.secret):
            self.server.failed_logins += 1
            self.respond(action_id, "Error", [("Message", "Authentication failed")])
            return False
        self.logged_in = True
        self.server.logins += 1
        self.respond(action_id, "Success", [("Message", "Authentication accepted")])
        self.write(
            packet(
                [
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Uptime", "662"),
                    ("LastReload", "375"),
                    ("Status", "Fully Booted"),
                ]
            )
        )
        return True

    def _ping(self, action: dict[str, list[str]], action_id: str) -> bool:
        self.server.pings += 1
        self.respond(action_id, "Success", [("Ping", "Pong"), ("Timestamp", "1795351021.982458")])
        return True

    def _logoff(self, action: dict[str, list[str]], action_id: str) -> bool:
        self.respond(action_id, "Goodbye", [("Message", "Thanks for all the fish.")])
        return False

    def _originate(self, action: dict[str, list[str]], action_id: str) -> bool:
        self.server.originates.append(action)
        if self.server.refuse_originate:
            self.respond(action_id, "Error", [("Message", self.server.refuse_originate)])
        else:
            self.respond(action_id, "Success", [("Message", "Originate successfully queued")])
        return True

    def _queue_pause(self, action: dict[str, list[str]], action_id: str) -> bool:
        server = self.server
        server.pauses.append(action)
        if server.refuse_pause:
            self.respond(action_id, "Error", [("Message", server.refuse_pause)])
            return True
        interface = action.get("interface", [""])[0]
        paused = action.get("paused", ["false"])[0].lower() == "true"
        reason = action.get("reason", [""])[0] if paused else ""
        message = "Interface paused successfully" if paused else "Interface unpaused successfully"
        self.respond(action_id, "Success", [("Message", message)])
        for queue in server.member_queues:
            data = member_pause(queue, interface, paused, reason)
            for session in server.sessions:
                if session.logged_in and not session.stalled:
                    session.write(data)
        return True

    def _event_list(self, action_id: str, message: str, rows: list[Fields], event: str) -> None:
        data = [
            packet(
                [
                    ("Response", "Success"),
                    ("ActionID", action_id),
                    ("EventList", "start"),
                    ("Message", message),
                ]
            )
        ]
        data += [packet([("Event", event), ("ActionID", action_id), *row]) for row in rows]
        self.write(b"".join(data))

    def _list_end(self, action_id: str, event: str, count: int) -> None:
        end = [("Event", event), ("ActionID", action_id), ("EventList", "Complete")]
        self.write(packet([*end, ("ListItems", str(count))]))

    def _core_show_channels(self, action: dict[str, list[str]], action_id: str) -> bool:
        rows = self.server.pbx.core_show_channels()
        self._event_list(action_id, "Channels will follow", rows, "CoreShowChannel")
        self._list_end(action_id, "CoreShowChannelsComplete", len(rows))
        return True

    def _queue_status(self, action: dict[str, list[str]], action_id: str) -> bool:
        rows = self.server.pbx.queue_entries()
        self._event_list(action_id, "Queue status will follow", rows, "QueueEntry")
        self._list_end(action_id, "QueueStatusComplete", len(rows))
        self.server.resyncs += 1
        return True


class FakeAsterisk:
    """Start with :meth:`start` (returns the port), stop with :meth:`stop`."""

    def __init__(
        self, pbx: Pbx | None = None, username: str = "screenpop", secret: str = "s3cret"
    ) -> None:
        self.pbx = pbx or Pbx()
        self.username, self.secret = username, secret
        self.sessions: list[_Session] = []
        self.logins = self.failed_logins = self.pings = self.resyncs = self.connections = 0
        self.originates: list[dict[str, list[str]]] = []
        self.refuse_originate: str | None = None
        self.pauses: list[dict[str, list[str]]] = []  # QueuePause actions received
        self.refuse_pause: str | None = None
        self.member_queues = ["support", "sales"]  # the queues every member is in
        self.forbidden: set[str] = set()  # lower-case action names answered "Permission denied"
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        await self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, writer)
        self.sessions.append(session)
        self.connections += 1
        buffer = bytearray()
        try:
            writer.write(BANNER)
            while not writer.is_closing():
                data = await reader.read(65536)
                if not data:
                    break
                buffer += data
                if not all(session.handle(a) for a in _parse_actions(buffer)):
                    await writer.drain()
                    break
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if session in self.sessions:
                self.sessions.remove(session)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def send(self, packets: list[bytes] | bytes) -> None:
        """Push packets (events, or any raw bytes) to every logged-in session."""
        data = packets if isinstance(packets, bytes) else b"".join(packets)
        for session in list(self.sessions):
            if session.logged_in and not session.stalled:
                session.write(data)
                with contextlib.suppress(ConnectionError, OSError):
                    await session.writer.drain()

    async def drop(self) -> None:
        """The PBX goes away: every connection is cut."""
        for session in list(self.sessions):
            session.writer.close()
        self.sessions.clear()

    def stall(self) -> None:
        """The current sessions stay open but answer nothing more (a half-open connection)."""
        for session in self.sessions:
            session.stalled = True
