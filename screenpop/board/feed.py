"""Publishing the queue board to supervisors: coalesced, at most a few snapshots a second.

Every change marks the board dirty; one timer per burst publishes a fresh snapshot to every
online watcher (an agent whose role has `board = true`) once the minimum interval has passed (a
quarter of a second; longer for a large board: at most :data:`BYTES_PER_S` of snapshot a second
per watcher). A flush builds the snapshot once per role (what a supervisor sees of a caller
depends on the role) and encodes it once: every watcher of that role gets the same bytes,
however many there are. A watcher resuming between flushes gets the bytes last built for its
role when the board has not changed since and they are younger than the minimum interval (its
page sets its clock by the snapshot's `at`), so watchers resuming together cost at most one
build per role per interval.
From the first change on, every :data:`SWEEP_S` the feed also removes calls past the board's
maximum age (a PBX that never reported them ended), logging each once. A snapshot's
`recheck_at` (a waiting caller's wait about to cross an alarm limit) gets one publish at that
time, so the alarm shows even when nothing else changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from screenpop.board.state import BoardState
from screenpop.delivery.outbound import BoardMessage, ServerMessage
from screenpop.delivery.wire import Encoded
from screenpop.tasks import TaskOwner

log = logging.getLogger(__name__)

MAX_RATE_HZ = 4.0
# A large board comes less often: at most this many bytes of snapshot a second per watcher (a
# board of 10,000 agents, about 1.8 MB, about once a second; up to 500 KB, about 2,800 agents,
# four times a second).
BYTES_PER_S = 2_000_000
SWEEP_S = 60.0
RECHECK_MARGIN_S = 0.05  # a recheck lands just past the limit, not just before it

Publish = Callable[[str, ServerMessage | Encoded], Awaitable[Any]]


class BoardFeed:
    """Publishes `board` messages: `publish(agent_id, message)` sends one to an agent's tabs,
    `watchers()` lists the (agent id, role) of online agents allowed to watch the board. Flushes
    run as tasks of `tasks`; call :meth:`close` before that owner closes."""

    def __init__(
        self,
        board: BoardState,
        publish: Publish,
        watchers: Callable[[], Iterable[tuple[str, str]]],
        tasks: TaskOwner,
        max_rate_hz: float = MAX_RATE_HZ,
        sweep_s: float = SWEEP_S,
        bytes_per_s: float = BYTES_PER_S,
    ) -> None:
        self.board = board
        self._publish = publish
        self._watchers = watchers  # (agent id, role) of online agents allowed to watch
        self._tasks = tasks
        self._shortest = 1.0 / max_rate_hz
        self._interval = self._shortest  # longer while the snapshots are large
        self._bytes_per_s = bytes_per_s
        self._sizes: dict[str, int] = {}  # bytes of each role's latest snapshot
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._later: set[asyncio.TimerHandle] = set()
        self._sweep_s = sweep_s
        self._sweeper: asyncio.TimerHandle | None = None
        self._recheck: tuple[float, asyncio.TimerHandle] | None = None  # due (epoch s), timer
        self._closed = False
        self._generation = 0  # bumped by every change
        self._latest: dict[str, tuple[int, float, Encoded]] = {}  # role: generation, built at
        self.published = 0  # board messages handed to watchers
        self.built = 0  # snapshots built (one per role per flush)

    def changed(self) -> None:
        """Something on the board changed: publish soon, coalescing with other changes."""
        if self._closed:
            return
        self._generation += 1
        if self._sweeper is None:
            self._schedule_sweep()
        if self._timer is not None:
            return
        delay = max(0.0, self._last + self._interval - time.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self._flush)

    def changed_later(self, delay_s: float) -> None:
        """A state that expires by itself (wrap-up) changes in `delay_s` seconds."""

        def fire() -> None:
            self._later.discard(handle)
            self.changed()

        handle = asyncio.get_running_loop().call_later(delay_s, fire)
        self._later.add(handle)

    async def card_changed(self, call_id: str) -> None:
        """A caller's card filled in: the board shows its summary, if the call is on it."""
        if await self.board.shows_call(call_id):
            self.changed()

    async def send_to(self, agent_id: str, role: str) -> None:
        """A watcher just connected (or resumed): give it the board at once."""
        await self._publish(agent_id, self._recent(role) or await self._message(role, time.time()))

    def _recent(self, role: str) -> Encoded | None:
        """The role's board last built, if nothing changed since and it is fresh enough."""
        latest = self._latest.get(role)
        if latest is None:
            return None
        generation, built_at, encoded = latest
        fresh = time.monotonic() - built_at < self._interval
        return encoded if generation == self._generation and fresh else None

    def _schedule_sweep(self) -> None:
        self._sweeper = asyncio.get_running_loop().call_later(self._sweep_s, self._sweep)

    def _sweep(self) -> None:
        self._tasks.spawn(self._expire(time.time()), name="board sweep")
        self._schedule_sweep()

    async def _expire(self, now: float) -> None:
        aged = await self.board.expire(now)
        for call_id in aged:
            log.warning("board: call %s never reported ended; removed at its maximum age", call_id)
        if aged:
            self.changed()

    def _flush(self) -> None:
        self._timer = None
        self._last = time.monotonic()
        self._tasks.spawn(self._publish_all(time.time()), name="board flush")

    async def _publish_all(self, now: float) -> None:
        by_role: dict[str, Encoded] = {}
        for agent_id, role in list(self._watchers()):
            if role not in by_role:
                by_role[role] = await self._message(role, now)
            await self._publish(agent_id, by_role[role])
            self.published += 1

    async def _message(self, role: str, now: float) -> Encoded:
        """The role's board, built and encoded once; kept for watchers until the next change."""
        generation, built_at = self._generation, time.monotonic()
        snapshot = await self.board.snapshot(now, role)
        encoded = Encoded.of(BoardMessage(snapshot))
        self.built += 1
        self._sizes[role] = len(encoded.body)
        self._interval = max(self._shortest, max(self._sizes.values()) / self._bytes_per_s)
        self._recheck_at(snapshot.get("recheck_at"), now)
        self._latest[role] = (generation, built_at, encoded)
        return encoded

    def _recheck_at(self, due: float | None, now: float) -> None:
        """Publish again at `due` (epoch s), unless an earlier recheck is already set."""
        if due is None or self._closed:
            return
        if self._recheck is not None:
            if self._recheck[0] <= due:
                return
            self._recheck[1].cancel()

        def fire() -> None:
            self._recheck = None
            self.changed()

        timer = asyncio.get_running_loop().call_later(max(0.0, due - now) + RECHECK_MARGIN_S, fire)
        self._recheck = (due, timer)

    def close(self) -> None:
        """Stop publishing: cancel the pending flush and every scheduled expiry."""
        self._closed = True
        for timer in (self._timer, self._sweeper):
            if timer is not None:
                timer.cancel()
        self._timer = self._sweeper = None
        if self._recheck is not None:
            self._recheck[1].cancel()
            self._recheck = None
        for handle in self._later:
            handle.cancel()
        self._later.clear()
