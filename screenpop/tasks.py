"""Background work with an owner: each task is kept, its failure logged, cancelled at close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskOwner:
    """Owns background tasks: keeps a reference, logs their failures, cancels them on close."""

    def __init__(self, drain_s: float = 2.0) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._finish: set[asyncio.Task[Any]] = set()  # writes worth waiting for at shutdown
        self._drain_s = drain_s

    def spawn(
        self, coro: Coroutine[Any, Any, Any], name: str, *, finish: bool = False
    ) -> asyncio.Task[Any]:
        """Run `coro` in the background. With `finish`, :meth:`aclose` lets it complete (for a
        bounded time) instead of cancelling it: for writes such as the call log."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        if finish:
            self._finish.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._finish.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    async def aclose(self) -> None:
        if self._finish:
            await asyncio.wait(list(self._finish), timeout=self._drain_s)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
