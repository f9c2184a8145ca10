"""One call's messages delivered in order: a pop waits for the call's first card, and what
follows it (call states, card updates) waits for the pop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from screenpop.tasks import TaskOwner

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Backlog:
    """How many jobs the couriers sharing it still hold, queued or running (zero: every
    message owed has been handed to the hub)."""

    def __init__(self) -> None:
        self.jobs = 0


class Courier:
    """Delivers one call's messages in order; a pop waits for the call's first card."""

    def __init__(self, owner: TaskOwner, call_id: str, backlog: Backlog | None = None) -> None:
        self._jobs: asyncio.Queue[Job | None] = asyncio.Queue()
        self._backlog = backlog or Backlog()
        self.task = owner.spawn(self._run(), name=f"courier {call_id}")

    def put(self, job: Job) -> None:
        """Run `job` after every job put before it; a failing job is logged, the next one runs."""
        self._backlog.jobs += 1
        self._jobs.put_nowait(job)

    def finish(self) -> None:
        """No more jobs: the courier's task ends once the queued ones ran."""
        self._jobs.put_nowait(None)

    async def _run(self) -> None:
        while (job := await self._jobs.get()) is not None:
            try:
                await job()
            except Exception:
                log.exception("delivery failed")
            finally:
                self._backlog.jobs -= 1
