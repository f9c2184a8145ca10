"""The demo call simulator: realistic traffic for the online agents, fed into the call tracker."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from screenpop.agents import AgentDirectory
from screenpop.call_table import CallTracker
from screenpop.callerid import normalize
from screenpop.calls import Effect, Notify, Pop
from screenpop.errors import ConfigError
from screenpop.events import AgentCallState, CallEvent, EventKind
from screenpop.settings import AgentSettings
from screenpop.telephony.base import Source, SourceContext
from screenpop.telephony.simulator import PoolCaller, SimulatorSource, parse_pool

POOL = """\
# demo callers: raw caller id|name
+12125551234|Jane Doe
(212) 555-0101|John Roe
anonymous
<unknown>|
+442079460958|ACME Ltd
5551234|Somebody Local
"""
POOL_RAWS = {"+12125551234", "(212) 555-0101", "anonymous", "<unknown>", "+442079460958", "5551234"}
WITHHELD_RAWS = {"anonymous", "<unknown>"}
QUEUES = ["support", "sales", "billing"]
TINY: dict[str, Any] = {
    "caller_pool": "callers.txt",
    "interval_s": 0.03,
    "first_call_after_s": 0.02,
    "ring_s": 0.08,
    "talk_s": [0.02, 0.08],
    "queue_wait_s": [0.005, 0.02],
    "answer_share": 0.6,
    "abandon_share": 0.25,
    "ringall_share": 0.3,
    "queues": QUEUES,
    "seed": 7,
    "max_concurrent": 3,
}
ONLINE = ["PJSIP/1001", "PJSIP/1002", "PJSIP/1003"]
FINAL = {EventKind.ENDED, EventKind.ABANDONED}


def directory() -> AgentDirectory:
    return AgentDirectory(
        AgentSettings(id=agent, extensions=[f"PJSIP/{ext}", ext], token=f"t-{agent}")
        for agent, ext in [("alice", "1001"), ("bob", "1002"), ("carol", "1003"), ("dave", "1004")]
    )


class Recorder:
    """The `emit` the simulator is run with: records events and feeds them to a CallTracker."""

    def __init__(self) -> None:
        self.directory = directory()
        self.tracker = CallTracker(self.directory.match)
        self.events: list[CallEvent] = []
        self.effects: list[tuple[CallEvent, list[Effect]]] = []
        self._arrived = asyncio.Event()

    def __call__(self, event: CallEvent) -> None:
        self.events.append(event)
        self.effects.append((event, self.tracker.feed(event)))
        self._arrived.set()

    async def wait_for(self, done: Callable[[], bool]) -> None:
        """Wait until `done()` holds, looking again after every event."""
        async with asyncio.timeout(30):
            while not done():
                self._arrived.clear()
                await self._arrived.wait()

    def by_call(self) -> dict[str, list[CallEvent]]:
        calls: dict[str, list[CallEvent]] = defaultdict(list)
        for event in self.events:
            calls[event.call_id].append(event)
        return calls

    def finished(self) -> list[str]:
        return [cid for cid, evs in self.by_call().items() if evs[-1].kind in FINAL]

    def pops(self) -> list[Pop]:
        return [e for _, effects in self.effects for e in effects if isinstance(e, Pop)]

    def notified(self, state: AgentCallState) -> list[Notify]:
        found = [e for _, effects in self.effects for e in effects if isinstance(e, Notify)]
        return [n for n in found if n.state is state]


def make_source(tmp_path: Path, online: list[str], **overrides: Any) -> SimulatorSource:
    (tmp_path / "callers.txt").write_text(POOL, encoding="utf-8")
    context = SourceContext(base_dir=tmp_path, default_region="US", online_agents=lambda: online)
    return SimulatorSource("sim", {**TINY, **overrides}, context)


async def run_until(
    source: SimulatorSource, recorder: Recorder, done: Callable[[], bool], then: float = 0.0
) -> None:
    """Run the source until `done()` (then `then` seconds more), and cancel it."""
    task = asyncio.create_task(source.run(recorder))
    try:
        await recorder.wait_for(done)
        await asyncio.sleep(then)
        assert source.status.logged_in and source.status.detail == "simulating"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert not source.status.connected


def rich_enough(recorder: Recorder) -> bool:
    """Enough traffic to have seen every kind of call at least once."""
    kinds = {e.kind for e in recorder.events}
    withheld_pops = [p for p in recorder.pops() if p.call.caller in WITHHELD_RAWS]
    return (
        len(recorder.finished()) >= 15
        and {EventKind.ABANDONED, EventKind.MISSED, EventKind.ENDED} <= kinds
        and bool(recorder.notified(AgentCallState.ANSWERED_ELSEWHERE))
        and bool(withheld_pops)
        and any(rang_out(events) for events in recorder.by_call().values())
    )


@pytest.fixture
async def traffic(tmp_path: Path) -> Recorder:
    recorder = Recorder()
    await run_until(make_source(tmp_path, ONLINE), recorder, lambda: rich_enough(recorder))
    return recorder


def test_the_simulator_is_a_source(tmp_path: Path) -> None:
    assert isinstance(make_source(tmp_path, ONLINE), Source)


async def test_every_call_starts_queued_and_ends_ended_or_abandoned(traffic: Recorder) -> None:
    calls = traffic.by_call()
    for events in calls.values():
        assert events[0].kind is EventKind.QUEUED
        assert [e.kind for e in events].count(EventKind.QUEUED) == 1
        finals = [i for i, e in enumerate(events) if e.kind in FINAL]
        assert finals in ([], [len(events) - 1])  # one final event, the last one
    in_flight = [cid for cid, events in calls.items() if events[-1].kind not in FINAL]
    assert len(in_flight) <= TINY["max_concurrent"]  # only those cut short by the cancel


async def test_events_carry_the_pool_callers_and_the_queues(traffic: Recorder) -> None:
    names = {c.raw: c.name for c in parse_pool(POOL)}
    for event in traffic.events:
        assert event.source == "sim"
        assert event.caller in POOL_RAWS
        assert event.caller_name == names[event.caller]
        assert event.queue in QUEUES
        assert event.call_id.startswith("sim-")


async def test_rings_only_online_agents_who_are_not_busy(traffic: Recorder) -> None:
    busy: dict[str, str] = {}
    ringing: dict[str, set[str]] = defaultdict(set)
    for event in traffic.events:
        ext, call = event.endpoint, event.call_id
        if event.kind is EventKind.RINGING:
            assert ext in ONLINE
            assert ext not in busy, f"{ext} rang for {call} while busy with {busy.get(ext)}"
            busy[ext] = call
            ringing[call].add(ext)
        elif event.kind is EventKind.MISSED:
            assert ext is not None and busy.pop(ext) == call
            ringing[call].discard(ext)
        elif event.kind is EventKind.ANSWERED:
            assert ext in ringing[call]
            for other in ringing[call] - {ext}:
                busy.pop(other)
            ringing[call] = {ext}
        elif event.kind in FINAL:
            for held in ringing.pop(call, set()):
                busy.pop(held)


async def test_answers_follow_rings_and_talk_ends_answered_calls(traffic: Recorder) -> None:
    for events in traffic.by_call().values():
        kinds = [e.kind for e in events]
        if EventKind.ENDED in kinds:
            assert EventKind.ANSWERED in kinds
            answer = kinds.index(EventKind.ANSWERED)
            assert events[-1].endpoint == events[answer].endpoint
        if EventKind.ANSWERED in kinds:
            assert EventKind.RINGING in kinds[: kinds.index(EventKind.ANSWERED)]
            assert EventKind.ABANDONED not in kinds


async def test_ring_all_calls_ring_two_agents_and_one_answers(traffic: Recorder) -> None:
    ring_all = []
    for events in traffic.by_call().values():
        first = [e.endpoint for e in events[1:3] if e.kind is EventKind.RINGING]
        if len(first) == 2 and len(events) > 3 and events[3].kind is EventKind.ANSWERED:
            assert events[3].endpoint in first
            ring_all.append(events[0].call_id)
    assert ring_all


def rang_out(events: list[CallEvent]) -> bool:
    """The call stopped ringing an agent unanswered and rang another agent next."""
    kinds = [e.kind for e in events]
    return any(
        a is EventKind.MISSED and b is EventKind.RINGING for a, b in itertools.pairwise(kinds)
    )


async def test_a_missed_ring_rings_out_to_the_next_agent_or_the_caller_gives_up(
    traffic: Recorder,
) -> None:
    for events in traffic.by_call().values():
        for i, event in enumerate(events):
            if event.kind is EventKind.MISSED and i + 1 < len(events):
                assert events[i + 1].kind in (EventKind.MISSED, EventKind.RINGING, *FINAL)
                if events[i + 1].kind is EventKind.ENDED:
                    pytest.fail("a call that was never answered cannot end as answered")
    assert any(rang_out(events) for events in traffic.by_call().values())


async def test_tracker_pops_the_agent_whose_extension_rang(traffic: Recorder) -> None:
    for event, effects in traffic.effects:
        pops = [e.agent_id for e in effects if isinstance(e, Pop)]
        if event.kind is EventKind.RINGING:
            assert pops == [traffic.directory.match(event.endpoint)]
        else:
            assert pops == []
    popped = {p.agent_id for p in traffic.pops()}
    assert popped <= {"alice", "bob", "carol"}
    assert "dave" not in popped  # dave never has the page open


async def test_tracker_tells_the_other_agent_of_a_ring_all_call(traffic: Recorder) -> None:
    for notify in traffic.notified(AgentCallState.ANSWERED_ELSEWHERE):
        assert notify.call.agent is not None
        assert notify.agent_id != notify.call.agent


async def test_withheld_callers_pop_as_withheld(traffic: Recorder) -> None:
    withheld = 0
    for pop in traffic.pops():
        caller = normalize(pop.call.caller, "US")
        assert caller.withheld is (pop.call.caller in WITHHELD_RAWS)
        if caller.withheld:
            withheld += 1
            assert caller.query() is None  # never looked up
    assert withheld


async def test_no_agents_online_means_no_calls(tmp_path: Path) -> None:
    online: list[str] = []
    source = make_source(tmp_path, online)
    recorder = Recorder()
    task = asyncio.create_task(source.run(recorder))
    try:
        await asyncio.sleep(0.4)  # many call intervals
        assert recorder.events == []
        assert source.status.logged_in
        online.append("PJSIP/1002")  # an agent logs in: a call rings them soon after
        await recorder.wait_for(lambda: any(e.kind is EventKind.RINGING for e in recorder.events))
        assert recorder.events[0].kind is EventKind.QUEUED
        assert {e.endpoint for e in recorder.events if e.endpoint} == {"PJSIP/1002"}
        online.clear()  # the agent logs out: no new caller arrives
        started = {e.call_id for e in recorder.events}
        await asyncio.sleep(0.4)
        assert {e.call_id for e in recorder.events} == started
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_same_seed_same_callers_and_every_caller_comes_up(tmp_path: Path) -> None:
    orders = []
    for _ in range(2):
        recorder = Recorder()
        source = make_source(tmp_path, ONLINE, seed=11)
        await run_until(source, recorder, lambda r=recorder: len(r.by_call()) >= 12)  # type: ignore[misc]
        queued = [e.caller for e in recorder.events if e.kind is EventKind.QUEUED]
        orders.append(queued[:12])
    assert orders[0] == orders[1]
    assert set(orders[0][:6]) == POOL_RAWS  # dealt in rounds: everybody calls in turn


async def test_check_reports_a_logged_in_status(tmp_path: Path) -> None:
    status = await make_source(tmp_path, ONLINE).check()
    assert status.connected and status.logged_in
    assert "6 callers" in status.detail


@pytest.mark.parametrize("content", [None, "", "# only a comment\n\n   \n"])
async def test_check_fails_without_callers(tmp_path: Path, content: str | None) -> None:
    source = make_source(tmp_path, ONLINE)
    pool = tmp_path / "callers.txt"
    if content is None:
        pool.unlink()
    else:
        pool.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"callers\.txt"):
        await source.check()


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"colour": "blue"}, "colour"),
        ({"talk_s": [5, 1]}, "talk_s"),
        ({"queue_wait_s": [1]}, "queue_wait_s"),
        ({"abandon_share": 1.5}, "abandon_share"),
        ({"interval_s": 0}, "interval_s"),
        ({"queues": []}, "queues"),
        ({"max_concurrent": 0}, "max_concurrent"),
    ],
)
def test_bad_options_are_a_config_error(tmp_path: Path, options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"telephony\.sim(.|\n)*{key}"):
        make_source(tmp_path, ONLINE, **options)


@pytest.mark.parametrize(
    ("text", "callers"),
    [
        ("+12125551234|Jane Doe\n", [PoolCaller("+12125551234", "Jane Doe")]),
        ("+12125551234\n", [PoolCaller("+12125551234")]),
        ("  anonymous  |  \n", [PoolCaller("anonymous")]),
        ("# comment\n\n  # indented comment\n1001|Desk\n", [PoolCaller("1001", "Desk")]),
        ("212-555-1234#7|Ext|Name\n", [PoolCaller("212-555-1234#7", "Ext|Name")]),
        ("|Nobody\r\n", [PoolCaller("", "Nobody")]),
        ("Zoë|Zoë Dupré\n", [PoolCaller("Zoë", "Zoë Dupré")]),
    ],
)
def test_parse_pool(text: str, callers: list[PoolCaller]) -> None:
    assert parse_pool(text) == callers
