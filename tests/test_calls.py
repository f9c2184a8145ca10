"""The call tracker: which agent is told what, in which order, whatever order events come in."""

from __future__ import annotations

from screenpop.call_table import CallTracker
from screenpop.calls import Changed, Effect, Notify, Pop, Prefetch
from screenpop.events import CallEvent, CallState, EventKind

AGENTS = {"PJSIP/1001": "alice", "PJSIP/1002": "bob", "PJSIP/1003": "carol"}


def tracker() -> CallTracker:
    return CallTracker(lambda endpoint: AGENTS.get(endpoint or ""))


def ev(
    kind: EventKind, endpoint: str | None = None, call_id: str = "c1", at: float = 0.0
) -> CallEvent:
    return CallEvent(
        "pbx", call_id, kind, caller="+12125551234", endpoint=endpoint, queue="q", at=at
    )


def told(effects: list[Effect]) -> list[tuple[str, str]]:
    """What agents see, in order: ("alice", "pop") / ("bob", "answered_elsewhere")..."""
    out: list[tuple[str, str]] = []
    for e in effects:
        if isinstance(e, Pop):
            out.append((e.agent_id, "pop"))
        elif isinstance(e, Notify):
            out.append((e.agent_id, str(e.state)))
    return out


def run(events: list[CallEvent]) -> tuple[CallTracker, list[Effect]]:
    t = tracker()
    effects: list[Effect] = []
    for event in events:
        effects.extend(t.feed(event))
    return t, effects


def test_queued_then_answered_prefetches_once_and_pops_the_ringing_agent() -> None:
    t, effects = run(
        [
            ev(EventKind.QUEUED),
            ev(EventKind.RINGING, "PJSIP/1001"),
            ev(EventKind.ANSWERED, "PJSIP/1001"),
            ev(EventKind.ENDED),
        ]
    )
    assert isinstance(effects[0], Prefetch)
    assert sum(isinstance(e, Prefetch) for e in effects) == 1
    assert told(effects) == [("alice", "pop"), ("alice", "answered"), ("alice", "ended")]
    assert t.get("c1") is not None and t.get("c1").state is CallState.ENDED  # type: ignore[union-attr]
    assert t.calls == {}


def test_ring_no_answer_then_next_agent_answers() -> None:
    _, effects = run(
        [
            ev(EventKind.QUEUED),
            ev(EventKind.RINGING, "PJSIP/1001"),
            ev(EventKind.MISSED, "PJSIP/1001"),
            ev(EventKind.RINGING, "PJSIP/1002"),
            ev(EventKind.ANSWERED, "PJSIP/1002"),
        ]
    )
    assert told(effects) == [
        ("alice", "pop"),
        ("alice", "missed"),
        ("bob", "pop"),
        ("bob", "answered"),
    ]


def test_ring_all_tells_the_others_it_was_answered_elsewhere() -> None:
    _, effects = run(
        [
            ev(EventKind.RINGING, "PJSIP/1001"),
            ev(EventKind.RINGING, "PJSIP/1002"),
            ev(EventKind.RINGING, "PJSIP/1003"),
            ev(EventKind.ANSWERED, "PJSIP/1002"),
            ev(EventKind.MISSED, "PJSIP/1001"),  # the PBX's cancel arrives after the answer
        ]
    )
    assert told(effects) == [
        ("alice", "pop"),
        ("bob", "pop"),
        ("carol", "pop"),
        ("bob", "answered"),
        ("alice", "answered_elsewhere"),
        ("carol", "answered_elsewhere"),
    ]


def test_abandon_while_ringing_tells_the_ringing_agent() -> None:
    _, effects = run(
        [ev(EventKind.QUEUED), ev(EventKind.RINGING, "PJSIP/1001"), ev(EventKind.ABANDONED)]
    )
    assert told(effects) == [("alice", "pop"), ("alice", "abandoned")]


def test_hangup_before_answer_counts_as_abandoned() -> None:
    t, effects = run([ev(EventKind.RINGING, "PJSIP/1001"), ev(EventKind.ENDED)])
    assert told(effects) == [("alice", "pop"), ("alice", "abandoned")]
    assert t.get("c1").state is CallState.ABANDONED  # type: ignore[union-attr]


def test_duplicates_pop_once() -> None:
    _, effects = run(
        [
            ev(EventKind.RINGING, "PJSIP/1001"),
            ev(EventKind.RINGING, "PJSIP/1001"),
            ev(EventKind.ANSWERED, "PJSIP/1001"),
            ev(EventKind.ANSWERED, "PJSIP/1001"),
            ev(EventKind.ENDED),
            ev(EventKind.ENDED),
        ]
    )
    assert told(effects) == [("alice", "pop"), ("alice", "answered"), ("alice", "ended")]


def test_answer_before_ring_pops_first() -> None:
    _, effects = run([ev(EventKind.ANSWERED, "PJSIP/1001"), ev(EventKind.RINGING, "PJSIP/1001")])
    assert told(effects) == [("alice", "pop"), ("alice", "answered")]


def test_events_after_the_end_are_ignored() -> None:
    t, effects = run(
        [
            ev(EventKind.RINGING, "PJSIP/1001"),
            ev(EventKind.ABANDONED),
            ev(EventKind.RINGING, "PJSIP/1002"),
        ]
    )
    assert told(effects) == [("alice", "pop"), ("alice", "abandoned")]
    assert t.ignored == 1


def test_transfer_moves_the_call_and_pops_the_new_agent() -> None:
    _, effects = run(
        [
            ev(EventKind.RINGING, "PJSIP/1001"),
            ev(EventKind.ANSWERED, "PJSIP/1001"),
            ev(EventKind.TRANSFERRED, "PJSIP/1003"),
            ev(EventKind.ENDED),
        ]
    )
    assert told(effects) == [
        ("alice", "pop"),
        ("alice", "answered"),
        ("alice", "transferred"),
        ("carol", "pop"),
        ("carol", "ended"),
    ]


def test_unknown_endpoint_pops_nobody_but_the_call_is_tracked() -> None:
    t, effects = run([ev(EventKind.RINGING, "PJSIP/9999"), ev(EventKind.ANSWERED, "PJSIP/9999")])
    assert told(effects) == []
    assert t.unknown_endpoints == 2
    assert any(isinstance(e, Changed) for e in effects)


def test_calls_are_independent() -> None:
    t = tracker()
    a = t.feed(ev(EventKind.RINGING, "PJSIP/1001", call_id="a"))
    b = t.feed(ev(EventKind.RINGING, "PJSIP/1001", call_id="b"))
    assert told(a) == told(b) == [("alice", "pop")]
    assert [c.call_id for c in t.active_for("alice")] == ["a", "b"]
