"""Every write to the store goes through the :class:`StoreWriter`, so none is lost when the
store is away and none is applied twice.

* Call rows are queued without waiting (the pop path never awaits the database) and written by
  one task, in batches, in order. The task waits `gather_s` after the first of a batch for the
  rest of its call to arrive: one transaction for several events instead of one each.
* Notes and logouts are written at once when the store is up (`save` answers True: stored).
* Whenever a write fails, it goes to the :class:`~screenpop.store.outbox.Outbox` instead
  (`save` answers False: queued), and so does every write after it until the store answers
  again. A second task moves the outbox to the store, oldest first, retrying with backoff. Once
  the store answers, new writes go straight to it again and take the waiting record of the same
  call out of the outbox (the new one contains it); one lock around every write to the store
  and its outbox bookkeeping keeps an older record from landing after a newer one.
* A write the store refuses (StoreRejected: it will never fit) is logged, counted and dropped
  so it cannot block the line.

Use as ``async with``: leaving writes what is queued (to the store if it answers at once,
otherwise to the outbox) within `drain_s`; what is still in the outbox waits for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

from screenpop.errors import StoreError, StoreRejected
from screenpop.store.call_log import Store
from screenpop.store.outbox import Outbox, Pending, kind_of
from screenpop.store.schema import Write

log = logging.getLogger(__name__)

BATCH = 200
GATHER_S = 0.02  # how long a queued write waits for others to share its transaction
RETRY_S = (0.2, 2.0)  # first and longest wait between two tries of the outbox's oldest writes
CLOSING_TRY_S = 1.0  # at shutdown, how long the store may take before the rest goes to the outbox


class StoreWriter:
    """Writes call rows, notes and logouts to the store, through the outbox when it is away."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        *,
        drain_s: float = 2.0,
        retry_s: tuple[float, float] = RETRY_S,
        gather_s: float = GATHER_S,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self._drain_s = drain_s
        self._gather_s = gather_s
        self._retry_s = retry_s
        self._queue: asyncio.Queue[Write | None] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one write to the store at a time, with its bookkeeping
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._in_hand = 0  # taken off the queue, not yet in the store or the outbox
        self.store_up = True  # False from a failed write until the store takes one again
        self.store_error = ""  # why the store is away, for /readyz and the log
        self.written = 0  # writes the store took from the outbox
        self.rejected = 0  # writes the store refused and that were dropped
        self.lost = 0  # call rows that neither the store nor the outbox could keep
        # told of every write once the store holds it (at once, or after the outbox)
        self.on_written: Callable[[Sequence[Write]], None] = _nobody

    @property
    def waiting(self) -> int:
        """Writes not in the store yet: queued in memory or waiting in the outbox."""
        return self._queue.qsize() + self._in_hand + len(self.outbox)

    # -- writing ----------------------------------------------------------------------------

    def queue(self, item: Write) -> None:
        """Write `item` soon, after everything queued before it; never blocks."""
        self._queue.put_nowait(item)

    async def save(self, item: Write) -> bool:
        """Write `item` now: True once the store holds it, False when it waits in the outbox.
        StoreRejected if the store refused it; StoreError (OutboxFull among them) when neither
        the store nor the outbox could take it."""
        if self.store_up:
            try:
                await self.store.write([item])
            except StoreRejected:
                raise
            except StoreError as exc:
                self._went_away(exc)
            else:
                self.on_written([item])
                return True
        await self.outbox.put([item])
        self._wake.set()
        return False

    # -- life cycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._write_queued(), name="store writer"),
            loop.create_task(self._drain_outbox(), name="outbox drain"),
        ]
        for task in self._tasks:
            task.add_done_callback(_log_failure)
        if len(self.outbox):
            self._wake.set()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._tasks:
            return
        writer, drain = self._tasks
        self._tasks = []
        self._closing = True
        self._queue.put_nowait(None)
        done, _ = await asyncio.wait([writer], timeout=self._drain_s)
        for task in (drain, *([] if done else [writer])):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.waiting:
            log.warning(
                "store writer: %s writes wait in outbox %s for the next start",
                self.waiting,
                self.outbox.where,
            )

    # -- the two tasks ----------------------------------------------------------------------

    async def _write_queued(self) -> None:
        """Take what is queued, in batches, to the store or (while it is away) the outbox."""
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if self._gather_s > 0 and not self._closing:
                self._in_hand = 1
                await asyncio.sleep(self._gather_s)
            batch = [item]
            while len(batch) < BATCH and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    await self._deliver(batch)
                    return
                batch.append(more)
            await self._deliver(batch)

    async def _deliver(self, batch: list[Write]) -> None:
        self._in_hand = len(batch)
        try:
            await self._deliver_now(batch)
        finally:
            self._in_hand = 0

    async def _deliver_now(self, batch: list[Write]) -> None:
        if self.store_up:
            try:
                async with self._lock:
                    await self._write_now(batch)
                    if len(self.outbox):
                        await self.outbox.forget(batch)  # what waits there is older
                return
            except StoreError as exc:  # StoreRejected is handled in _write_now
                self._went_away(exc)
        try:
            await self.outbox.put(batch)
        except StoreError as exc:
            self.lost += len(batch)
            log.error("call log: %s rows lost, the outbox cannot keep them: %s", len(batch), exc)
            return
        self._wake.set()

    async def _write_now(self, batch: Sequence[Write]) -> None:
        try:
            if self._closing:
                async with asyncio.timeout(CLOSING_TRY_S):
                    await self.store.write(batch)
            else:
                await self.store.write(batch)
        except StoreRejected:
            await self._one_by_one(batch)
        except TimeoutError as exc:
            raise StoreError(f"no answer within {CLOSING_TRY_S:g} s while closing") from exc
        else:
            self.on_written(batch)

    async def _one_by_one(self, batch: Sequence[Write]) -> None:
        """A batch the store refused: write each alone and drop only the refused ones. A
        StoreError other than a refusal propagates with the rest unwritten."""
        for item in batch:
            try:
                await self.store.write([item])
            except StoreRejected as exc:
                self.rejected += 1
                log.error("store refused a %s write, dropped: %s", kind_of(item), exc)
            else:
                self.on_written([item])

    async def _drain_outbox(self) -> None:
        """Move the outbox to the store, oldest first; retry with backoff while it is away."""
        wait = self._retry_s[0]
        while True:
            await self._wake.wait()
            self._wake.clear()
            while len(self.outbox):
                try:
                    async with self._lock:
                        await self._write_pending(await self.outbox.head(BATCH))
                except StoreError as exc:
                    self._went_away(exc)
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, self._retry_s[1])
                    continue
                wait = self._retry_s[0]
                self._came_back()

    async def _write_pending(self, pending: list[Pending]) -> None:
        await self._write_now([p.item for p in pending])
        await self.outbox.remove(pending)
        self.written += len(pending)

    # -- health -----------------------------------------------------------------------------

    def _went_away(self, exc: StoreError) -> None:
        self.store_error = str(exc)
        if self.store_up:
            self.store_up = False
            log.warning("store away, writes wait in outbox %s: %s", self.outbox.where, exc)

    def _came_back(self) -> None:
        if not self.store_up:
            self.store_up = True
            self.store_error = ""
            log.info("store back: writing the outbox (%s writes wait)", len(self.outbox))


def _nobody(items: Sequence[Write]) -> None:
    """Nobody listens for written items."""


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped", task.get_name(), exc_info=task.exception())
