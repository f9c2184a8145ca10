"""What only this process holds of a call, in one place per call id: the latest aggregate it
applied, the normalized caller, the card build and its task, and the call's courier."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from screenpop.callerid import CallerId
from screenpop.calls import Call
from screenpop.delivery.courier import Backlog, Courier
from screenpop.lookup import CardBuild
from screenpop.tasks import TaskOwner

# A closed call's card stays this long for late answers, notes and picking a candidate during a
# long wrap-up; then only the call log remembers it.
CLOSED_BUILD_GRACE_S = 900.0


@dataclass(slots=True, eq=False)
class CallRuntime:
    """One call's process-local state. `call` is the aggregate as this process last applied it."""

    call: Call
    caller: CallerId | None = None
    keys: dict[str, str] = field(default_factory=dict)  # the lookup keys its card was built with
    build: CardBuild | None = None
    build_task: asyncio.Task[Any] | None = None
    courier: Courier | None = None
    # what the board shows of the caller, per role: (card, role settings, info), remade only when
    # the card or the role's settings are new objects (both are replaced, never changed)
    board_info: dict[str | None, tuple[object, object, dict[str, Any]]] = field(
        default_factory=dict
    )


class CallRuntimes:
    """The runtime of every call this process works on, forgotten a grace after the call ended."""

    def __init__(self, tasks: TaskOwner, grace_s: float = CLOSED_BUILD_GRACE_S) -> None:
        self._tasks = tasks
        self.grace_s = grace_s  # read at each call's end (the cycles bench shortens it)
        self._calls: dict[str, CallRuntime] = {}
        self.backlog = Backlog()  # every courier's jobs still to run, for an orderly stop

    def get(self, call_id: str) -> CallRuntime | None:
        return self._calls.get(call_id)

    def seen(self, call: Call) -> CallRuntime:
        """The call's runtime, made at first sight; its aggregate updated to `call`."""
        runtime = self._calls.get(call.call_id)
        if runtime is None:
            runtime = self._calls[call.call_id] = CallRuntime(call)
        runtime.call = call
        return runtime

    def courier(self, call: Call) -> Courier:
        """The call's courier (started on first use) that delivers its messages in order."""
        runtime = self.seen(call)
        if runtime.courier is None:
            runtime.courier = Courier(self._tasks, call.call_id, self.backlog)
        return runtime.courier

    def ended(self, call_id: str) -> None:
        """The call is over: its courier finishes what it holds; the rest is forgotten later."""
        runtime = self._calls.get(call_id)
        if runtime is None:
            return
        if runtime.courier is not None:
            runtime.courier.finish()
            runtime.courier = None
        asyncio.get_running_loop().call_later(self.grace_s, self._forget, call_id, runtime)

    def _forget(self, call_id: str, runtime: CallRuntime) -> None:
        if self._calls.get(call_id) is runtime:
            del self._calls[call_id]
