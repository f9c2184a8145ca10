"""The call log: one record per call change worth keeping, queued on the store writer (which
writes them in order, in batches, through the outbox when the store is away), so the pop path
never awaits the database."""

from __future__ import annotations

from screenpop.calls import Call
from screenpop.pipeline.runtime import CallRuntimes
from screenpop.store import CallRecord
from screenpop.store.writer import StoreWriter


class CallLogWriter:
    """Turns calls into call-log rows and queues them on the store writer."""

    def __init__(self, writer: StoreWriter, runtimes: CallRuntimes) -> None:
        self._writer = writer
        self._runtimes = runtimes

    def write(self, call: Call) -> None:
        """Log the call as it is now (a newer record of a call replaces an older one)."""
        self._writer.queue(self.record(call))

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
