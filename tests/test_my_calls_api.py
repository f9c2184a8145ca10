"""`GET /api/me/calls`: an agent's calls of the day, from the call log and the rings, in the
center's time zone."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.store.schema import CallRecord, RingRecord
from tests.harness import agent_tab, make_settings, running

JANE = "+12125551234"
ZONE = "America/New_York"


async def get(port: int, path: str, token: str = "ta") -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}", headers=headers) as resp,
    ):
        return resp.status, await resp.json()


def emit(
    daemon: Daemon,
    call_id: str,
    kind: EventKind,
    endpoint: str | None = None,
    *,
    outbound: bool = False,
) -> None:
    event = CallEvent("t", call_id, kind, JANE, "JANE D", endpoint, "support")
    daemon.emit(dataclasses.replace(event, outbound=outbound))


async def listed(port: int, count: int, token: str = "ta") -> dict[str, Any]:
    """The agent's list once it holds `count` calls (events are applied asynchronously)."""
    for _ in range(200):
        status, body = await get(port, "/api/me/calls", token)
        assert status == 200, body
        if len(body["calls"]) >= count:
            return dict(body)
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {count} calls: {body}")


async def test_answered_missed_and_outbound_calls_newest_first(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path, ui={"timezone": ZONE})) as (daemon, port):
        emit(daemon, "a1", EventKind.RINGING, "1001")
        emit(daemon, "a1", EventKind.ANSWERED, "1001")
        emit(daemon, "a1", EventKind.ENDED)
        emit(daemon, "m1", EventKind.RINGING, "1001")  # rang both, Bob took it
        emit(daemon, "m1", EventKind.RINGING, "1002")
        emit(daemon, "m1", EventKind.ANSWERED, "1002")
        emit(daemon, "m2", EventKind.RINGING, "1001")  # rang out, then the caller gave up
        emit(daemon, "m2", EventKind.MISSED, "1001")
        emit(daemon, "m2", EventKind.ABANDONED)
        emit(daemon, "o1", EventKind.RINGING, "1001", outbound=True)
        emit(daemon, "o1", EventKind.ANSWERED, "1001", outbound=True)
        emit(daemon, "b1", EventKind.RINGING, "1002")  # Bob's alone
        bobs = await listed(port, 2, token="tb")  # the last event: written after the others
        assert [c["call_id"] for c in bobs["calls"]] == ["b1", "m1"]
        assert [c["outcome"] for c in bobs["calls"]] == ["ringing", "answered"]
        body = await listed(port, 4)
        assert body["day"] == dt.datetime.now(ZoneInfo(ZONE)).date().isoformat()
        rows = [(c["call_id"], c["direction"], c["outcome"], c["reason"]) for c in body["calls"]]
        assert rows == [
            ("o1", "outbound", "answered", None),
            ("m2", "inbound", "missed", "rang_out"),
            ("m1", "inbound", "missed", "answered_elsewhere"),
            ("a1", "inbound", "answered", None),
        ]
        answered = body["calls"][-1]
        assert answered["caller"] == {"e164": JANE, "national": "(212) 555-1234", "name": "JANE D"}
        assert answered["queue"] == "support"
        assert isinstance(answered["talk_s"], float)
        assert answered["rang_at"].endswith("Z") and answered["ended_at"] is not None
        assert body["calls"][0]["ended_at"] is None  # the outbound call is still on
        assert answered["wrap_s"] is None  # the card is not closed yet
        async with agent_tab(port, "ta") as alice:
            await alice.recv_type("hello")
            await alice.send({"type": "ready"})  # the card of a1 closed: wrap-up over
            for _ in range(200):
                _, body = await get(port, "/api/me/calls")
                wrapped = next(c for c in body["calls"] if c["call_id"] == "a1")
                if wrapped["wrap_s"] is not None:
                    break
                await asyncio.sleep(0.02)
        assert 0 <= wrapped["wrap_s"] <= 60  # at most [board] wrap_up_s


def local(day: dt.date, hour: int, minute: int) -> float:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(ZONE)).timestamp()


async def test_the_day_ends_at_midnight_in_the_centers_time_zone(tmp_path: Path) -> None:
    day = dt.date(2026, 11, 18)
    late, early = local(day, 23, 30), local(day + dt.timedelta(days=1), 0, 30)
    async with running(make_settings(tmp_path, ui={"timezone": ZONE})) as (daemon, port):
        for call_id, at in (("late", late), ("early", early)):
            await daemon.store.write(
                [
                    CallRecord(
                        "t",
                        call_id,
                        JANE,
                        JANE,
                        None,
                        "support",
                        "alice",
                        "ended",
                        "inbound",
                        at,
                        at + 5,
                        at + 65,
                    ),
                    RingRecord("t", call_id, "alice", 1, at, "answered", at + 5),
                ]
            )
        _, today = await get(port, "/api/me/calls?day=2026-11-18")
        _, tomorrow = await get(port, "/api/me/calls?day=2026-11-19")
        assert [c["call_id"] for c in today["calls"]] == ["late"]  # 04:30 UTC the next day
        assert [c["call_id"] for c in tomorrow["calls"]] == ["early"]
        assert today["calls"][0]["talk_s"] == 60.0
        status, problem = await get(port, "/api/me/calls?day=18/11/2026")
        assert status == 400 and "YYYY-MM-DD" in problem["error"]
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/api/me/calls") as resp,
        ):
            assert resp.status == 401


async def test_each_ring_is_kept_for_the_reports_and_the_call_shows_once(tmp_path: Path) -> None:
    async with running(make_settings(tmp_path)) as (daemon, port):
        emit(daemon, "q1", EventKind.RINGING, "1001")  # rings out on Alice...
        emit(daemon, "q1", EventKind.MISSED, "1001")
        emit(daemon, "q1", EventKind.RINGING, "1002")  # ...and Bob...
        emit(daemon, "q1", EventKind.MISSED, "1002")
        emit(daemon, "q1", EventKind.RINGING, "1001")  # ...then Alice again, who takes it
        emit(daemon, "q1", EventKind.ANSWERED, "1001")
        emit(daemon, "q1", EventKind.ENDED)
        emit(daemon, "o2", EventKind.RINGING, "1001", outbound=True)  # nobody picks up
        emit(daemon, "o2", EventKind.ABANDONED, outbound=True)
        emit(daemon, "last", EventKind.RINGING, "1002")
        await listed(port, 2, token="tb")  # Bob's "last": everything before it is written
        body = await listed(port, 2)
        assert [(c["call_id"], c["outcome"]) for c in body["calls"]] == [
            ("o2", "no_answer"),
            ("q1", "answered"),
        ]
        rings = daemon.store.tables.rings
        async with daemon.store._connect("test") as conn:
            rows = (await conn.execute(rings.select().order_by(rings.c.id))).all()
        assert [(r.call_id, r.agent_id, r.ring_no, r.outcome) for r in rows] == [
            ("q1", "alice", 1, "missed"),
            ("q1", "bob", 1, "missed"),
            ("q1", "alice", 2, "answered"),
            ("o2", "alice", 1, "unanswered"),
            ("last", "bob", 1, "ringing"),
        ]
        assert all(r.queue == "support" and r.caller_e164 == JANE for r in rows)
        assert rows[0].rang_at < rows[2].rang_at and rows[3].outbound
