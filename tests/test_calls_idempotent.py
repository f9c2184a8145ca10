"""Applying an event again changes nothing, however late: after the end a call stays ended (no
ring, no pop, no board or log change), and an answered call never goes back to an agent it rang
before. Sources are not trusted to have filtered their repeats."""

from __future__ import annotations

from screenpop.call_table import ENDED_REMEMBERED_S, RECENTLY_CLOSED, CallTable, CallTracker
from screenpop.calls import Changed, Effect, Notify, Pop
from screenpop.events import CallEvent, CallState, EventKind

AGENTS = {"1001": "alice", "1002": "bob", "1003": "carol"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def tracker(table: CallTable | None = None) -> CallTracker:
    return CallTracker(lambda endpoint: AGENTS.get(endpoint or ""), table)


def ev(kind: EventKind, endpoint: str | None = None, call_id: str = "c1") -> CallEvent:
    return CallEvent("hook", call_id, kind, caller="+12125551234", endpoint=endpoint, queue="q")


def told(effects: list[Effect]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for e in effects:
        if isinstance(e, Pop):
            out.append((e.agent_id, "pop"))
        elif isinstance(e, Notify):
            out.append((e.agent_id, str(e.state)))
    return out


def feed(t: CallTracker, events: list[CallEvent]) -> list[Effect]:
    effects: list[Effect] = []
    for event in events:
        effects.extend(t.feed(event))
    return effects


def answered_call(call_id: str = "c1") -> list[CallEvent]:
    return [
        ev(EventKind.QUEUED, call_id=call_id),
        ev(EventKind.RINGING, "1001", call_id),
        ev(EventKind.RINGING, "1002", call_id),
        ev(EventKind.ANSWERED, "1001", call_id),
    ]


def whole_call(call_id: str = "c1") -> list[CallEvent]:
    return [*answered_call(call_id), ev(EventKind.ENDED, call_id=call_id)]


def test_a_whole_call_sent_again_after_its_end_changes_nothing() -> None:
    t = tracker()
    first = feed(t, whole_call())
    assert told(first) == [
        ("alice", "pop"),
        ("bob", "pop"),
        ("alice", "answered"),
        ("bob", "answered_elsewhere"),
        ("alice", "ended"),
    ]
    again = feed(t, whole_call())
    assert again == []  # no pop, no Changed: the board and the call log hear nothing
    call = t.get("c1")
    assert call is not None and call.state is CallState.ENDED and call.agent == "alice"
    assert t.calls == {}


def test_an_ended_call_is_remembered_beyond_the_calls_kept_whole() -> None:
    t = tracker()
    feed(t, whole_call("old"))
    for n in range(RECENTLY_CLOSED + 10):  # enough later calls to push "old" out of the whole
        feed(t, [ev(EventKind.RINGING, "1003", f"n{n}"), ev(EventKind.ABANDONED, call_id=f"n{n}")])
    assert feed(t, [ev(EventKind.RINGING, "1002", "old")]) == []
    assert feed(t, [ev(EventKind.ANSWERED, "1001", "old")]) == []
    remembered = t.get("old")
    assert remembered is not None and remembered.state is CallState.ENDED
    assert remembered.source == "hook" and not remembered.active


def test_ended_ids_are_forgotten_after_a_day() -> None:
    clock = Clock()
    t = tracker(CallTable(clock=clock))
    feed(t, whole_call())
    clock.now += ENDED_REMEMBERED_S - 1
    assert feed(t, [ev(EventKind.RINGING, "1001")]) == []
    clock.now += 1  # a PBX that reuses ids may start a new call under this one now
    assert told(feed(t, [ev(EventKind.RINGING, "1001")])) == [("alice", "pop")]


def test_ended_ids_are_bounded_in_count() -> None:
    t = tracker(CallTable(keep_closed=2, remember=5))
    for n in range(6):
        feed(t, [ev(EventKind.RINGING, "1001", f"c{n}"), ev(EventKind.ABANDONED, call_id=f"c{n}")])
    assert t.get("c0") is None  # the oldest of six went
    assert all(t.get(f"c{n}") is not None for n in range(1, 6))
    assert feed(t, [ev(EventKind.RINGING, "1001", "c1")]) == []


def test_a_ring_after_the_answer_for_an_agent_it_rang_is_ignored() -> None:
    t = tracker()
    feed(t, answered_call())
    for stale in (ev(EventKind.RINGING, "1002"), ev(EventKind.RINGING, "1001")):
        assert t.feed(stale) == []
    call = t.get("c1")
    assert call is not None
    assert (call.state, call.agent, call.ringing) == (CallState.ANSWERED, "alice", set())
    assert call.popped == ["alice", "bob"]


def test_an_old_answer_after_a_transfer_does_not_take_the_call_back() -> None:
    t = tracker()
    feed(t, [*answered_call(), ev(EventKind.TRANSFERRED, "1003")])
    assert t.feed(ev(EventKind.ANSWERED, "1001")) == []
    assert t.feed(ev(EventKind.RINGING, "1001")) == []
    call = t.get("c1")
    assert call is not None and (call.state, call.agent) == (CallState.TRANSFERRED, "carol")


def test_queued_or_missed_after_the_answer_change_nothing() -> None:
    t = tracker()
    feed(t, answered_call())
    assert feed(t, [ev(EventKind.QUEUED), ev(EventKind.MISSED, "1002")]) == []
    call = t.get("c1")
    assert call is not None and call.state is CallState.ANSWERED


def test_a_ring_for_an_agent_new_to_the_answered_call_is_still_a_transfer() -> None:
    t = tracker()
    feed(t, answered_call())
    effects = t.feed(ev(EventKind.RINGING, "1003"))
    assert told(effects) == [("alice", "transferred"), ("carol", "pop")]
    assert any(isinstance(e, Changed) for e in effects)


def test_a_ring_after_an_answer_by_an_unknown_phone_moves_forward_not_back() -> None:
    t = tracker()
    feed(t, [ev(EventKind.RINGING, "1001"), ev(EventKind.ANSWERED, "5555")])
    effects = t.feed(ev(EventKind.RINGING, "1002"))
    call = t.get("c1")
    assert call is not None and call.state is CallState.TRANSFERRED and call.agent == "bob"
    assert told(effects) == [("bob", "pop")]


def test_before_the_answer_a_queue_may_ring_an_agent_again() -> None:
    t = tracker()
    effects = feed(
        t,
        [
            ev(EventKind.RINGING, "1001"),
            ev(EventKind.MISSED, "1001"),
            ev(EventKind.RINGING, "1002"),
            ev(EventKind.MISSED, "1002"),
            ev(EventKind.RINGING, "1001"),  # round robin came back to alice
        ],
    )
    assert [who for who, what in told(effects) if what == "pop"] == ["alice", "bob", "alice"]
