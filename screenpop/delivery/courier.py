"""One call's messages delivered in order: a pop waits for the call's first card, and what
follows it (call states, card updates) waits for the pop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from screenpop.tasks import TaskOwner

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Courier:
    """Delivers one call's messages in order; a pop waits for the call's first card."""

    def __init__(self, owner: TaskOwner, call_id: str) -> None:
        self._jobs: asyncio.Queue[Job | None] = asyncio.Queue()
        self.task = owner.spawn(self._run(), name=f"courier {call_id}")

    def put(self, job: Job) -> None:
        """Run `job` after every job put before it; a failing job is logged, the next one runs."""
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
