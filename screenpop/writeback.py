"""Write-back: every saved note and every call's end, delivered to each connector that records
(:func:`~screenpop.connectors.contract.can_record`) through the durable
:class:`~screenpop.store.records.RecordQueue`.

One task drains the queue, never the pop path: per connector, oldest first, one item at a time
(so every call's items arrive in order). A ConnectorError, a timeout or an OSError leaves the
item at the head and tries that connector again after a backoff (0.2 s doubling to 2 s, like
the outbox); RecordRejected marks it failed (with why) and goes on. Every change of an item's
state is told to `notify` (the agent's tabs show it on the note).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from screenpop.connectors.contract import (
    RECORD_LIMIT_S,
    Recorder,
    RecordItem,
    RecordRejected,
    can_record,
)
from screenpop.connectors.runtime import ConnectorRuntime
from screenpop.errors import ConnectorError, StoreError
from screenpop.store.records import RecordQueue, Waiting

log = logging.getLogger(__name__)

RETRY_S = (0.2, 2.0)
FILE_RETRY = "\x00file"  # the key of _next_try for the queue file itself (after it failed)
SYNCED, PENDING, FAILED = "synced", "pending", "failed"


@dataclass(frozen=True, slots=True)
class RecordStatus:
    """Where one item stands with one connector: synced, pending or failed (with why)."""

    item: RecordItem
    connector: str
    state: str
    error: str = ""


Notify = Callable[[RecordStatus], Awaitable[None]]


async def _ignore(_status: RecordStatus) -> None:
    return None


def recorders_of(runtimes: Iterable[ConnectorRuntime]) -> dict[str, Recorder]:
    """The recording connectors among `runtimes`, by name."""
    return {r.name: r.connector for r in runtimes if can_record(r.connector)}


class Writeback:
    """Queues write-backs and delivers them. Use as ``async with`` (starts and stops the drain)."""

    def __init__(
        self,
        queue: RecordQueue,
        recorders: Callable[[], Mapping[str, Recorder]],
        notify: Notify = _ignore,
        retry_s: tuple[float, float] = RETRY_S,
    ) -> None:
        self.queue = queue
        self._recorders = recorders
        self.notify = notify
        self._retry_s = retry_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._filer: asyncio.Task[None] | None = None
        self._later: list[RecordItem] = []  # handed over without waiting, filed at once
        self._filing = asyncio.Event()
        self._file_lock = asyncio.Lock()
        self._delay: dict[str, float] = {}  # per connector in backoff: the current wait
        self._next_try: dict[str, float] = {}
        self.delivered: dict[str, int] = {}
        self.retried: dict[str, int] = {}
        self.rejected: dict[str, int] = {}

    def recording(self) -> list[str]:
        """The names of the connectors that record, in config order."""
        return list(self._recorders())

    async def put(self, item: RecordItem) -> dict[str, str]:
        """Queue `item` for every recording connector: the state per connector ("pending", or
        "failed: ..." when the queue could not keep it). Never raises for the file: a failure
        is logged and shown as failed."""
        states: dict[str, str] = {}
        for name in self.recording():
            try:
                kept = await self.queue.put(name, item)
            except StoreError as exc:
                log.error("write-back of %s to %s not queued: %s", item.record_id, name, exc)
                kept = False
            states[name] = PENDING if kept else f"{FAILED}: write-back queue full"
        if states:
            self._wake.set()
        return states

    def put_later(self, item: RecordItem) -> None:
        """Queue `item` (a call's end) without waiting: a task of its own files it at once, even
        while the drain waits on a slow back office, so a crash then does not lose it."""
        if self._recorders():
            self._later.append(item)
            self._filing.set()

    async def _file_later(self) -> None:
        """File the handed-over items in order; each leaves the list once it is in the queue
        file (cancelled half way, it is filed again later: the queue keeps an item once)."""
        async with self._file_lock:
            while self._later:
                await self.put(self._later[0])
                self._later.pop(0)

    async def _file_forever(self) -> None:
        while True:
            await self._filing.wait()
            self._filing.clear()
            try:
                await self._file_later()
            except StoreError:  # the drain's next pass tries again
                log.exception("write-back: the queue file failed")
            self._wake.set()

    # -- life cycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run(), name="write-back")
        self._filer = loop.create_task(self._file_forever(), name="write-back filer")
        self._wake.set()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in (self._task, self._filer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._filer = None
        with contextlib.suppress(StoreError):
            await self._file_later()  # call ends handed over last: kept for the next start
        if len(self.queue):
            log.warning("write-back: %s items wait in %s", len(self.queue), self.queue.where)

    # -- the drain --------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                await self._file_later()
                await self.drain_once()
            except StoreError:
                log.exception("write-back: the queue file failed")
                self._next_try[FILE_RETRY] = loop.time() + self._retry_s[1]
            # the next retry due; one that fell due while the pass ran (after the pass looked at
            # it) is due now: waiting on without a timeout would leave its items there for good
            now = loop.time()
            waits = [max(0.0, t - now) for t in self._next_try.values()]
            timeout = min(waits) if waits else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._next_try.pop(FILE_RETRY, None)

    async def drain_once(self) -> None:
        """One pass: every connector not in backoff gets its pending items, oldest first,
        until one must wait."""
        recorders = self._recorders()
        now = asyncio.get_running_loop().time()
        pending = await self.queue.connectors()
        for name in [n for n in self._next_try if n != FILE_RETRY and n not in pending]:
            del self._next_try[name]  # nothing waits for it any more
        for name in pending:
            recorder = recorders.get(name)
            if recorder is None:  # no longer configured: its items are kept for when it is back
                self._next_try.pop(name, None)
            elif self._next_try.get(name, 0.0) <= now:  # not backing off
                await self._deliver(name, recorder)

    async def _deliver(self, name: str, recorder: Recorder) -> None:
        while batch := await self.queue.head(name, 50):
            for waiting in batch:
                if not await self._one(name, recorder, waiting):
                    return

    async def _one(self, name: str, recorder: Recorder, waiting: Waiting) -> bool:
        """Deliver one item: True to go on with the next, False when the connector must wait."""
        try:
            async with asyncio.timeout(RECORD_LIMIT_S):
                await recorder.record(waiting.item)
        except RecordRejected as exc:
            await self.queue.fail(waiting, str(exc))
            _bump(self.rejected, name)
            log.warning("write-back of %s rejected by %s: %s", waiting.item.record_id, name, exc)
            await self._tell(RecordStatus(waiting.item, name, FAILED, str(exc)))
            return True
        except (ConnectorError, TimeoutError, OSError) as exc:
            self._back_off(name, str(exc) or type(exc).__name__)
            return False
        await self.queue.done(waiting)
        _bump(self.delivered, name)
        self._delay.pop(name, None)
        self._next_try.pop(name, None)
        await self._tell(RecordStatus(waiting.item, name, SYNCED))
        return True

    def _back_off(self, name: str, why: str) -> None:
        first, longest = self._retry_s
        delay = min(longest, self._delay.get(name, first / 2) * 2)
        self._delay[name] = delay
        self._next_try[name] = asyncio.get_running_loop().time() + delay
        _bump(self.retried, name)
        log.info("write-back to %s: %s; again in %.1f s", name, why, delay)

    async def _tell(self, status: RecordStatus) -> None:
        try:
            await self.notify(status)
        except Exception:  # a status that cannot be shown must not stop the drain
            log.exception("write-back: could not tell the status of %s", status.item.record_id)


def _bump(counts: dict[str, int], name: str) -> None:
    counts[name] = counts.get(name, 0) + 1
