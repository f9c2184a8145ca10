"""Which ended calls become callback items, table-driven: the `min_wait_s` boundary, missed
queue calls, and the calls that never make one."""

from __future__ import annotations

import pytest

from screenpop.callback_rules import callback_writes
from screenpop.callback_settings import CallbackSettings
from screenpop.calls import Call
from screenpop.events import CallState
from screenpop.store.callback_table import CallbackRecord, CallbackReturn

T0 = 1_795_000_000.0
E164 = "+12125551234"


def ended(waited: float, *, gave_up: bool = True, rang: bool = False, **changes: object) -> Call:
    call = Call("c1", "pbx1", caller=E164, queue="support", started_at=T0)
    call.state, call.ended_at, call.gave_up = CallState.ABANDONED, T0 + waited, gave_up
    call.popped = ["alice"] if rang else []
    for name, value in changes.items():
        setattr(call, name, value)
    return call


def reasons(call: Call, cfg: CallbackSettings, e164: str | None = E164) -> list[str]:
    writes = callback_writes(call, e164, {"name": "Jane", "customer_id": "C-1"}, cfg)
    return [w.reason for w in writes if isinstance(w, CallbackRecord)]


@pytest.mark.parametrize(
    ("waited", "expected"),
    [(9.999, []), (10.0, ["abandoned"]), (10.001, ["abandoned"]), (0.0, [])],
)
def test_an_abandon_becomes_an_item_from_min_wait_s_on(waited: float, expected: list[str]) -> None:
    assert reasons(ended(waited), CallbackSettings(min_wait_s=10)) == expected


@pytest.mark.parametrize(
    ("call", "cfg", "expected"),
    [
        # the PBX ended it unanswered after it rang agents (a queue timeout): missed, any wait
        (ended(2, gave_up=False, rang=True), CallbackSettings(), ["missed"]),
        (ended(2, gave_up=False, rang=True), CallbackSettings(missed=False), []),
        # the caller hung up while agents rang: an abandon, the wait decides
        (ended(2, rang=True), CallbackSettings(), []),
        (ended(30, rang=True), CallbackSettings(), ["abandoned"]),
        # ended unanswered without ringing anybody: like an abandon
        (ended(30, gave_up=False), CallbackSettings(), ["abandoned"]),
        (ended(30), CallbackSettings(enabled=False), []),
        (ended(30, queue=None), CallbackSettings(), []),
        (ended(30, outbound=True), CallbackSettings(), []),
    ],
)
def test_which_calls_make_items(call: Call, cfg: CallbackSettings, expected: list[str]) -> None:
    assert reasons(call, cfg) == expected


def test_a_caller_without_a_number_makes_none() -> None:
    assert reasons(ended(30), CallbackSettings(), e164=None) == []


def test_an_item_carries_the_wait_and_the_card_summary() -> None:
    (made,) = callback_writes(ended(12.5), E164, {"name": "Jane"}, CallbackSettings())
    assert made == CallbackRecord(
        "pbx1", "c1", "support", E164, "abandoned", 12.5, T0 + 12.5, "Jane"
    )


def test_an_answered_inbound_call_closes_the_callers_items() -> None:
    call = Call("c2", "pbx1", caller=E164, queue="support", started_at=T0)
    call.state, call.answered_at = CallState.ANSWERED, T0 + 4
    assert callback_writes(call, E164, {}, CallbackSettings()) == [
        CallbackReturn(E164, "c2", T0 + 4)
    ]
    call.outbound = True  # an agent's call out (a call back) closes nothing by itself
    assert callback_writes(call, E164, {}, CallbackSettings()) == []
