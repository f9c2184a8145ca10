"""The PBX of the benchmark, in its own process: the fake Asterisk of the tests, driven at a set
call rate (``python -m bench.pbx``, operated through :mod:`bench.worker`).

Every call is a full life, in the packets Asterisk 22 writes (tests/fakes/ami_scenarios.py): the
caller joins a queue and one agent's phone rings at once (`QueueCallerJoin`, `AgentCalled`,
`DialBegin`, `Newstate`, `DialState`), the agent answers `ring_s` later (`AgentConnect`,
bridges), the call ends `talk_s` after that (`AgentComplete`, `Hangup`). The process records
``time.monotonic_ns()`` just before it writes each call's `AgentCalled` to the daemon's socket:
one clock for every process on Linux, so the agents' process can be compared with it.

It also holds the writing end of the floor's "one AMI event from a socket" (:func:`floor_listen`,
:func:`floor_write`).
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

from bench.worker import serve
from tests.fakes.ami_scenarios import Call, Pbx
from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.ami_transcript import load_transcript

USER, SECRET = "screenpop", "bench-secret"
QUEUE = "bench"
FLOOR_EVENT = "AgentCalled"
FLOOR_TRANSCRIPT = "a_answered.txt"


def device(agent_index: int) -> str:
    """The phone that rings for agent `agent_index`, as the AMI `Interface` names it."""
    return f"PJSIP/{3000 + agent_index}"


class Driver:
    """The fake Asterisk and the calls it is writing."""

    def __init__(self) -> None:
        self.server = FakeAsterisk(Pbx(), USER, SECRET)
        self.port = 0
        self._floor: asyncio.Server | None = None
        self._floor_writer: asyncio.StreamWriter | None = None
        self._floor_connected = asyncio.Event()

    async def start(self) -> int:
        self.port = await self.server.start()
        return self.port

    async def counts(self) -> dict[str, int]:
        """Logins and resyncs so far: take them before a daemon starts, then :meth:`wait_login`."""
        return {"logins": self.server.logins, "resyncs": self.server.resyncs}

    async def wait_login(self, logins: int, resyncs: int, timeout_s: float = 30.0) -> None:
        """Wait for a login and a resync after the `counts` given: the daemon's AMI source is
        connected and has read the PBX's state."""
        async with asyncio.timeout(timeout_s):
            while True:
                if self.server.logins > logins and self.server.resyncs > resyncs:
                    return
                await asyncio.sleep(0.02)

    async def drive(
        self,
        rate: float,
        duration_s: float,
        callers: list[str],
        agents: int,
        ring_s: float = 0.5,
        talk_s: float = 1.0,
        first_agent: int = 0,
    ) -> dict[str, Any]:
        """Write `rate` calls a second for `duration_s`, caller k of `callers` (round robin)
        ringing agent ``first_agent + k % agents``; return each call's id, agent and the
        monotonic_ns of its `AgentCalled`, and how far behind its schedule the writer fell."""
        pbx = self.server.pbx
        count = max(1, round(rate * duration_s))
        answers: collections.deque[tuple[float, Call, str]] = collections.deque()
        ends: collections.deque[tuple[float, Call, str]] = collections.deque()
        calls: list[list[Any]] = []
        lag_s = 0.0
        t0 = time.monotonic()
        for k in range(count):
            due = t0 + k / rate
            await self._flush(answers, ends, due)
            lag_s = max(lag_s, await _until(due))
            agent = first_agent + k % agents
            phone = device(agent)
            call, packets = pbx.inbound(callers[k % len(callers)], f"Caller {k}")
            packets += pbx.join(call, QUEUE)
            packets += pbx.ring(call, phone, str(3000 + agent), f"Agent {agent}")
            stamp = time.monotonic_ns()
            await self.server.send(packets)
            calls.append([call.caller.linkedid, agent, stamp])
            answers.append((due + ring_s, call, phone))
            ends.append((due + ring_s + talk_s, call, phone))
        await self._flush(answers, ends, float("inf"))
        return {"calls": calls, "lag_ms": round(lag_s * 1000, 3), "wrote_s": time.monotonic() - t0}

    async def _flush(
        self,
        answers: collections.deque[tuple[float, Call, str]],
        ends: collections.deque[tuple[float, Call, str]],
        before: float,
    ) -> None:
        """Write the answers and hang-ups due before `before` (all of them for infinity)."""
        pbx = self.server.pbx
        while True:
            heads = [q for q in (answers, ends) if q and q[0][0] <= before]
            if not heads:
                return
            queue = min(heads, key=lambda q: q[0][0])
            due, call, phone = queue.popleft()
            await _until(due)
            if queue is answers:
                await self.server.send(pbx.answer(call, phone))
            else:
                await self.server.send(pbx.complete(call, phone))

    async def stop(self) -> None:
        await self.server.stop()
        if self._floor is not None:
            self._floor.close()

    # -- the floor: one AMI event written to a socket ------------------------------------------

    async def floor_listen(self) -> int:
        """Listen for the floor's reader; returns the port."""

        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._floor_writer = writer
            self._floor_connected.set()

        self._floor = await asyncio.start_server(accepted, "127.0.0.1", 0)
        return int(self._floor.sockets[0].getsockname()[1])

    async def floor_write(self, n: int, gap_ms: float) -> list[int]:
        """Write one real `AgentCalled` (804 bytes, Asterisk 22) `n` times, `gap_ms` apart, and
        return the monotonic_ns just before each write."""
        await asyncio.wait_for(self._floor_connected.wait(), 10)
        writer = self._floor_writer
        assert writer is not None
        data = floor_event()
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        stamps: list[int] = []
        t0 = time.monotonic()
        for k in range(n):
            await _until(t0 + k * gap_ms / 1000)
            stamps.append(time.monotonic_ns())
            writer.write(data)
            await writer.drain()
        writer.close()
        return stamps


def floor_event() -> bytes:
    """The wire bytes of the first `AgentCalled` in a real Asterisk 22 capture."""
    for item in load_transcript(FLOOR_TRANSCRIPT):
        if item.get("Event") == FLOOR_EVENT:
            return item.wire
    raise LookupError(f"no {FLOOR_EVENT} in {FLOOR_TRANSCRIPT}")


async def _until(when: float) -> float:
    """Sleep until monotonic time `when`; how late it already was (seconds, 0 if not)."""
    late = time.monotonic() - when
    if late < 0:
        await asyncio.sleep(-late)
        return 0.0
    return late


def main() -> None:
    driver = Driver()
    serve(
        {
            "start": driver.start,
            "wait_login": driver.wait_login,
            "counts": driver.counts,
            "drive": driver.drive,
            "stop": driver.stop,
            "floor_listen": driver.floor_listen,
            "floor_write": driver.floor_write,
        }
    )


if __name__ == "__main__":
    main()
