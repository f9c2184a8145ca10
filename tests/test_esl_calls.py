"""FreeSWITCH events to CallEvents: mod_callcenter, direct calls, transfers, privacy, resync."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from screenpop.events import CallEvent, EventKind
from screenpop.telephony.freeswitch.mapper import EslCallMapper
from tests.fakes.esl_server import MEMBER_COLUMNS, bridge_event, cc_event, channel_event

Q, R, A, ANS, MISS, END, ABAND, XFER = (
    EventKind.QUEUED,
    EventKind.RINGING,
    EventKind.ANSWERED,
    EventKind.ANSWERED,
    EventKind.MISSED,
    EventKind.ENDED,
    EventKind.ABANDONED,
    EventKind.TRANSFERRED,
)
CALLER = "caller-1"
AG1 = "1001@default"
STILL_UP = {"Channel-State": "CS_EXECUTE", "Answer-State": "answered"}
GONE = {"Channel-State": "CS_HANGUP", "Answer-State": "hangup", "Channel-Call-State": "HANGUP"}


def run(mapper: EslCallMapper, *events: Mapping[str, str]) -> list[tuple[EventKind, str | None]]:
    out: list[CallEvent] = []
    for headers in events:
        out += mapper.feed(headers)
    assert all(e.call_id == CALLER for e in out), [e.call_id for e in out]
    return [(e.kind, e.endpoint) for e in out]


def caller_create() -> dict[str, str]:
    return channel_event("CHANNEL_CREATE", CALLER, direction="inbound")


def agent_leg(name: str, leg: str, ext: str, **extra: str) -> dict[str, str]:
    """A leg mod_callcenter originated to an agent: it carries cc_* variables."""
    return channel_event(
        name, leg, direction="outbound", user=ext, variable_cc_side="agent",
        variable_cc_member_session_uuid=CALLER, variable_cc_agent=f"{ext}@default", **extra,
    )  # fmt: skip


def user_leg(name: str, leg: str, ext: str, **extra: str) -> dict[str, str]:
    """A leg `bridge user/<ext>` made from the caller's channel."""
    return channel_event(name, leg, direction="outbound", user=ext, root=CALLER, **extra)


def hangup_caller(**extra: str) -> dict[str, str]:
    return channel_event("CHANNEL_HANGUP_COMPLETE", CALLER, direction="inbound", **extra)


def test_queued_then_answered() -> None:
    m = EslCallMapper("fs1")
    got = run(
        m,
        caller_create(),
        cc_event("member-queue-start", CALLER),
        cc_event("agent-offering", CALLER, agent=AG1),
        agent_leg("CHANNEL_CREATE", "leg-a", "1001"),
        agent_leg("CHANNEL_ANSWER", "leg-a", "1001"),
        cc_event("bridge-agent-start", CALLER, agent=AG1, agent_uuid="leg-a"),
        bridge_event(CALLER, "leg-a", variable_cc_side="member"),
        cc_event("bridge-agent-end", CALLER, agent=AG1),
        cc_event("member-queue-end", CALLER, cause="Terminated", agent=AG1, **GONE),
        hangup_caller(),
        agent_leg("CHANNEL_HANGUP_COMPLETE", "leg-a", "1001"),
    )  # fmt: skip
    assert got == [(Q, None), (R, "1001@default"), (A, "1001@default"), (END, "1001@default")]


def test_caller_and_queue_come_from_member_queue_start() -> None:
    m = EslCallMapper("fs1")
    (event,) = m.feed(cc_event("member-queue-start", CALLER, **{"CC-Member-CID-Name": "Zoë"}))
    assert (event.caller, event.caller_name, event.queue) == (
        "+12125551234",
        "Zoë",
        "support@default",
    )
    assert event.source == "fs1"


@pytest.mark.parametrize(
    ("cause", "expected"),
    [("NO_ANSWER", [(MISS, "1001@default")]), ("USER_BUSY", [(MISS, "1001@default")]),
     ("ORIGINATOR_CANCEL", [])],
)  # fmt: skip
def test_bridge_agent_fail(cause: str, expected: list[tuple[EventKind, str]]) -> None:
    m = EslCallMapper("fs1")
    run(
        m,
        cc_event("member-queue-start", CALLER),
        cc_event("agent-offering", CALLER, agent=AG1),
    )
    fail = cc_event("bridge-agent-fail", CALLER, agent=AG1, hangup_cause=cause)
    assert run(m, fail) == expected


@pytest.mark.parametrize("reason", ["NONE", "TIMEOUT", "NO_AGENT_TIMEOUT", "BREAK_OUT"])
def test_member_queue_end_cancel_is_abandoned(reason: str) -> None:
    m = EslCallMapper("fs1")
    got = run(
        m,
        cc_event("member-queue-start", CALLER),
        cc_event("agent-offering", CALLER, agent=AG1),
        cc_event("member-queue-end", CALLER, cause="Cancel", cancel_reason=reason),
        cc_event("bridge-agent-fail", CALLER, agent=AG1, hangup_cause="ORIGINATOR_CANCEL"),
        hangup_caller(),
    )  # fmt: skip
    assert got == [(Q, None), (R, "1001@default"), (ABAND, None)]


def test_caller_hangup_before_member_queue_end_ends_the_call_once() -> None:
    m = EslCallMapper("fs1")
    got = run(
        m,
        cc_event("member-queue-start", CALLER),
        cc_event("bridge-agent-start", CALLER, agent=AG1),
        hangup_caller(),
        cc_event("member-queue-end", CALLER, cause="Terminated", **GONE),
    )  # fmt: skip
    assert got == [(Q, None), (A, "1001@default"), (END, None)]


def test_blind_transfer_out_of_the_call_center() -> None:
    m = EslCallMapper("fs1")
    got = run(
        m,
        cc_event("member-queue-start", CALLER),
        cc_event("agent-offering", CALLER, agent=AG1),
        cc_event("bridge-agent-start", CALLER, agent=AG1, agent_uuid="leg-a"),
        # uuid_transfer of the caller's channel to 1002: the new leg may come before the end event
        user_leg("CHANNEL_CREATE", "leg-b", "1002"),
        cc_event("member-queue-end", CALLER, cause="Terminated", agent=AG1, **STILL_UP),
        user_leg("CHANNEL_PROGRESS", "leg-b", "1002"),
        user_leg("CHANNEL_ANSWER", "leg-b", "1002"),
        bridge_event(CALLER, "leg-b", variable_cc_side="member"),
        hangup_caller(),
    )  # fmt: skip
    assert got == [
        (Q, None), (R, "1001@default"), (A, "1001@default"),
        (R, "user/1002"), (A, "user/1002"), (END, "user/1002"),
    ]  # fmt: skip


def test_direct_call_rings_answers_and_ends() -> None:
    m = EslCallMapper("fs1")
    got = run(
        m,
        caller_create(),
        user_leg("CHANNEL_CREATE", "leg-1", "1001"),
        user_leg("CHANNEL_PROGRESS", "leg-1", "1001"),
        user_leg("CHANNEL_ANSWER", "leg-1", "1001"),
        bridge_event(CALLER, "leg-1"),
        user_leg("CHANNEL_HANGUP_COMPLETE", "leg-1", "1001", **{"Hangup-Cause": "NORMAL_CLEARING"}),
        hangup_caller(),
    )  # fmt: skip
    assert got == [(R, "user/1001"), (A, "user/1001"), (END, "user/1001")]


def test_direct_ring_all_one_answers_other_is_quiet() -> None:
    m = EslCallMapper("fs1")
    got = run(
        m,
        caller_create(),
        user_leg("CHANNEL_CREATE", "leg-1", "1001"),
        user_leg("CHANNEL_CREATE", "leg-2", "1002"),
        user_leg("CHANNEL_ANSWER", "leg-2", "1002"),
        user_leg("CHANNEL_HANGUP_COMPLETE", "leg-1", "1001", **{"Hangup-Cause": "LOSE_RACE"}),
        hangup_caller(),
    )  # fmt: skip
    assert got == [(R, "user/1001"), (R, "user/1002"), (A, "user/1002"), (END, "user/1002")]


def test_direct_no_answer_then_caller_gives_up() -> None:
    m = EslCallMapper("fs1")
    got = run(
        m,
        caller_create(),
        user_leg("CHANNEL_CREATE", "leg-1", "1001"),
        user_leg("CHANNEL_HANGUP_COMPLETE", "leg-1", "1001", **{"Hangup-Cause": "NO_ANSWER"}),
        hangup_caller(),
    )  # fmt: skip
    assert got == [(R, "user/1001"), (MISS, "user/1001"), (ABAND, None)]


def test_attended_transfer_is_a_bridge_to_another_leg() -> None:
    m = EslCallMapper("fs1")
    consult = channel_event(
        "CHANNEL_CREATE", "leg-b", direction="outbound", user="1002", root="consult"
    )
    got = run(
        m,
        caller_create(),
        user_leg("CHANNEL_CREATE", "leg-1", "1001"),
        user_leg("CHANNEL_ANSWER", "leg-1", "1001"),
    )  # fmt: skip
    m.feed(consult)  # 1001 consults 1002 on a call of its own ("consult" is 1001's new leg)
    got += run(
        m,
        bridge_event(CALLER, "leg-b"),
        hangup_caller(),
    )  # fmt: skip
    assert got == [(R, "user/1001"), (A, "user/1001"), (XFER, "user/1002"), (END, "user/1002")]


@pytest.mark.parametrize(
    "privacy",
    [
        {"Caller-Privacy-Hide-Number": "true"},
        {"variable_privacy": "yes"},
        {"variable_privacy": "full"},
    ],
)
def test_withheld_caller(privacy: dict[str, str]) -> None:
    queued = EslCallMapper("fs1").feed(cc_event("member-queue-start", CALLER, **privacy))
    direct = EslCallMapper("fs1")
    direct.feed(channel_event("CHANNEL_CREATE", CALLER, direction="inbound", **privacy))
    ringing = direct.feed(user_leg("CHANNEL_CREATE", "leg-1", "1001"))
    assert [e.caller for e in queued + ringing] == ["anonymous", "anonymous"]


def test_gateway_legs_and_other_events_ring_nobody() -> None:
    m = EslCallMapper("fs1")
    gw = channel_event("CHANNEL_CREATE", "leg-gw", direction="outbound", root=CALLER,
                       **{"Channel-Name": "sofia/gateway/carrier/15551234"})  # fmt: skip
    assert run(m, caller_create(), gw, {"Event-Name": "HEARTBEAT"}, {"Event-Name": "CUSTOM"}) == []


def test_click_to_dial_leg_is_its_own_call_and_outbound() -> None:
    m = EslCallMapper("fs1")
    leg = channel_event("CHANNEL_CREATE", "orig-1", direction="outbound", user="1001",
                        number="+12125551234", variable_screenpop_outbound="true")  # fmt: skip
    (ringing,) = m.feed(leg)
    assert (ringing.call_id, ringing.kind, ringing.outbound) == ("orig-1", R, True)


def _members(*rows: dict[str, str]) -> str:
    lines = ["|".join(MEMBER_COLUMNS)]
    lines += ["|".join(r.get(c, "") for c in MEMBER_COLUMNS) for r in rows]
    return "\n".join(lines) + "\n+OK\n"


def test_resync_relearns_and_ends_what_vanished() -> None:
    m = EslCallMapper("fs1")
    m.feed(cc_event("member-queue-start", "gone-1"))
    channels = {
        "row_count": 4,
        "rows": [
            {"uuid": CALLER, "direction": "inbound", "cid_num": "+331234", "cid_name": "Élise",
             "call_uuid": CALLER, "callstate": "ACTIVE"},
            {"uuid": "leg-1", "direction": "outbound", "name": "sofia/internal/1001@10.0.0.5",
             "call_uuid": CALLER, "callstate": "RINGING"},
            {"uuid": "q-1", "direction": "inbound", "call_uuid": "q-1", "callstate": "ACTIVE"},
            {"uuid": "cc-a", "direction": "outbound", "call_uuid": "cc-a", "callstate": "ACTIVE"},
        ],
    }  # fmt: skip
    members = _members(
        {"session_uuid": "q-1", "cid_number": "+4412", "cid_name": "Q", "state": "Answered",
         "serving_agent": "1002@default"},
        {"session_uuid": "gone-2", "state": "Waiting"},
        {"session_uuid": "", "state": "Abandoned"},
    )  # fmt: skip
    got = [
        (e.call_id, e.kind, e.endpoint)
        for e in m.resync(json.dumps(channels), {"support@default": members})
    ]
    assert got == [
        ("gone-1", ABAND, None),
        (CALLER, R, "sofia/internal/1001@10.0.0.5"),
        ("q-1", Q, None),
        ("q-1", ANS, "1002@default"),
    ]
    assert sorted(m.open_calls) == [CALLER, "q-1"]


def test_resync_without_channel_list_ends_nothing() -> None:
    m = EslCallMapper("fs1")
    m.feed(cc_event("member-queue-start", CALLER))
    assert m.resync(None, {}) == []
    assert m.open_calls == [CALLER]


def test_withheld_is_sticky_and_flagged_on_every_event() -> None:
    m = EslCallMapper("fs1")
    hidden = {"Caller-Privacy-Hide-Number": "true"}
    shown = {"Caller-Privacy-Hide-Number": "false"}
    out = m.feed(caller_create() | hidden)
    out += m.feed(cc_event("member-queue-start", CALLER, **hidden))
    out += m.feed(cc_event("agent-offering", CALLER, agent=AG1))
    # bridge-agent-start carries the agent leg's data: its flags are false, the caller's are not
    out += m.feed(cc_event("bridge-agent-start", CALLER, agent=AG1, agent_uuid="leg-a", **shown))
    out += m.feed(cc_event("member-queue-end", CALLER, cause="Terminated", **GONE))
    assert [e.kind for e in out] == [Q, R, A, END]
    assert all(e.withheld and e.caller == "anonymous" for e in out)
    assert all(e.caller_name is None for e in out)


def test_withheld_learned_from_a_leg_rung_from_the_caller() -> None:
    m = EslCallMapper("fs1")
    m.feed(caller_create())
    (ringing,) = m.feed(user_leg("CHANNEL_CREATE", "leg-1", "1001", variable_privacy="full"))
    (answered,) = m.feed(user_leg("CHANNEL_ANSWER", "leg-1", "1001"))
    assert (ringing.withheld, ringing.caller, ringing.caller_name) == (True, "anonymous", None)
    assert answered.withheld and answered.caller == "anonymous"


def _click_to_dial(agent_leg_uuid: str, carrier: dict[str, str]) -> list[dict[str, str]]:
    """`bgapi originate {..screenpop_outbound=true}user/1001 <number> XML default`, then the
    dialplan bridges the agent's answered leg out through a carrier gateway."""
    agent = {"variable_screenpop_outbound": "true", "Other-Leg-Unique-ID": ""}

    def leg(name: str) -> dict[str, str]:
        return channel_event(name, agent_leg_uuid, direction="outbound", user="1001", **agent)

    def far(name: str, **extra: str) -> dict[str, str]:
        return channel_event(
            name, "carrier-leg", direction="outbound", root=agent_leg_uuid,
            dest="+12125551234", **carrier, **extra,
        )  # fmt: skip

    return [
        leg("CHANNEL_CREATE"), leg("CHANNEL_PROGRESS"), leg("CHANNEL_ANSWER"),
        far("CHANNEL_CREATE"), far("CHANNEL_PROGRESS"), far("CHANNEL_ANSWER"),
        bridge_event(agent_leg_uuid, "carrier-leg", **{"Call-Direction": "outbound"}),
        far("CHANNEL_HANGUP_COMPLETE", **{"Hangup-Cause": "NORMAL_CLEARING"}),
        leg("CHANNEL_HANGUP_COMPLETE"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "carrier",
    [
        pytest.param({"Channel-Name": "sofia/external/+12125551234",
                      "variable_sip_gateway_name": "carrier1"}, id="fs-1.10-gateway-leg"),
        pytest.param({"Channel-Name": "sofia/gateway/carrier1/+12125551234"}, id="named-gateway"),
    ],
)  # fmt: skip
def test_click_to_dial_ends_on_the_agents_leg(carrier: dict[str, str]) -> None:
    from screenpop.agents import AgentDirectory
    from screenpop.call_table import CallTracker
    from screenpop.calls import Notify
    from screenpop.settings import AgentSettings

    m = EslCallMapper("fs1")
    events = [e for h in _click_to_dial("orig-1", carrier) for e in m.feed(h)]
    assert [(e.kind, e.endpoint) for e in events] == [
        (R, "user/1001"), (A, "user/1001"), (END, "user/1001"),
    ]  # fmt: skip
    assert all(e.call_id == "orig-1" and e.outbound for e in events)
    directory = AgentDirectory([AgentSettings(id="alice", extensions=["user/1001"], token="a")])
    tracker = CallTracker(directory.match)
    told = [f.state.value for e in events for f in tracker.feed(e) if isinstance(f, Notify)]
    assert told == ["answered", "ended"]  # the agent's page hears that the call ended


def test_gateway_leg_on_a_callers_call_still_rings_the_agent_behind_the_proxy() -> None:
    # Agents registered through a SIP proxy (Kamailio) are reached through a gateway too.
    m = EslCallMapper("fs1")
    leg = channel_event(
        "CHANNEL_CREATE", "leg-k", direction="outbound", root=CALLER,
        **{"Channel-Name": "sofia/kamailio/1002", "variable_sip_gateway_name": "kamailio"},
    )  # fmt: skip
    assert run(m, caller_create(), leg) == [(R, "sofia/kamailio/1002")]


def test_attended_transfer_is_reported_at_the_hand_over_not_at_the_consultation() -> None:
    m = EslCallMapper("fs1")
    answered = run(
        m,
        caller_create(),
        user_leg("CHANNEL_CREATE", "leg-1", "1001"),
        user_leg("CHANNEL_ANSWER", "leg-1", "1001"),
        bridge_event(CALLER, "leg-1"),
    )  # fmt: skip
    # att_xfer on 1001's leg: the consultation leg inherits the caller's call_uuid, is originated
    # by leg-1 and shows 1001's caller id
    consult = {"Other-Leg-Unique-ID": "leg-1", "number": "1001", "caller_name": "Agent One"}
    during = run(
        m,
        user_leg("CHANNEL_CREATE", "leg-2", "1002", **consult),
        user_leg("CHANNEL_PROGRESS", "leg-2", "1002", **consult),
        user_leg("CHANNEL_ANSWER", "leg-2", "1002", **consult),
        bridge_event("leg-1", "leg-2"),  # 1001 talks to 1002 privately
    )  # fmt: skip
    handover = run(
        m,
        user_leg("CHANNEL_HANGUP_COMPLETE", "leg-1", "1001"),
        bridge_event(CALLER, "leg-2"),  # 1001 hung up: the caller is bridged to 1002
        hangup_caller(),
    )  # fmt: skip
    assert answered == [(R, "user/1001"), (A, "user/1001")]
    assert during == []  # nobody pops for the consultation, the call stays with 1001
    assert handover == [(XFER, "user/1002"), (END, "user/1002")]


def test_consultation_that_ends_without_hand_over_leaves_the_call_with_the_first_agent() -> None:
    m = EslCallMapper("fs1")
    consult = {"Other-Leg-Unique-ID": "leg-1", "number": "1001"}
    declined = {"Hangup-Cause": "NO_ANSWER", **consult}
    got = run(
        m,
        caller_create(),
        user_leg("CHANNEL_CREATE", "leg-1", "1001"),
        user_leg("CHANNEL_ANSWER", "leg-1", "1001"),
        user_leg("CHANNEL_CREATE", "leg-2", "1002", **consult),
        user_leg("CHANNEL_HANGUP_COMPLETE", "leg-2", "1002", **declined),
        hangup_caller(),
    )  # fmt: skip
    assert got == [(R, "user/1001"), (A, "user/1001"), (END, "user/1001")]


def test_consultation_from_a_call_center_agent_leg_pops_nobody() -> None:
    # mod_callcenter's agent leg is its own call_uuid; a consultation it originates inherits it
    m = EslCallMapper("fs1")
    run(
        m,
        caller_create(),
        cc_event("member-queue-start", CALLER),
        cc_event("bridge-agent-start", CALLER, agent=AG1, agent_uuid="leg-a"),
    )  # fmt: skip
    consult = channel_event(
        "CHANNEL_CREATE", "leg-c", direction="outbound", user="1002", root="leg-a",
        number="6001", caller_name="Agent One",
    )  # fmt: skip
    assert m.feed(consult) == []
    assert run(m, bridge_event(CALLER, "leg-c")) == [(XFER, "user/1002")]


def test_member_queue_end_before_the_callers_hangup_ends_the_call_once() -> None:
    m = EslCallMapper("fs1")
    hanging_up = {"Channel-State": "CS_EXECUTE", "Answer-State": "hangup"}
    got = run(
        m,
        cc_event("member-queue-start", CALLER),
        cc_event("bridge-agent-start", CALLER, agent=AG1, agent_uuid="leg-a"),
        cc_event("member-queue-end", CALLER, cause="Terminated", agent=AG1, **hanging_up),
        hangup_caller(),
    )  # fmt: skip
    assert got == [(Q, None), (A, AG1), (END, AG1)]
