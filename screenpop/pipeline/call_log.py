"""The call-log writer: one record per call change worth keeping, written by one task in order,
so the pop path only ever queues a record and never awaits the store."""

from __future__ import annotations

import logging

from screenpop.calls import Call
from screenpop.errors import ScreenpopError
from screenpop.pipeline.runtime import CallRuntimes
from screenpop.store import CallRecord, Store
from screenpop.tasks import OrderedWorker

log = logging.getLogger(__name__)


class CallLogWriter(OrderedWorker[CallRecord]):
    """Queues call records and writes them to the store in order. Use as ``async with``: on
    exit it writes what is queued (for at most `drain_s` seconds), then stops."""

    def __init__(self, store: Store, runtimes: CallRuntimes, drain_s: float = 2.0) -> None:
        self._store = store
        self._runtimes = runtimes
        super().__init__("call log writer", drain_s)

    def write(self, call: Call) -> None:
        """Log the call as it is now (a newer record of a call replaces an older one)."""
        self.put(self.record(call))

    def record(self, call: Call) -> CallRecord:
        """The call's row: what the tracker knows, with the caller as the card build read it."""
        runtime = self._runtimes.get(call.call_id)
        caller = runtime.caller if runtime is not None else None
        return CallRecord(
            source=call.source,
            call_id=call.call_id,
            caller_raw=call.caller or "",
            caller_e164=caller.e164 if caller and caller.lookupable else None,
            caller_name=call.caller_name,
            queue=call.queue,
            agent_id=call.agent,
            state=str(call.state),
            direction="outbound" if call.outbound else "inbound",
            started_at=call.started_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
        )

    def _describe(self, record: CallRecord) -> str:
        return f"call {record.call_id}"

    async def _handle(self, record: CallRecord) -> None:
        try:
            await self._store.record_call(record)
        except ScreenpopError as exc:
            log.warning("call %s: not logged: %s", record.call_id, exc)
