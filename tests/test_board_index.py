"""What the board shows each agent as (on a call, ringing, wrap-up, available, offline) and with
which call, whatever the calls do, also with thousands of calls on the board; checked against
the plain definition: the first call on the board the agent holds, else the first ringing them."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screenpop.board.model import Board
from screenpop.calls import Call
from screenpop.events import CallState

NOW = time.time()
AGENTS = ["alice", "bob", "carol"]


def info(call_id: str, role: str | None) -> dict[str, Any]:
    return {"caller": call_id, "caller_name": None, "summary": {}}


def fresh_board(agents: list[str] = AGENTS) -> Board:
    board = Board(service_level_s=20, wrap_up_s=30, caller_info=info)
    board.set_agents([(a, a.title()) for a in agents])
    for agent in agents:
        board.presence(agent, True, NOW)
    return board


def call(
    call_id: str,
    state: CallState = CallState.QUEUED,
    agent: str | None = None,
    ringing: tuple[str, ...] = (),
) -> Call:
    answered = NOW if agent is not None else None
    return Call(
        call_id,
        "pbx",
        queue="support",
        state=state,
        started_at=NOW - 5,
        answered_at=answered,
        agent=agent,
        ringing=set(ringing),
    )


def shown(board: Board, now: float = NOW) -> dict[str, tuple[str, str | None]]:
    """Every agent's (state, call id) as the published board shows it."""
    agents = board.snapshot(now, "supervisor")["agents"]
    return {a["id"]: (a["state"], a["call_id"]) for a in agents}


def by_definition(board: Board, now: float = NOW) -> dict[str, tuple[str, str | None]]:
    """The same, worked out by walking every call on the board."""
    out: dict[str, tuple[str, str | None]] = {}
    for agent in board.agents.values():
        holding = [v.call_id for v in board.calls.values() if v.agent == agent.id]
        rung = [v.call_id for v in board.calls.values() if agent.id in v.ringing]
        if holding:
            out[agent.id] = ("on_call", holding[0])
        elif rung:
            out[agent.id] = ("ringing", rung[0])
        elif agent.wrap_up_until is not None and now < agent.wrap_up_until:
            out[agent.id] = ("wrap_up", agent.wrap_call)
        else:
            out[agent.id] = ("available" if agent.online else "offline", None)
    return out


R, A, E = CallState.RINGING, CallState.ANSWERED, CallState.ENDED
CASES: list[tuple[str, list[Call], dict[str, tuple[str, str | None]]]] = [
    ("a waiting call rings nobody", [call("c1")], {"alice": ("available", None)}),
    ("one call rings alice", [call("c1", R, ringing=("alice",))], {"alice": ("ringing", "c1")}),
    (
        "two calls ring alice: the one seen first",
        [call("c1", R, ringing=("alice",)), call("c2", R, ringing=("alice", "bob"))],
        {"alice": ("ringing", "c1"), "bob": ("ringing", "c2")},
    ),
    (
        "on a call and rung by another: on the call",
        [call("c1", R, ringing=("alice",)), call("c2", A, agent="alice")],
        {"alice": ("on_call", "c2")},
    ),
    (
        "the ring moves from alice to bob",
        [call("c1", R, ringing=("alice",)), call("c1", R, ringing=("bob",))],
        {"alice": ("available", None), "bob": ("ringing", "c1")},
    ),
    (
        "answered by bob: the others it rang are free",
        [call("c1", R, ringing=("alice", "bob", "carol")), call("c1", A, agent="bob")],
        {"alice": ("available", None), "bob": ("on_call", "c1"), "carol": ("available", None)},
    ),
    (
        "holding two calls: the one seen first",
        [call("c2", A, agent="alice"), call("c1", A, agent="carol"), call("c1", A, agent="alice")],
        {"alice": ("on_call", "c2"), "carol": ("available", None)},
    ),
    (
        "transferred from alice to bob",
        [call("c1", A, agent="alice"), call("c1", A, agent="bob")],
        {"alice": ("available", None), "bob": ("on_call", "c1")},
    ),
    (
        "the call ends: wrap-up with it",
        [call("c1", A, agent="alice"), call("c1", E, agent="alice")],
        {"alice": ("wrap_up", "c1")},
    ),
    (
        "abandoned while ringing: free again",
        [call("c1", R, ringing=("alice",)), call("c1", CallState.ABANDONED)],
        {"alice": ("available", None)},
    ),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_what_each_agent_shows_as(
    changes: list[Call], expected: dict[str, tuple[str, str | None]]
) -> None:
    board = fresh_board()
    for change in changes:
        board.on_call(change, NOW)
    got = shown(board)
    assert {agent: got[agent] for agent in expected} == expected
    assert got == by_definition(board)
    assert all(board.agent_state(a, NOW) == got[a][0] for a in AGENTS)


def test_a_call_aged_off_the_board_frees_its_agents() -> None:
    board = fresh_board()
    board.max_call_age_s = 60
    board.on_call(call("old", A, agent="alice"), NOW)
    board.on_call(call("rung", R, ringing=("bob",)), NOW)
    assert board.expire(NOW + 3600) == ["old", "rung"]
    assert shown(board, NOW + 3600) == {a: ("available", None) for a in AGENTS}


def test_two_thousand_waiting_calls_and_agents_each_in_its_state() -> None:
    agents = [f"a{i}" for i in range(2000)]
    board = fresh_board(agents)
    for i in range(2000):
        board.on_call(call(f"w{i}"), NOW)  # waiting, ringing nobody
    for i in range(0, 600, 3):
        board.on_call(call(f"r{i}", R, ringing=(agents[i], agents[i + 1])), NOW)
    for i in range(1000, 1500):
        board.on_call(call(f"x{i}", A, agent=agents[i]), NOW)
    board.presence(agents[1999], False, NOW)
    got = shown(board)
    assert got == by_definition(board)
    assert got["a3"] == ("ringing", "r3") and got["a4"] == ("ringing", "r3")
    assert got["a5"] == ("available", None)
    assert got["a1200"] == ("on_call", "x1200")
    assert got["a1999"] == ("offline", None)
    states = [state for state, _ in got.values()]
    assert (states.count("ringing"), states.count("on_call")) == (400, 500)
    waiting = board.waiting()["support"]
    assert len(waiting) == 2200


change = st.builds(
    lambda n, state, agent, ringing: call(
        f"c{n}",
        state,
        agent if state in (CallState.ANSWERED, CallState.TRANSFERRED) else None,
        tuple(ringing) if state is CallState.RINGING else (),
    ),
    st.integers(0, 5),
    st.sampled_from(list(CallState)),
    st.sampled_from(AGENTS),
    st.sets(st.sampled_from(AGENTS), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(change, st.just("expire")), max_size=40))
def test_any_sequence_of_changes_shows_what_the_definition_says(changes: list[Any]) -> None:
    board = fresh_board()
    board.max_call_age_s = 3600
    later = NOW
    for item in changes:
        if item == "expire":
            later += 1000  # from the fourth on, a sweep takes every call on the board
            board.expire(later)
        else:
            board.on_call(item, NOW)
        assert shown(board, later) == by_definition(board, later)
