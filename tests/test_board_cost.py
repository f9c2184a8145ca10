"""The snapshot's cost stays flat with the headline and alarms in it: one walk over the live
calls per snapshot, however many agents and queues, and a caller's display fields asked once
for each caller shown."""

from __future__ import annotations

import time
from typing import Any

from screenpop.board.alarms import Limit, Thresholds
from screenpop.board.model import Board
from screenpop.board.views import CallView
from screenpop.calls import Call
from screenpop.events import CallState

NOW = time.time()


class CountedCalls(dict[str, CallView]):
    """The board's live calls, counting the walks over all of them."""

    walks = 0

    def values(self) -> Any:
        CountedCalls.walks += 1
        return super().values()


def test_a_snapshot_walks_the_calls_once_whatever_the_agents_and_queues() -> None:
    asked: list[str] = []

    def info(call_id: str, role: str | None) -> dict[str, Any]:
        asked.append(call_id)
        return {"caller": call_id}

    limits = Thresholds(waiting=Limit(warn=10, alert=100), longest_wait_s=Limit(alert=60))
    board = Board(20, 30, info, thresholds={"default": limits})
    agents = [f"a{i}" for i in range(300)]
    board.set_agents([(a, a) for a in agents])
    for agent in agents:
        board.presence(agent, True, NOW)
    for i in range(2000):  # callers waiting in 20 queues, and 100 agents on calls
        held = agents[i] if i < 100 else None
        state = CallState.ANSWERED if held else CallState.QUEUED
        call = Call(f"c{i}", "pbx", queue=f"q{i % 20}", state=state, started_at=NOW - i % 90,
                    answered_at=NOW if held else None, agent=held)  # fmt: skip
        board.on_call(call, NOW)
    for i in range(100):
        board.pause(agents[200 + i], "lunch", NOW)
    board.calls = CountedCalls(board.calls)
    CountedCalls.walks = 0

    snap = board.snapshot(NOW + 1, "supervisor")

    assert CountedCalls.walks == 1
    assert len(asked) == 2000  # 1900 callers waiting, 100 with an agent: each asked once
    assert snap["totals"]["waiting"] == 1900
    assert snap["totals"]["agents"]["on_call"] == 100
    assert snap["totals"]["agents"]["paused"] == 100
    assert snap["totals"]["agents"]["available"] == 100
    # each queue's calls reached only the 5 agents now on its calls: 100 others are available,
    # but none of them takes any queue the board knows of
    nobody = [a for a in snap["alarms"] if a["kind"] == "nobody_available"]
    assert len(nobody) == 20
