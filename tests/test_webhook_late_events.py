"""Webhook events sent again after the replay window (the source accepts them as new) change
nothing: one pop per agent, no call taken back to an agent it rang, the call stays ended, and the
call log keeps one row in the call's final state."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from screenpop.daemon import Daemon
from screenpop.store import CallRecord
from screenpop.telephony.webhooks.generic import signed_json_headers
from screenpop.telephony.webhooks.twilio import twilio_signature
from tests.harness import AgentClient, agent_tab, make_settings, running

WINDOW_S = 300.0
SECRET = "k"
TOKEN = "tok"
CALLER = "+12125551234"


class Clock:
    """The webhook sources' clock, moved past their replay window by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def post(port: int, name: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{port}/webhooks/{name}"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status, await r.json()


async def drain(tab: AgentClient) -> list[tuple[str, str | None]]:
    """(type, state) of every pop and call message until the tab goes quiet."""
    seen: list[tuple[str, str | None]] = []
    while True:
        try:
            message = await tab.recv(wait=0.7)
        except TimeoutError:
            return seen
        if message["type"] in ("pop", "call"):
            seen.append((message["type"], message.get("state")))


async def logged(daemon: Daemon, call_id: str) -> list[CallRecord]:
    """The call log's rows for the call, once its end is written."""
    for _ in range(500):
        rows = [r for r in await daemon.store.calls_since(0) if r.call_id == call_id]
        if rows and rows[0].ended_at is not None:
            return rows
        await asyncio.sleep(0.01)
    raise AssertionError(f"call {call_id} never logged as ended")


def hooked(daemon: Daemon, name: str, clock: Clock) -> None:
    daemon.sources[name].clock = clock  # type: ignore[attr-defined]


ALICE_POPPED = [("pop", "ringing"), ("call", "answered"), ("call", "ended")]
BOB_POPPED = [("pop", "ringing"), ("call", "answered_elsewhere")]


async def test_generic_events_sent_again_after_the_window_change_nothing(tmp_path: Path) -> None:
    source = {"name": "hook", "kind": "webhook", "flavor": "json", "secret": SECRET}
    clock = Clock()

    def event(kind: str, agent: str | None = None) -> tuple[bytes, dict[str, str]]:
        body = {"call_id": "g1", "event": kind, "caller": CALLER, "queue": "support"}
        raw = json.dumps(body | ({"agent": agent} if agent else {})).encode()
        return raw, signed_json_headers(SECRET, raw, at=clock.now)  # signed now, as a PBX does

    async with (
        running(make_settings(tmp_path, telephony=[source])) as (daemon, port),
        agent_tab(port, "ta") as alice,
        agent_tab(port, "tb") as bob,
    ):
        hooked(daemon, "hook", clock)
        await alice.recv_type("hello")
        await bob.recv_type("hello")
        ring_alice, ring_bob = event("ringing", "1001"), event("ringing", "1002")
        for body, headers in (ring_alice, ring_bob, event("answered", "1001")):
            assert (await post(port, "hook", body, headers))[0] == 200
        assert await drain(bob) == BOB_POPPED

        clock.now += WINDOW_S + 1
        body, headers = ring_bob  # the same request again: too old now
        assert (await post(port, "hook", body, headers))[0] == 403
        for kind, agent in (("ringing", "1002"), ("ringing", "1001"), ("answered", "1001")):
            body, headers = event(kind, agent)  # the PBX re-sends, signed afresh: accepted...
            assert await post(port, "hook", body, headers) == (200, {"ok": True, "events": 1})
        assert await bob.silent()  # ... but bob gets no second pop, alice keeps the call
        call = daemon.tracker.get("g1")
        assert call is not None and (call.state, call.agent) == ("answered", "alice")

        await post(port, "hook", *event("ended"))
        assert await drain(alice) == ALICE_POPPED
        (first,) = await logged(daemon, "g1")

        clock.now += WINDOW_S + 1
        for kind, agent in (("ringing", "1001"), ("answered", "1001"), ("ended", None)):
            assert (await post(port, "hook", *event(kind, agent)))[1]["events"] == 1
        assert await alice.silent() and await bob.silent()
        assert "g1" not in daemon.board.calls
        assert await logged(daemon, "g1") == [first]
    assert (first.state, first.agent_id) == ("ended", "alice")


async def test_twilio_callbacks_sent_again_after_the_window_change_nothing(
    tmp_path: Path,
) -> None:
    source = {"name": "tw", "kind": "webhook", "flavor": "twilio", "auth_token": TOKEN}
    clock = Clock()
    settings = make_settings(tmp_path, telephony=[source])
    async with (
        running(settings) as (daemon, port),
        agent_tab(port, "ta") as alice,
        agent_tab(port, "tb") as bob,
    ):
        hooked(daemon, "tw", clock)
        await alice.recv_type("hello")
        await bob.recv_type("hello")
        url = f"http://127.0.0.1:{port}/webhooks/tw"

        def callback(sid: str, status: str, to: str | None = None) -> tuple[bytes, dict[str, str]]:
            params = {"CallSid": sid, "CallStatus": status, "From": CALLER}
            if to is not None:  # an agent's <Dial> leg of the caller's call CA1
                params |= {"ParentCallSid": "CA1", "To": to}
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": twilio_signature(TOKEN, url, sorted(params.items())),
            }
            return urlencode(params).encode(), headers

        ringing = [
            callback("CA1", "ringing"),
            callback("CA2", "ringing", "client:1001"),
            callback("CA3", "ringing", "client:1002"),
        ]
        answer = [
            callback("CA2", "in-progress", "client:1001"),
            callback("CA3", "canceled", "client:1002"),
        ]
        end = [callback("CA2", "completed", "client:1001"), callback("CA1", "completed")]
        for body, headers in [*ringing, *answer]:
            assert (await post(port, "tw", body, headers))[0] == 200
        assert await drain(bob) == BOB_POPPED

        clock.now += WINDOW_S + 1  # Twilio's retries of these are no longer recognised
        for body, headers in ringing:
            assert await post(port, "tw", body, headers) == (200, {"ok": True, "events": 1})
        assert await bob.silent()
        call = daemon.tracker.get("CA1")
        assert call is not None and (call.state, call.agent) == ("answered", "alice")

        for body, headers in end:
            await post(port, "tw", body, headers)
        assert await drain(alice) == ALICE_POPPED
        (first,) = await logged(daemon, "CA1")

        clock.now += WINDOW_S + 1
        for body, headers in [*ringing, *answer, *end]:
            assert (await post(port, "tw", body, headers))[1]["events"] == 1
        assert await alice.silent() and await bob.silent()
        assert "CA1" not in daemon.board.calls
        assert await logged(daemon, "CA1") == [first]
    assert (first.state, first.agent_id) == ("ended", "alice")
