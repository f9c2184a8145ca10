"""The caller a call pops with: the one the agent's phone shows, and withheld callers for good."""

from __future__ import annotations

from screenpop.call_table import CallTracker
from screenpop.calls import Effect, Pop, Prefetch
from screenpop.events import WITHHELD_CALLER, CallEvent, EventKind

AGENTS = {"PJSIP/1001": "alice", "PJSIP/1002": "bob"}


def ev(
    kind: EventKind,
    caller: str | None,
    endpoint: str | None = None,
    *,
    name: str | None = None,
    withheld: bool = False,
) -> CallEvent:
    return CallEvent(
        "pbx", "c1", kind, caller=caller, caller_name=name, endpoint=endpoint, withheld=withheld
    )


def feed(events: list[CallEvent]) -> tuple[CallTracker, list[Effect]]:
    tracker = CallTracker(lambda endpoint: AGENTS.get(endpoint or ""))
    effects: list[Effect] = []
    for event in events:
        effects.extend(tracker.feed(event))
    return tracker, effects


def test_a_caller_rewritten_before_the_ring_rebuilds_the_card_for_the_new_number() -> None:
    tracker = CallTracker(lambda endpoint: AGENTS.get(endpoint or ""))
    builds: list[str | None] = []
    pops: list[tuple[str, str | None]] = []
    for event in [
        ev(EventKind.QUEUED, "150010001", name="Trunk"),
        ev(EventKind.RINGING, "201", "PJSIP/1001", name="Desk"),
        ev(EventKind.MISSED, "201", "PJSIP/1001"),
    ]:
        for effect in tracker.feed(event):
            if isinstance(effect, Prefetch):
                builds.append(effect.call.caller)
            elif isinstance(effect, Pop):
                pops.append((effect.agent_id, effect.call.caller))
    assert builds == ["150010001", "201"]
    assert pops == [("alice", "201")]
    call = tracker.get("c1")
    assert call is not None and call.caller_name == "Desk"


def test_the_same_caller_again_builds_once() -> None:
    _, effects = feed(
        [
            ev(EventKind.QUEUED, "201"),
            ev(EventKind.RINGING, "201", "PJSIP/1001"),
            ev(EventKind.ANSWERED, "201", "PJSIP/1001"),
        ]
    )
    assert len([e for e in effects if isinstance(e, Prefetch)]) == 1


def test_after_the_pop_the_card_on_screen_keeps_its_caller() -> None:
    tracker, effects = feed(
        [
            ev(EventKind.RINGING, "201", "PJSIP/1001"),
            ev(EventKind.RINGING, "150010001", "PJSIP/1002"),
            ev(EventKind.ANSWERED, "150010001", "PJSIP/1002"),
        ]
    )
    assert len([e for e in effects if isinstance(e, Prefetch)]) == 1
    call = tracker.get("c1")
    assert call is not None and call.caller == "201"


def test_the_end_of_a_call_does_not_rebuild_its_card() -> None:
    _, effects = feed([ev(EventKind.QUEUED, "201"), ev(EventKind.ENDED, "150010001")])
    assert len([e for e in effects if isinstance(e, Prefetch)]) == 1


def test_a_withheld_caller_never_gets_a_number_back() -> None:
    tracker, effects = feed(
        [
            ev(EventKind.QUEUED, None, withheld=True),
            ev(EventKind.RINGING, "+31260123456", "PJSIP/1001", name="Real Name"),
            ev(EventKind.ANSWERED, "+31260123456", "PJSIP/1001"),
            ev(EventKind.ENDED, "+31260123456"),
        ]
    )
    call = tracker.get("c1")
    assert call is not None
    assert (call.caller, call.caller_name, call.withheld) == (WITHHELD_CALLER, None, True)
    assert len([e for e in effects if isinstance(e, Prefetch)]) == 1


def test_withheld_after_the_pop_still_drops_the_number() -> None:
    tracker = CallTracker(lambda endpoint: AGENTS.get(endpoint or ""))
    tracker.feed(ev(EventKind.RINGING, "+31260123456", "PJSIP/1001", name="Real Name"))
    effects = tracker.feed(ev(EventKind.ANSWERED, None, "PJSIP/1001", withheld=True))
    rebuilt = [(e.call.caller, e.shown) for e in effects if isinstance(e, Prefetch)]
    assert rebuilt == [(WITHHELD_CALLER, True)]
    call = tracker.get("c1")
    assert call is not None and call.caller_name is None


def test_a_call_first_seen_at_its_end_keeps_its_caller() -> None:
    tracker, _ = feed([ev(EventKind.ENDED, "201", name="Desk")])
    call = tracker.get("c1")
    assert call is not None and (call.caller, call.caller_name) == ("201", "Desk")
