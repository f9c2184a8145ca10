"""The simulator source itself: its options, the traffic it makes, pauses and dialling (the
package's docstring tells the whole story)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator

from screenpop.errors import ConfigError, ScreenpopError
from screenpop.events import AgentStatusEvent, CallEvent, EventKind, SourceEvent
from screenpop.settings import Strict, validate_options
from screenpop.telephony.base import Emit, SourceContext, SourceStatus
from screenpop.telephony.simulator.pool import Deck, PoolCaller, load_pool

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4  # agents a caller rings before giving up
POOL_RETRY_S = 5.0  # a missing pool file is looked for again this often
MAX_TICK_S = 0.2  # how often the online agents are looked at
OUTBOUND_ANSWER_S = (1.0, 2.0)  # an outbound call is answered after this long, [low, high]


class SimulatorOptions(Strict):
    """The options of a `[[telephony]] kind = "simulator"` entry."""

    caller_pool: str = "demo-callers.txt"
    interval_s: float = Field(default=6.0, gt=0)  # mean gap between new calls
    first_call_after_s: float = Field(default=2.0, ge=0)  # after an agent comes online
    ring_s: float = Field(default=6.0, gt=0)  # ring time before it rings out to the next agent
    talk_s: list[float] = Field(default_factory=lambda: [8.0, 25.0])  # seconds, [low, high]
    queue_wait_s: list[float] = Field(default_factory=lambda: [0.5, 2.0])
    answer_share: float = Field(default=0.8, ge=0, le=1)  # a rung agent answers
    abandon_share: float = Field(default=0.08, ge=0, le=1)  # a caller gives up before an answer
    ringall_share: float = Field(default=0.15, ge=0, le=1)  # two agents ring, one answers
    queues: list[str] = Field(default=["support", "sales"], min_length=1)
    seed: int | None = None
    max_concurrent: int = Field(default=4, ge=1)
    start_paused: dict[str, str] = Field(default_factory=dict)  # extension -> pause reason
    start_paused_s: float = Field(default=300.0, gt=0)  # ...and unpaused after this long

    @field_validator("talk_s", "queue_wait_s")
    @classmethod
    def _range(cls, value: list[float]) -> list[float]:
        if len(value) != 2 or not 0 <= value[0] <= value[1]:
            raise ValueError("must be [low, high] with 0 <= low <= high")
        return value


class SimulatorSource:
    """Simulated PBX traffic for the online agents. See the module docstring."""

    def __init__(self, name: str, options: Mapping[str, Any], context: SourceContext) -> None:
        self.name = name
        self.options = validate_options(SimulatorOptions, options, f"telephony.{name}")
        self.status = SourceStatus()
        self._context = context
        self._pool_path = context.base_dir / self.options.caller_pool
        self._rng = random.Random(self.options.seed)
        self._emit: Emit = _drop
        self._busy: dict[str, str] = {}  # extension -> the call that holds it
        self._paused: dict[str, str] = {}  # extension -> pause reason: never rung
        self._rings: Counter[str] = Counter()  # rings per extension: the least rung goes next
        self._active: set[str] = set()
        self._seen: set[str] = set()  # extensions online at the last tick
        self._prefix = f"sim-{int(time.time()) % 1_000_000}"  # call ids differ across restarts
        self._count = 0
        self._tasks: asyncio.TaskGroup | None = None  # while running: owns the calls' tasks
        opts = self.options
        gaps = [opts.interval_s / 4, opts.ring_s / 4, MAX_TICK_S]
        if opts.first_call_after_s > 0:
            gaps.append(opts.first_call_after_s / 2)
        self.tick = max(0.01, min(gaps))

    async def run(self, emit: Emit) -> None:
        """Make calls while agents are online, until cancelled; never raises otherwise."""
        self._emit = emit
        try:
            deck = Deck(await self._load_pool(), random.Random(self._rng.getrandbits(64)))
            self._set_status(True, "simulating")
            async with asyncio.TaskGroup() as tg:
                self._tasks = tg
                if self.options.start_paused:
                    tg.create_task(self._paused_at_start(), name=f"{self.name} start paused")
                await self._generate(tg, deck)
        finally:
            self._tasks = None
            self._set_status(False, "stopped")

    async def originate(self, extension: str, number: str, agent_id: str) -> str:
        """Place a simulated outbound call from `extension` to `number`; returns its call id.
        The daemon pops it as ringing; it is answered after a second or two, talks, and ends.
        ScreenpopError while the simulator is not running."""
        if self._tasks is None:
            raise ScreenpopError(f"{self.name}: the simulator is not running")
        self._count += 1
        call = _OutboundCall(f"{self._prefix}-out-{self._count}", PoolCaller(number), extension)
        self._busy[extension] = call.call_id
        self._active.add(call.call_id)
        self._tasks.create_task(self._run_outbound(call), name=f"simulated call {call.call_id}")
        log.info("call %s: %s dials out (simulated)", call.call_id, agent_id)
        return call.call_id

    async def _run_outbound(self, call: _OutboundCall) -> None:
        try:
            await asyncio.sleep(self._rng.uniform(*OUTBOUND_ANSWER_S))
            self.send(call, EventKind.ANSWERED, call.extension)
            await asyncio.sleep(self._rng.uniform(*self.options.talk_s))
        finally:
            self.send(call, EventKind.ENDED, call.extension)
            self.release(call.call_id)
            self._active.discard(call.call_id)

    async def check(self) -> SourceStatus:
        """The status the simulator would run with; ConfigError if the pool is missing or empty."""
        callers = await asyncio.to_thread(load_pool, self._pool_path)
        return SourceStatus(
            connected=True, logged_in=True, detail=f"simulating, {len(callers)} callers in pool"
        )

    async def pause(self, extensions: Sequence[str], paused: bool, reason: str | None) -> None:
        """Stop (or start again) ringing these extensions, and report it as a PBX would."""
        if not extensions:
            raise ValueError("this agent has no extension to pause")
        for ext in extensions:
            if paused:
                self._paused[ext] = reason or ""
            else:
                self._paused.pop(ext, None)
        self._report(AgentStatusEvent(self.name, extensions[0], paused, reason or ""))

    async def _paused_at_start(self) -> None:
        for ext, reason in self.options.start_paused.items():
            await self.pause([ext], True, reason)
        await asyncio.sleep(self.options.start_paused_s)
        for ext, reason in self.options.start_paused.items():
            if self._paused.get(ext) == reason:  # not paused again since, for another reason
                await self.pause([ext], False, None)

    async def _load_pool(self) -> list[PoolCaller]:
        while True:
            try:
                return await asyncio.to_thread(load_pool, self._pool_path)
            except ConfigError as exc:
                self._set_status(False, str(exc), logging.WARNING)
            await asyncio.sleep(POOL_RETRY_S)

    def _set_status(self, running: bool, detail: str, level: int = logging.INFO) -> None:
        if self.status.set(connected=running, logged_in=running, detail=detail):
            log.log(level, "%s: %s", self.name, detail)

    async def _generate(self, tg: asyncio.TaskGroup, deck: Deck) -> None:
        loop = asyncio.get_running_loop()
        next_at: float | None = None
        while True:
            now = loop.time()
            next_at = self._schedule(now, next_at)
            due = next_at is not None and now >= next_at
            if due and len(self._active) < self.options.max_concurrent:
                self._start(tg, deck)
                next_at = now + self._rng.expovariate(1 / self.options.interval_s)
            await asyncio.sleep(self.tick)

    def _schedule(self, now: float, next_at: float | None) -> float | None:
        """When the next caller arrives: none while nobody is online, soon after a newcomer."""
        online = set(self.online())
        fresh = online - self._seen
        self._seen = online
        if not online:
            return None
        if fresh or next_at is None:
            soon = now + self.options.first_call_after_s
            return soon if next_at is None else min(next_at, soon)
        return next_at

    def _start(self, tg: asyncio.TaskGroup, deck: Deck) -> None:
        self._count += 1
        call = _SimulatedCall(
            self,
            f"{self._prefix}-{self._count}",
            deck.deal(),
            self._rng.choice(self.options.queues),
            random.Random(self._rng.getrandbits(64)),
        )
        self._active.add(call.call_id)
        self.send(call, EventKind.QUEUED)  # the caller arrives now, not when the task first runs
        tg.create_task(self._run_call(call), name=f"simulated call {call.call_id}")

    async def _run_call(self, call: _SimulatedCall) -> None:
        try:
            await call.play()
        except Exception:
            log.exception("call %s: simulation failed", call.call_id)
            with contextlib.suppress(Exception):
                call.hang_up()
        finally:
            self.release(call.call_id)
            self._active.discard(call.call_id)

    def online(self) -> list[str]:
        """The extensions of the agents online now, each once."""
        try:
            return list(dict.fromkeys(str(e) for e in self._context.online_agents() if e))
        except Exception:
            log.exception("%s: cannot tell which agents are online", self.name)
            return []

    def take(self, call: _SimulatedCall, tried: set[str]) -> list[str]:
        """Reserve one free online agent (two for a ring-all call), least rung first."""
        free = [e for e in self.online() if e not in self._busy and e not in self._paused]
        choice = [e for e in free if e not in tried] or free
        if not choice:
            return []
        call.rng.shuffle(choice)
        choice.sort(key=lambda ext: self._rings[ext])
        chosen = choice[: 2 if call.ringall else 1]
        for ext in chosen:
            self._busy[ext] = call.call_id
            self._rings[ext] += 1
        return chosen

    def release(self, call_id: str, extension: str | None = None) -> None:
        """Free `extension`, or every extension the call holds."""
        for ext, holder in list(self._busy.items()):
            if holder == call_id and extension in (None, ext):
                del self._busy[ext]

    def send(
        self, call: _SimulatedCall | _OutboundCall, kind: EventKind, endpoint: str | None = None
    ) -> None:
        """Emit one event of the call."""
        event = CallEvent(
            source=self.name,
            call_id=call.call_id,
            kind=kind,
            caller=call.caller.raw,
            caller_name=call.caller.name,
            endpoint=endpoint,
            queue=call.queue,
            outbound=call.outbound,
        )
        log.debug("call %s: %s %s", call.call_id, kind, endpoint or "")
        self._report(event)

    def _report(self, event: SourceEvent) -> None:
        self.status.emitted()
        try:
            self._emit(event)
        except Exception:
            log.exception("%s: emit failed for %r", self.name, event)


@dataclass(frozen=True, slots=True)
class _OutboundCall:
    """A simulated click-to-dial call: `caller` is the number dialled."""

    call_id: str
    caller: PoolCaller
    extension: str
    queue: str | None = None
    outbound: bool = True


class _SimulatedCall:
    """One made-up caller's journey: queue, ring, answer or ring out, talk, hang up."""

    outbound = False

    def __init__(
        self,
        sim: SimulatorSource,
        call_id: str,
        caller: PoolCaller,
        queue: str,
        rng: random.Random,
    ) -> None:
        self.sim, self.call_id, self.caller, self.queue, self.rng = sim, call_id, caller, queue, rng
        opts = sim.options
        self.ringall = rng.random() < opts.ringall_share
        low, high = opts.queue_wait_s
        if rng.random() < opts.abandon_share:
            patience = rng.uniform(low, high + opts.ring_s)
        else:
            patience = high + opts.ring_s * MAX_ATTEMPTS + opts.talk_s[1] * 2
        self._loop = asyncio.get_running_loop()
        self._give_up = self._loop.time() + patience
        self._answered_by: str | None = None
        self.over = False

    async def play(self) -> None:
        """Run the queued call to its end; returns once it ended or was abandoned."""
        tried: set[str] = set()
        for _ in range(MAX_ATTEMPTS):
            # in the queue first; after a ring-out the queue waits before the next agent rings
            if not await self._wait(self.rng.uniform(*self.sim.options.queue_wait_s)):
                break
            extensions = await self._agents(tried)
            if not extensions:
                break
            for ext in extensions:
                self.sim.send(self, EventKind.RINGING, ext)
            if await self._ring(extensions, tried):
                return
        self._abandon()

    def hang_up(self) -> None:
        """End the call now (after a failure), whatever state it is in."""
        if not self.over:
            self.over = True
            kind = EventKind.ENDED if self._answered_by else EventKind.ABANDONED
            self.sim.send(self, kind, self._answered_by)

    async def _agents(self, tried: set[str]) -> list[str]:
        while True:
            extensions = self.sim.take(self, tried)
            if extensions:
                return extensions
            if not await self._wait(self.sim.tick):
                return []

    async def _ring(self, extensions: list[str], tried: set[str]) -> bool:
        """Ring; True when the call is over (answered and ended, or abandoned)."""
        opts = self.sim.options
        answers = self.ringall or self.rng.random() < opts.answer_share
        ring_for = opts.ring_s * self.rng.uniform(0.2, 0.7) if answers else opts.ring_s
        if not await self._wait(ring_for):
            self._abandon()
            return True
        if not answers:
            for ext in extensions:
                self.sim.send(self, EventKind.MISSED, ext)
                self.sim.release(self.call_id, ext)
                tried.add(ext)
            return False
        winner = self.rng.choice(extensions)
        self._answered_by = winner
        self.sim.send(self, EventKind.ANSWERED, winner)
        for ext in extensions:
            if ext != winner:
                self.sim.release(self.call_id, ext)
        await asyncio.sleep(self.rng.uniform(*opts.talk_s))
        self.over = True
        self.sim.send(self, EventKind.ENDED, winner)
        self.sim.release(self.call_id)
        return True

    def _abandon(self) -> None:
        self.over = True
        self.sim.send(self, EventKind.ABANDONED)
        self.sim.release(self.call_id)

    async def _wait(self, delay: float) -> bool:
        """Sleep `delay`; False (after sleeping only until then) if the caller gives up first."""
        left = self._give_up - self._loop.time()
        if delay <= left:
            await asyncio.sleep(delay)
            return True
        await asyncio.sleep(max(0.0, left))
        return False


def _drop(event: SourceEvent) -> None:
    """The emit of a source that is not running: events go nowhere."""
