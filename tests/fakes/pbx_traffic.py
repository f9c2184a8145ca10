"""Steady call traffic through a fake PBX, for the fault tests: the fake Asterisk
(tests/fakes/ami_server.py) or the fake FreeSWITCH (tests/fakes/esl_server.py).

A :class:`Phones` adapter plays one PBX: it rings an agent's phone for a caller, answers and hangs
up, and keeps the PBX's own tables true (the channels `CoreShowChannels` / `show channels` list),
so that a resync after a fault finds what really happens on the PBX. What it writes while the link
is cut or stalled reaches nobody, as on a real PBX. :class:`PbxTraffic` starts a call every
`every_s` for the next agent in turn, each from a caller of its own (:func:`caller`), and
remembers which rings went out on a healthy link.

Each call has its own caller number: two calls at once from one number on one trunk are taken by
the AMI mapper for a consultation call (a known limit, see screenpop/telephony/asterisk/
transfers.py), which is not what these tests are about.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from tests.fakes.ami_scenarios import Call
from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.esl_server import FakeFreeSwitch, bridge_event, channel_event, event_frame


def caller(n: int) -> str:
    """The number of the `n`th caller (a customer the test's back office knows)."""
    return f"+1212555{2000 + n % 5000:04d}"


def customers(count: int = 5000) -> dict[str, dict[str, str]]:
    """Every caller's record, for a test connector."""
    return {caller(n): {"customer_id": f"C-{n}", "name": f"Customer {n}"} for n in range(count)}


@dataclass(frozen=True, slots=True)
class Phone:
    """An agent's phone on the PBX (tests/harness.py agents: alice 1001, bob 1002)."""

    agent: str
    ext: str
    name: str


ALICE = Phone("alice", "1001", "Alice")
BOB = Phone("bob", "1002", "Bob")


class Phones(Protocol):
    async def ring(self, phone: Phone, number: str, garbage: bytes = b"") -> str:
        """`number` rings `phone`; the call id the daemon will know it by. `garbage` goes out
        just before the frame that says the phone rings."""
        ...

    async def answer(self, call_id: str) -> None: ...

    async def hang_up(self, call_id: str) -> None: ...

    async def ring_cut_mid_frame(self, phone: Phone, number: str) -> str:
        """Ring `phone`, but the link drops halfway through the frame that says it rings."""
        ...

    def stall(self) -> None:
        """The PBX stays connected but sends and answers nothing more."""
        ...

    def unstall(self) -> None:
        """New connections are served again (the stalled ones stay silent)."""
        ...


class AmiPhones:
    """Calls on the fake Asterisk: queued in `support`, then ringing the agent's PJSIP phone."""

    def __init__(self, server: FakeAsterisk) -> None:
        self.server, self.pbx = server, server.pbx
        self._calls: dict[str, tuple[Call, str]] = {}

    def _new(self, phone: Phone, number: str) -> tuple[str, list[bytes], list[bytes]]:
        call, setup = self.pbx.inbound(number, "")
        setup += self.pbx.join(call, "support")
        device = f"PJSIP/{phone.ext}"
        self._calls[call.caller.linkedid] = (call, device)
        return call.caller.linkedid, setup, self.pbx.ring(call, device, phone.ext, phone.name)

    async def ring(self, phone: Phone, number: str, garbage: bytes = b"") -> str:
        call_id, setup, ring = self._new(phone, number)
        await self.server.send(b"".join(setup) + garbage + b"".join(ring))
        return call_id

    async def ring_cut_mid_frame(self, phone: Phone, number: str) -> str:
        call_id, setup, ring = self._new(phone, number)
        await self.server.send(setup)
        await self.server.send(ring[0][: len(ring[0]) // 2])
        await self.server.drop()
        return call_id

    async def answer(self, call_id: str) -> None:
        call, device = self._calls[call_id]
        await self.server.send(self.pbx.answer(call, device))

    async def hang_up(self, call_id: str) -> None:
        call, device = self._calls.pop(call_id)
        await self.server.send(self.pbx.complete(call, device))

    def stall(self) -> None:
        self.server.stall()

    def unstall(self) -> None:
        """Nothing to do: only the sessions open at the stall are stalled."""


class EslPhones:
    """Direct calls on the fake FreeSWITCH: the caller's channel bridges to `user/<ext>`."""

    def __init__(self, fs: FakeFreeSwitch) -> None:
        self.fs = fs
        self._ids = itertools.count(1)
        self._legs: dict[str, tuple[str, str, str]] = {}  # call id -> leg uuid, extension, caller
        self.stalled = False  # mute: FreeSWITCH answers nothing and sends nothing

    def _new(self, phone: Phone, number: str) -> tuple[str, list[bytes]]:
        n = next(self._ids)
        call_id, leg = f"c0ffee00-0000-4000-8000-{n:012d}", f"1e900000-0000-4000-8000-{n:012d}"
        self._legs[call_id] = (leg, phone.ext, number)
        self.fs.channels[call_id] = _row(call_id, "inbound", f"sofia/external/{number}", number)
        self.fs.channels[leg] = _row(leg, "outbound", f"sofia/internal/{phone.ext}@10.0.0.5",
                                     number, root=call_id, callstate="RINGING")  # fmt: skip
        named = {"number": number, "caller_name": ""}
        create = channel_event("CHANNEL_CREATE", call_id, direction="inbound", **named)
        ring = channel_event(
            "CHANNEL_CREATE", leg, direction="outbound", user=phone.ext, root=call_id, **named
        )
        return call_id, [event_frame(create), event_frame(ring)]

    async def ring(self, phone: Phone, number: str, garbage: bytes = b"") -> str:
        call_id, (create, ring) = self._new(phone, number)
        await self._send(create + garbage + ring)
        return call_id

    async def ring_cut_mid_frame(self, phone: Phone, number: str) -> str:
        call_id, (create, ring) = self._new(phone, number)
        await self._send(create + ring[: len(ring) // 2])
        await self.fs.drop()
        return call_id

    def stall(self) -> None:
        self.stalled = self.fs.mute = True

    def unstall(self) -> None:
        self.stalled = self.fs.mute = False

    async def _send(self, data: bytes) -> None:
        if not self.stalled:
            await self.fs.send_raw(data)

    async def answer(self, call_id: str) -> None:
        leg, ext, number = self._legs[call_id]
        self.fs.channels[leg]["callstate"] = "ACTIVE"
        named = {"number": number, "caller_name": ""}  # every event names the caller
        answer = channel_event(
            "CHANNEL_ANSWER", leg, direction="outbound", user=ext, root=call_id, **named
        )
        bridged = bridge_event(call_id, leg, **{"Caller-Caller-ID-Number": number})
        await self._send(event_frame(answer) + event_frame(bridged))

    async def hang_up(self, call_id: str) -> None:
        leg, ext, number = self._legs.pop(call_id)
        self.fs.channels.pop(leg, None)
        self.fs.channels.pop(call_id, None)
        done = {"state": "CS_REPORTING", "Hangup-Cause": "NORMAL_CLEARING", "number": number}
        leg_gone = channel_event(
            "CHANNEL_HANGUP_COMPLETE", leg, direction="outbound", user=ext, root=call_id, **done
        )
        gone = channel_event("CHANNEL_HANGUP_COMPLETE", call_id, direction="inbound", **done)
        await self._send(event_frame(leg_gone) + event_frame(gone))


def _row(
    uuid: str, direction: str, name: str, number: str, root: str = "", callstate: str = "ACTIVE"
) -> dict[str, str]:
    """A row of `show channels as json` (the columns the resync reads)."""
    return {"uuid": uuid, "direction": direction, "name": name, "cid_num": number,
            "cid_name": "", "call_uuid": root or uuid, "callstate": callstate}  # fmt: skip


class PbxTraffic:
    """``async with PbxTraffic(phones, [ALICE, BOB]) as traffic:`` a call every `every_s`, to
    each phone in turn, answered `answer_s` after it rang and hung up `hold_s` after. Leaving the
    block starts no more and lets the calls under way finish. :attr:`healthy` says whether the
    link is believed sound (the test clears it during a fault); :attr:`delivered` are the calls
    whose ring went out while it was."""

    def __init__(
        self,
        phones: Phones,
        desks: list[Phone],
        *,
        every_s: float = 0.2,
        answer_s: float = 0.3,
        hold_s: float = 0.3,
    ) -> None:
        self.phones = phones
        self.desks = desks
        self.every_s, self.answer_s, self.hold_s = every_s, answer_s, hold_s
        self.healthy = True
        self.started: list[str] = []
        self.agent_of: dict[str, str] = {}
        self.number_of: dict[str, str] = {}
        self.delivered: set[str] = set()
        self._loop: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> PbxTraffic:
        self._loop = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        await asyncio.gather(*self._calls)

    def since(self, index: int) -> list[str]:
        """The calls started after the first `index` ones."""
        return self.started[index:]

    async def _run(self) -> None:
        for n, phone in enumerate(itertools.cycle(self.desks)):
            healthy = self.healthy
            call_id = await self.phones.ring(phone, caller(n))
            self.started.append(call_id)
            self.agent_of[call_id] = phone.agent
            self.number_of[call_id] = caller(n)
            if healthy and self.healthy:
                self.delivered.add(call_id)
            task = asyncio.create_task(self._life(call_id))
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
            await asyncio.sleep(self.every_s)

    async def _life(self, call_id: str) -> None:
        await asyncio.sleep(self.answer_s)
        await self.phones.answer(call_id)
        await asyncio.sleep(self.hold_s)
        await self.phones.hang_up(call_id)
