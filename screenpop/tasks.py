"""Background work with an owner: each task is kept, its failure logged, cancelled at close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


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


class OrderedWorker(Generic[T]):
    """One task that handles queued items one at a time, in the order they were put.

    Subclasses say how to :meth:`_handle` an item and :meth:`_describe` it for the log. Use as
    ``async with``: entering starts the task; leaving handles what is already queued (for at most
    `drain_s` seconds), then stops. `_handle` must not raise for an item it could not handle; if
    it does anyway, the failure is logged and the next item goes on.
    """

    def __init__(self, name: str, drain_s: float = 2.0) -> None:
        self._name = name
        self._drain_s = drain_s
        self._queue: asyncio.Queue[T | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._busy = False

    async def _handle(self, item: T) -> None:
        raise NotImplementedError

    def _describe(self, item: T) -> str:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing being handled."""
        return self._queue.empty() and not self._busy

    def put(self, item: T) -> None:
        """Queue `item`; never blocks."""
        self._queue.put_nowait(item)

    async def __aenter__(self) -> Self:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._queue.put_nowait(None)
        done, _ = await asyncio.wait([task], timeout=self._drain_s)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while (item := await self._queue.get()) is not None:
            self._busy = True
            try:
                await self._handle(item)
            except Exception:
                log.exception("%s: %s failed", self._name, self._describe(item))
            finally:
                self._busy = False
