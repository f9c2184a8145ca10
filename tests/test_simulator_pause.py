"""The simulator as a Pauser: a paused agent is not rung, and the pause is reported back as a
PBX would (an AgentStatusEvent), as is the demo's pause at start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screenpop.events import AgentStatusEvent, CallEvent, EventKind, SourceEvent
from screenpop.telephony.base import Pauser
from tests.harness import until
from tests.test_simulator import make_source


async def test_a_paused_extension_is_never_rung_until_unpaused(tmp_path: Path) -> None:
    source = make_source(tmp_path, ["PJSIP/1001", "PJSIP/1002"], ringall_share=0.0)
    assert isinstance(source, Pauser)
    got: list[SourceEvent] = []
    task = asyncio.create_task(source.run(got.append))
    try:
        await until(lambda: source.status.logged_in, "simulating")
        await source.pause(["PJSIP/1001", "1001"], True, "lunch")
        first = got[-1]
        assert first == AgentStatusEvent("sim", "PJSIP/1001", True, "lunch", at=first.at)
        got.clear()  # a call may have rung 1001 before the pause

        def rings(ext: str) -> list[CallEvent]:
            calls = [e for e in got if isinstance(e, CallEvent)]
            return [e for e in calls if e.kind is EventKind.RINGING and e.endpoint == ext]

        await until(lambda: len(rings("PJSIP/1002")) >= 8, "calls for the other agent")
        assert rings("PJSIP/1001") == []
        await source.pause(["PJSIP/1001", "1001"], False, None)
        await until(lambda: len(rings("PJSIP/1001")) >= 1, "rung again once available")
        statuses = [e for e in got if isinstance(e, AgentStatusEvent)]
        assert [(s.paused, s.reason) for s in statuses] == [(False, "")]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_start_paused_pauses_at_start_and_unpauses_later(tmp_path: Path) -> None:
    options = {"start_paused": {"PJSIP/1003": "training"}, "start_paused_s": 0.2}
    source = make_source(tmp_path, [], **options)
    got: list[SourceEvent] = []
    task = asyncio.create_task(source.run(got.append))
    try:
        await until(lambda: len(got) >= 2, "paused, then unpaused")
        assert [
            (e.endpoint, e.paused, e.reason) for e in got if isinstance(e, AgentStatusEvent)
        ] == [
            ("PJSIP/1003", True, "training"),
            ("PJSIP/1003", False, ""),
        ]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
