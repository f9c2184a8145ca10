"""`screenpop watch`: an agent's websocket in a terminal, to test a PBX hookup without a browser.

It connects to the daemon's `/ws` with `Authorization: Bearer <token>` (no `Origin`: it is not
a browser), prints one readable line (or two) per message as it arrives, acknowledges every pop
as the agent page does (so ring-to-render latency is recorded), and after a dropped connection
reconnects with backoff and sends `resume` with the last `seq` it printed: nothing is missed or
printed twice. A refused token, or a hello for another agent than the one asked for, ends it with
exit 1. :class:`Printer` is the sans-I/O part: messages in, lines out.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import getpass
import json
import os
import signal
import sys
from typing import Any, TextIO

import aiohttp

from screenpop.telephony.backoff import Backoff

TOKEN_ENV = "SCREENPOP_TOKEN"
HEARTBEAT_S = 20.0


class WrongAgent(Exception):
    """The daemon greeted another agent than the one asked for."""


def _caller(card: dict[str, Any]) -> str:
    caller = card.get("caller") or {}
    if caller.get("withheld"):
        return "withheld"
    national, e164 = caller.get("national"), caller.get("e164")
    text = " / ".join(dict.fromkeys(p for p in (national, e164) if p)) or (
        caller.get("extension") or caller.get("raw") or "no caller id"
    )
    name = caller.get("name")
    return f'{text} "{name}"' if name else text


def _customer(card: dict[str, Any]) -> str:
    summary = card.get("summary") or {}
    name, customer_id = summary.get("name"), summary.get("customer_id")
    if name and customer_id:
        return f"{name} ({customer_id})"
    return str(name or customer_id or "no customer found")


def _section(name: str, section: dict[str, Any]) -> str:
    ms = section.get("ms")
    text = f"{name} {section.get('status', '?')}"
    if isinstance(ms, int | float):
        text += f" {ms:.0f}ms"
    if section.get("cached"):
        text += " cached"
    if section.get("error"):
        text += f" ({section['error']})"
    return text


class Printer:
    """What to print for each message of the stream; remembers each call's section statuses so
    a `card` update says which sections changed."""

    def __init__(self, agent_id: str, board: bool = False) -> None:
        self.agent_id = agent_id
        self.board = board
        self.last_seq = 0
        self._sections: dict[str, dict[str, str]] = {}  # call id -> section -> status

    def lines(self, message: dict[str, Any], now: datetime.datetime | None = None) -> list[str]:
        """The lines for one message (none for a duplicate or an unwanted board snapshot).
        Raises WrongAgent for a hello naming another agent."""
        kind = message.get("type")
        if kind == "hello":
            return self._hello(message)
        if kind == "error":
            return [f"the daemon refused a message: {message.get('reason')}"]
        seq = message.get("seq")
        if isinstance(seq, int):
            if seq <= self.last_seq:
                return []
            self.last_seq = seq
        stamp = (now or datetime.datetime.now()).strftime("%H:%M:%S")
        handler = _HANDLERS.get(str(kind))
        if handler is None:
            return [f"{stamp} {kind} message"]
        return [
            f"{stamp} {line}" if i == 0 else line for i, line in enumerate(handler(self, message))
        ]

    def _hello(self, message: dict[str, Any]) -> list[str]:
        agent = message.get("agent")
        if agent != self.agent_id:
            raise WrongAgent(f"the daemon greeted agent {agent!r}, not {self.agent_id!r}: "
                             "is this token that agent's?")  # fmt: skip
        seq = message.get("seq")
        if isinstance(seq, int) and seq < self.last_seq:
            self.last_seq = 0  # the daemon restarted: its seqs did too
        return [f"connected as {agent} ({message.get('name') or agent}), role "
                f"{message.get('role')}"]  # fmt: skip

    def _pop(self, message: dict[str, Any]) -> list[str]:
        card = message.get("card") or {}
        call_id = str(message.get("call_id"))
        sections = card.get("sections") or {}
        self._sections[call_id] = {n: str(s.get("status")) for n, s in sections.items()}
        queue = f", queue {message['queue']}" if message.get("queue") else ""
        direction = " outbound" if message.get("direction") == "outbound" else ""
        head = (f"POP{direction} call {call_id} {message.get('state')}{queue}: "
                f"{_caller(card)} -> {_customer(card)}")  # fmt: skip
        parts = [_section(n, s) for n, s in sections.items()] or ["no sections"]
        candidates = card.get("candidates") or []
        if len(candidates) > 1:
            parts.append(f"{len(candidates)} candidates")
        return [head, f"    {', '.join(parts)}"]

    def _card(self, message: dict[str, Any]) -> list[str]:
        card = message.get("card") or {}
        call_id = str(message.get("call_id"))
        before = self._sections.get(call_id, {})
        sections = card.get("sections") or {}
        now = {n: str(s.get("status")) for n, s in sections.items()}
        self._sections[call_id] = now
        changed = [
            f"{n} {before[n]} -> {now[n]}" if n in before else _section(n, sections[n])
            for n in now
            if before.get(n) != now[n]
        ]
        what = ", ".join(changed) or "no section changed"
        return [f"CARD call {call_id}: {what}; customer {_customer(card)}"]

    def _call(self, message: dict[str, Any]) -> list[str]:
        holder = message.get("agent")
        held = f" (held by {holder})" if holder and holder != self.agent_id else ""
        return [f"CALL {message.get('call_id')} {message.get('state')}{held}"]

    def _note(self, message: dict[str, Any]) -> list[str]:
        note = message.get("note") or {}
        text = f' "{note["text"]}"' if note.get("text") else ""
        return [f"NOTE on {message.get('call_id')}: {note.get('disposition')}{text}"]

    def _board(self, message: dict[str, Any]) -> list[str]:
        if not self.board:
            return []
        board = message.get("board") or {}
        queues = [f"{q.get('name')} {len(q.get('waiting') or [])} waiting"
                  for q in board.get("queues") or []]  # fmt: skip
        agents = len(board.get("agents") or [])
        return [f"BOARD {', '.join(queues) or 'no queues'}; {agents} agents"]


_HANDLERS = {
    "pop": Printer._pop,
    "card": Printer._card,
    "call": Printer._call,
    "note": Printer._note,
    "board": Printer._board,
}


def ws_url(url: str) -> str:
    """`http://host:8080` -> `ws://host:8080/ws` (https -> wss); a ws(s) URL is kept."""
    base = url.strip().rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    elif not base.startswith(("ws://", "wss://")):
        base = "ws://" + base
    return base if base.endswith("/ws") else base + "/ws"


async def watch(
    url: str,
    agent_id: str,
    token: str,
    out: TextIO,
    board: bool = False,
    backoff: Backoff | None = None,
) -> int:
    """Print the agent's stream until cancelled; 1 when the token or the agent is refused."""
    printer = Printer(agent_id, board)
    backoff = backoff or Backoff(0.5, 15.0)
    target = ws_url(url)
    headers = {"Authorization": f"Bearer {token}"}
    connected_before = False
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.ws_connect(target, headers=headers, heartbeat=HEARTBEAT_S) as ws:
                    await _serve(ws, printer, out, connected_before)
                    connected_before = True
                    backoff.reset()
                    reason = f"connection closed (code {ws.close_code})"
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status in (401, 403):
                    _say(out, _refused(exc.status, agent_id, target))
                    return 1
                reason = f"the daemon answered HTTP {exc.status}"
            except WrongAgent as exc:
                _say(out, f"screenpop watch: {exc}")
                return 1
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
            delay = backoff.next()
            _say(out, f"disconnected: {reason}; reconnecting in {delay:.1f}s")
            await asyncio.sleep(delay)


def _refused(status: int, agent_id: str, target: str) -> str:
    if status == 401:
        return f"screenpop watch: token refused for agent {agent_id}"
    return f"screenpop watch: {target} refused the connection (403: origin or role not allowed)"


def _say(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()


async def _serve(
    ws: aiohttp.ClientWebSocketResponse, printer: Printer, out: TextIO, resume: bool
) -> None:
    """One connection: print every message, ack pops; `resume` after the first hello when this
    is a reconnect. Returns when the connection closes; raises WrongAgent."""
    async for msg in ws:
        if msg.type is not aiohttp.WSMsgType.TEXT:
            continue
        try:
            message = json.loads(msg.data)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        fresh = not isinstance(message.get("seq"), int) or message["seq"] > printer.last_seq
        for line in printer.lines(message):
            _say(out, line)
        if message.get("type") == "hello" and resume:
            await ws.send_json({"type": "resume", "last_seq": printer.last_seq})
        elif message.get("type") == "pop" and fresh:
            await ws.send_json({"type": "ack", "seq": message["seq"]})


def read_token(agent_id: str) -> str:
    """The token from $SCREENPOP_TOKEN, else asked for without echo."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    return token or getpass.getpass(f"token for agent {agent_id}: ").strip()


def run_watch(agent_id: str, url: str, board: bool) -> int:
    """`screenpop watch`: until Ctrl-C (exit 0, quietly) or a refusal (exit 1)."""
    try:
        token = read_token(agent_id)
    except (EOFError, KeyboardInterrupt):
        return 0
    if not token:
        print(f"screenpop watch: no token (set ${TOKEN_ENV} or type it)", file=sys.stderr)
        return 1

    async def main() -> int:
        task = asyncio.ensure_future(watch(url, agent_id, token, sys.stdout, board))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(sig, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            return 0

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0
