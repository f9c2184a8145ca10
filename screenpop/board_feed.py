"""Publishing the queue board to supervisors: coalesced, at most a few snapshots a second.

Every change marks the board dirty; one timer per burst publishes a fresh snapshot to every online
watcher (an agent whose role has `board = true`) once the minimum interval has passed. Snapshots
are made once per role per flush, since what a supervisor sees of a caller depends on the role.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from screenpop.board import Board
from screenpop.messages import BoardMessage, ServerMessage

MAX_RATE_HZ = 4.0


class BoardFeed:
    """Publishes `board` messages: `publish(agent_id, message)` sends one to an agent's tabs,
    `watchers()` lists the (agent id, role) of online agents allowed to watch the board."""

    def __init__(
        self,
        board: Board,
        publish: Callable[[str, ServerMessage], Any],
        watchers: Callable[[], Iterable[tuple[str, str]]],
        max_rate_hz: float = MAX_RATE_HZ,
    ) -> None:
        self.board = board
        self._publish = publish
        self._watchers = watchers  # (agent id, role) of online agents allowed to watch
        self._interval = 1.0 / max_rate_hz
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._later: set[asyncio.TimerHandle] = set()
        self.published = 0

    def changed(self) -> None:
        """Something on the board changed: publish soon, coalescing with other changes."""
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

    def card_changed(self, call_id: str) -> None:
        """A caller's card filled in: the board shows its summary, if the call is on it."""
        if call_id in self.board.calls:
            self.changed()

    def send_to(self, agent_id: str, role: str) -> None:
        """A watcher just connected: give it the board at once."""
        self._publish(agent_id, self._message(role, time.time()))

    def _flush(self) -> None:
        self._timer = None
        self._last = time.monotonic()
        now = time.time()
        by_role: dict[str, BoardMessage] = {}
        for agent_id, role in self._watchers():
            if role not in by_role:
                by_role[role] = self._message(role, now)
            self._publish(agent_id, by_role[role])
            self.published += 1

    def _message(self, role: str, now: float) -> BoardMessage:
        return BoardMessage(self.board.snapshot(now, role))

    def close(self) -> None:
        """Stop publishing: cancel the pending flush and every scheduled expiry."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for handle in self._later:
            handle.cancel()
        self._later.clear()
