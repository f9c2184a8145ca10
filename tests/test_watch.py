"""`screenpop watch` against a real daemon in-process: pops, card updates and call states printed
as they arrive, pops acknowledged, resumed after a drop, refused tokens and agents exit 1."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from screenpop.cli import main
from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.telephony.backoff import Backoff
from screenpop.watch import Printer, WrongAgent, watch, ws_url
from tests.harness import make_settings, running, static, until


def ring(call_id: str, endpoint: str, caller: str = "+12125551234") -> CallEvent:
    return CallEvent("pbx", call_id, EventKind.RINGING, caller=caller, endpoint=endpoint)


def event(call_id: str, kind: EventKind, endpoint: str | None = None) -> CallEvent:
    return CallEvent("pbx", call_id, kind, endpoint=endpoint)


@contextlib.asynccontextmanager
async def watching(port: int, agent: str, token: str) -> AsyncIterator[io.StringIO]:
    out = io.StringIO()
    fast = Backoff(0.05, 0.2)
    task = asyncio.create_task(watch(f"http://127.0.0.1:{port}", agent, token, out, backoff=fast))
    try:
        yield out
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


async def test_watch_prints_the_pop_with_caller_customer_sections_then_call_states(
    tmp_path: Path,
) -> None:
    async with (
        running(make_settings(tmp_path)) as (daemon, port),
        watching(port, "alice", "ta") as out,
    ):
        await until(lambda: "connected as alice" in out.getvalue(), "hello")
        daemon.emit(ring("c1", "PJSIP/1001-0000001a"))
        await until(lambda: "POP" in out.getvalue(), "the pop")
        daemon.emit(event("c1", EventKind.ANSWERED, "PJSIP/1001-0000001a"))
        daemon.emit(event("c1", EventKind.ENDED))
        await until(lambda: "c1 ended" in out.getvalue(), "the end of the call")
        await until(lambda: _acked(daemon), "the pop acknowledged")
    got = lines(out)
    assert got[0] == "connected as alice (Alice), role agent"
    pop = next(i for i, line in enumerate(got) if "POP" in line)
    assert "call c1 ringing" in got[pop]
    assert "(212) 555-1234 / +12125551234 -> Jane Doe (C-1)" in got[pop]
    assert "accounting ok" in got[pop + 1] and "sales ok" in got[pop + 1]
    assert "credit not_found" in got[pop + 1]
    calls = [line.split(" ", 1)[1] for line in got if " CALL " in line]
    assert calls == ["CALL c1 answered", "CALL c1 ended"]


def _acked(daemon: Daemon) -> bool:
    return b"screenpop_ring_to_render_seconds_count 1.0" in daemon.metrics.render()


async def test_a_late_section_shows_as_a_card_update_naming_what_changed(tmp_path: Path) -> None:
    connectors = [
        static("accounting", records={"+12125551234": {"name": "Jane Doe"}}),
        static("sales", records={"+12125551234": {"offer": "Gold"}}, sleep_ms=600, deadline_ms=100),
    ]
    settings = make_settings(tmp_path, connectors=connectors)
    async with running(settings) as (daemon, port), watching(port, "alice", "ta") as out:
        await until(lambda: "connected" in out.getvalue(), "hello")
        daemon.emit(ring("c2", "1001"))
        await until(lambda: "CARD" in out.getvalue(), "the late card")
    card = next(line for line in lines(out) if "CARD" in line)
    assert "CARD call c2: sales timeout -> ok" in card
    pop = lines(out).index(next(line for line in lines(out) if "POP" in line))
    assert "sales timeout" in lines(out)[pop + 1]


async def test_a_dropped_connection_reconnects_and_resumes_without_gaps_or_repeats(
    tmp_path: Path,
) -> None:
    async with (
        running(make_settings(tmp_path)) as (daemon, port),
        watching(port, "alice", "ta") as out,
    ):
        await until(lambda: "connected" in out.getvalue(), "hello")
        daemon.emit(ring("c3", "1001"))
        await until(lambda: "POP" in out.getvalue(), "the pop")
        daemon.hub.close_all("test drop")
        daemon.emit(event("c3", EventKind.ANSWERED, "1001"))  # while the watch is away
        await until(lambda: "c3 answered" in out.getvalue(), "the missed call state")
        daemon.emit(event("c3", EventKind.ENDED))
        await until(lambda: "c3 ended" in out.getvalue(), "the live call state")
    got = lines(out)
    assert any(line.startswith("disconnected:") for line in got)
    assert sum("connected as alice" in line for line in got) == 2
    assert sum("POP" in line for line in got) == 1
    assert [line.split(" ", 1)[1] for line in got if " CALL " in line] == [
        "CALL c3 answered",
        "CALL c3 ended",
    ]


async def test_a_wrong_token_exits_1_saying_so(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (_daemon, port):
        out = io.StringIO()
        code = await watch(f"http://127.0.0.1:{port}", "alice", "not-a-token", out)
    assert code == 1
    assert out.getvalue().strip() == "screenpop watch: token refused for agent alice"


async def test_another_agents_token_exits_1(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (_daemon, port):
        out = io.StringIO()
        code = await watch(f"http://127.0.0.1:{port}", "alice", "tb", out)
    assert code == 1
    assert "greeted agent 'bob', not 'alice'" in out.getvalue()


async def test_the_command_reads_the_token_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCREENPOP_TOKEN", "wrong")
    async with running(make_settings(tmp_path)) as (_daemon, port):
        url = f"http://127.0.0.1:{port}"
        code = await asyncio.to_thread(main, ["watch", "--agent", "alice", "--url", url])
    assert code == 1
    assert "token refused for agent alice" in capsys.readouterr().out


def test_printer_skips_repeats_and_board_snapshots_unless_asked() -> None:
    printer = Printer("alice")
    call = {"type": "call", "seq": 3, "call_id": "c9", "state": "transferred", "agent": "bob"}
    assert printer.lines(call)[0].endswith("CALL c9 transferred (held by bob)")
    assert printer.lines(call) == []  # the same seq again (a resume overlap)
    board = {"type": "board", "seq": 4, "board": {"queues": [{"name": "q", "waiting": [{}]}]}}
    assert printer.lines(board) == []
    watcher = Printer("sam", board=True)
    assert watcher.lines(board)[0].endswith("BOARD q 1 waiting; 0 agents")
    with pytest.raises(WrongAgent):
        printer.lines({"type": "hello", "agent": "bob", "seq": 0})


def test_printer_shows_a_withheld_caller_and_candidates() -> None:
    card = {
        "caller": {"withheld": True, "e164": None},
        "summary": {},
        "sections": {},
        "candidates": [{"customer_id": "a"}, {"customer_id": "b"}],
    }
    got = Printer("alice").lines({"type": "pop", "seq": 1, "call_id": "w", "state": "ringing",
                                  "card": card})  # fmt: skip
    assert "withheld -> no customer found" in got[0]
    assert got[1] == "    no sections, 2 candidates"


def test_ws_url() -> None:
    assert ws_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/ws"
    assert ws_url("https://pops.example.com/") == "wss://pops.example.com/ws"
    assert ws_url("ws://h:1/ws") == "ws://h:1/ws"
