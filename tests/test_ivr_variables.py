"""IVR data as lookup keys: call variables read from the PBX's own frames, kept by the tracker,
and the `[lookup]` settings that name them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.http import HttpConnector, HttpSettings
from connectors.sql import SqlConnector, SqlSettings
from screenpop.call_table import CallTracker
from screenpop.calls import Prefetch
from screenpop.card import Card, Section, Status
from screenpop.connectors.contract import ConnectorContext, LookupQuery
from screenpop.connectors.registry import build_connector
from screenpop.errors import ConfigError
from screenpop.events import CallEvent, EventKind
from screenpop.settings import RoleSettings, parse_settings, validate_options
from screenpop.telephony.asterisk.mapper import AmiCallMapper
from screenpop.telephony.asterisk.protocol import AmiParser, Message
from screenpop.telephony.freeswitch.mapper import EslCallMapper
from screenpop.telephony.freeswitch.protocol import EslParser, parse_event
from tests.fakes.ami_scenarios import Pbx
from tests.fakes.backoffice_http import FakeBackOffice
from tests.fakes.esl_server import cc_event, channel_event, event_frame

WANTED = frozenset({"IVR_ACCOUNT"})
MEMBER = "c0ffee00-0000-4000-8000-0000000000aa"


def ami_events(mapper: AmiCallMapper, data: bytes) -> list[CallEvent]:
    out: list[CallEvent] = []
    for msg in AmiParser().feed(data):
        if isinstance(msg, Message):
            out.extend(mapper.feed(msg))
    return out


def esl_events(mapper: EslCallMapper, *frames: dict[str, str]) -> list[CallEvent]:
    out: list[CallEvent] = []
    for headers in frames:
        for frame in EslParser().feed(event_frame(headers)):
            out.extend(mapper.feed(parse_event(frame).headers))
    return out


def newchannel(extra: str = "") -> bytes:
    return (
        "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/carrier-0000002f\r\n"
        "ChannelState: 4\r\nCallerIDNum: +15551230001\r\nCallerIDName: Alice Example\r\n"
        f"Uniqueid: 1795351021.53\r\nLinkedid: 1795351021.53\r\n{extra}\r\n"
    ).encode()


def queue_join(extra: str = "") -> bytes:
    return (
        "Event: QueueCallerJoin\r\nPrivilege: agent,all\r\nChannel: PJSIP/carrier-0000002f\r\n"
        "CallerIDNum: +15551230001\r\nCallerIDName: Alice Example\r\n"
        "Uniqueid: 1795351021.53\r\nLinkedid: 1795351021.53\r\n"
        f"Queue: support\r\nPosition: 1\r\nCount: 1\r\n{extra}\r\n"
    ).encode()


def var_set(variable: str, value: str, uid: str = "1795351021.53") -> bytes:
    return (
        "Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/carrier-0000002f\r\n"
        f"Uniqueid: {uid}\r\nLinkedid: 1795351021.53\r\n"
        f"Variable: {variable}\r\nValue: {value}\r\n\r\n"
    ).encode()


# -- Asterisk ---------------------------------------------------------------------------------


def test_ami_varset_after_the_first_event_is_an_update_carried_by_every_later_event() -> None:
    mapper = AmiCallMapper("pbx1", variables=WANTED)
    data = newchannel() + queue_join() + var_set("IVR_ACCOUNT", "12345")
    data += var_set("SIPDOMAIN", "10.0.0.1") + var_set("IVR_ACCOUNT", "12345")  # no change
    events = ami_events(mapper, data)
    assert [(e.kind, e.variables) for e in events] == [
        (EventKind.QUEUED, None),
        (EventKind.UPDATED, {"IVR_ACCOUNT": "12345"}),
    ]
    later = ami_events(mapper, var_set("__IVR_ACCOUNT", "777"))  # inherited: the same variable
    assert [e.variables for e in later] == [{"IVR_ACCOUNT": "777"}]


def test_ami_varset_of_another_channel_or_unwanted_variable_is_not_kept() -> None:
    mapper = AmiCallMapper("pbx1", variables=WANTED)
    events = ami_events(
        mapper,
        newchannel()
        + var_set("IVR_ACCOUNT", "999", uid="1795351021.54")  # an agent's leg
        + var_set("OTHER", "x")
        + queue_join(),
    )
    assert [(e.kind, e.variables) for e in events] == [(EventKind.QUEUED, None)]
    assert ami_events(AmiCallMapper("pbx1"), newchannel() + var_set("IVR_ACCOUNT", "1")) == []


@pytest.mark.parametrize(
    "header",
    [
        "ChanVariable: IVR_ACCOUNT=12345\r\nChanVariable: SIPDOMAIN=10.0.0.1\r\n",  # Asterisk 12+
        "ChanVariable(IVR_ACCOUNT): 12345\r\nChanVariable(SIPDOMAIN): 10.0.0.1\r\n",  # older
    ],
)
def test_ami_chanvariable_headers_of_the_callers_channel(header: str) -> None:
    mapper = AmiCallMapper("pbx1", variables=WANTED)
    (queued,) = ami_events(mapper, newchannel() + queue_join(header))
    assert queued.variables == {"IVR_ACCOUNT": "12345"}


def test_ami_variable_values_are_bounded_and_an_empty_one_removes_it() -> None:
    mapper = AmiCallMapper("pbx1", variables=WANTED)
    data = newchannel(f"ChanVariable: IVR_ACCOUNT= {'9' * 300}\r\n") + queue_join()
    (queued,) = ami_events(mapper, data)
    assert queued.variables == {"IVR_ACCOUNT": "9" * 128}
    (cleared,) = ami_events(mapper, var_set("IVR_ACCOUNT", ""))
    assert (cleared.kind, cleared.variables) == (EventKind.UPDATED, None)


def resync_items(pbx: Pbx) -> list[Message]:
    return [Message((("Event", "CoreShowChannel"), *row)) for row in pbx.core_show_channels()]


def test_ami_resync_takes_the_chanvariable_of_a_call_it_learns_or_knew() -> None:
    pbx = Pbx(channelvars=("IVR_ACCOUNT",))
    mapper = AmiCallMapper("pbx1", variables=WANTED)
    call, _ = pbx.inbound("+15551230001", "Alice Example")  # all while the link was down
    pbx._var(call.caller, "IVR_ACCOUNT", "12345")
    pbx.join(call, "support")
    pbx.ring(call, "PJSIP/1001", "1001", "Alice")
    (ringing,) = mapper.resync_channels(resync_items(pbx))
    assert ringing.kind is EventKind.RINGING and ringing.endpoint.startswith("PJSIP/1001-")
    assert ringing.variables == {"IVR_ACCOUNT": "12345"}
    pbx._var(call.caller, "IVR_ACCOUNT", "67890")  # changed during a second outage
    updated, again = mapper.resync_channels(resync_items(pbx))
    assert (updated.kind, updated.variables) == (EventKind.UPDATED, {"IVR_ACCOUNT": "67890"})
    assert (again.kind, again.variables) == (EventKind.RINGING, {"IVR_ACCOUNT": "67890"})
    assert [e.kind for e in mapper.resync_channels(resync_items(pbx))] == [EventKind.RINGING]


# -- FreeSWITCH -------------------------------------------------------------------------------


def test_esl_variable_headers_of_the_callers_channel() -> None:
    mapper = EslCallMapper("fs1", variables=WANTED)
    events = esl_events(
        mapper,
        channel_event("CHANNEL_CREATE", MEMBER, direction="inbound", variable_IVR_ACCOUNT="42"),
        cc_event("member-queue-start", MEMBER, variable_other="x"),
        cc_event("agent-offering", MEMBER, agent="1001@default"),
    )
    assert [(e.kind, e.variables) for e in events] == [
        (EventKind.QUEUED, {"IVR_ACCOUNT": "42"}),
        (EventKind.RINGING, {"IVR_ACCOUNT": "42"}),
    ]


def test_esl_a_variable_set_in_the_queue_is_an_update() -> None:
    mapper = EslCallMapper("fs1", variables=WANTED)
    esl_events(
        mapper,
        channel_event("CHANNEL_CREATE", MEMBER, direction="inbound"),
        cc_event("member-queue-start", MEMBER),
    )
    bridge = channel_event("CHANNEL_BRIDGE", MEMBER, direction="inbound")
    (updated,) = esl_events(mapper, {**bridge, "variable_IVR_ACCOUNT": " 12345 "})
    assert (updated.kind, updated.variables) == (EventKind.UPDATED, {"IVR_ACCOUNT": "12345"})
    unwanted = EslCallMapper("fs1")
    events = esl_events(
        unwanted,
        channel_event("CHANNEL_CREATE", MEMBER, direction="inbound", variable_IVR_ACCOUNT="42"),
        cc_event("member-queue-start", MEMBER),
    )
    assert [e.variables for e in events] == [None]


# -- the tracker ------------------------------------------------------------------------------


def feed(tracker: CallTracker, events: Iterable[CallEvent]) -> list[Any]:
    out: list[Any] = []
    for event in events:
        out.extend(tracker.feed(event))
    return out


def test_tracker_rebuilds_the_card_when_the_variables_change() -> None:
    tracker = CallTracker(lambda endpoint: {"PJSIP/1001": "alice"}.get(endpoint or ""))
    base: dict[str, Any] = {"source": "pbx1", "call_id": "c1", "caller": "+12125551234"}
    assert feed(tracker, [CallEvent(**base, kind=EventKind.UPDATED, variables={"A": "1"})]) == []
    effects = feed(tracker, [CallEvent(**base, kind=EventKind.QUEUED)])
    assert [type(e) for e in effects] == [Prefetch, type(effects[1])]
    effects = feed(tracker, [CallEvent(**base, kind=EventKind.UPDATED, variables={"A": "1"})])
    assert len(effects) == 1 and isinstance(effects[0], Prefetch) and not effects[0].shown
    call = tracker.get("c1")
    assert call is not None and call.variables == {"A": "1"}
    assert feed(tracker, [CallEvent(**base, kind=EventKind.UPDATED, variables={"A": "1"})]) == []
    feed(tracker, [CallEvent(**base, kind=EventKind.RINGING, endpoint="PJSIP/1001")])
    effects = feed(tracker, [CallEvent(**base, kind=EventKind.UPDATED, variables={"A": "2"})])
    assert len(effects) == 1 and isinstance(effects[0], Prefetch) and effects[0].shown


# -- settings ---------------------------------------------------------------------------------


def test_lookup_keys_settings() -> None:
    settings = parse_settings({"lookup": {"keys": {"account": "IVR_ACCOUNT"}}}, "test")
    assert settings.lookup.variables == {"IVR_ACCOUNT"}
    assert settings.lookup.values({"IVR_ACCOUNT": "12", "X": "y"}) == {"account": "12"}
    assert settings.lookup.values(None) == {}


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        ({"keys": {"e164": "IVR_ACCOUNT"}}, "already the caller's number"),
        ({"keys": {"national_digits": "X"}}, "already the caller's number"),
        ({"keys": {"account no": "X"}}, "is not a name"),
        ({"keys": {"account": "IVR ACCOUNT"}}, "not a call variable name"),
        ({"keys": {"account": 5}}, "keys.account"),
        ({"key": {"account": "X"}}, "lookup.key: unknown key"),
    ],
)
def test_lookup_settings_refuse_bad_keys(lookup: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings({"lookup": lookup}, "test")


def test_a_connector_query_may_use_only_configured_keys(tmp_path: Any) -> None:
    sql = {
        "name": "crm",
        "kind": "sql",
        "url": "sqlite+aiosqlite:///x.db",
        "query": "SELECT name FROM c WHERE account_no = :account OR phone = :e164",
    }
    settings = parse_settings({"connectors": [sql], "base_dir": tmp_path}, "test")
    with pytest.raises(ConfigError, match="unknown parameter :account"):
        build_connector(settings.connectors[0], tmp_path)
    connector = build_connector(settings.connectors[0], tmp_path, ("account",))
    assert getattr(connector, "uses_keys", None) == {"account"}
    http = {"name": "web", "kind": "http", "url": "http://crm/c?account={account}&n={e164}"}
    settings = parse_settings({"connectors": [http], "base_dir": tmp_path}, "test")
    with pytest.raises(ConfigError, match=r"unknown placeholder \{account\}"):
        build_connector(settings.connectors[0], tmp_path)
    connector = build_connector(settings.connectors[0], tmp_path, ("account",))
    assert getattr(connector, "uses_keys", None) == {"account"}


async def test_the_http_connector_fills_keys_and_leaves_a_missing_one_empty() -> None:
    async with FakeBackOffice() as office:
        options = {"url": office.url + "/echo/x", "params": {"a": "{account}", "n": "{e164}"}}
        settings = validate_options(HttpSettings, options, "connectors.web", {"keys": ("account",)})
        connector = HttpConnector("web", settings, ConnectorContext(keys=("account",)))
        await connector.start()
        try:
            query = LookupQuery("+12125551234", "(212) 555-1234", "12125551234", "2125551234")
            await connector.lookup(dataclasses.replace(query, keys={"account": "12 345"}))
            await connector.lookup(query)  # outside a call: no key at all
        finally:
            await connector.aclose()
    assert [r.query for r in office.requests] == [
        {"a": "12 345", "n": "+12125551234"},
        {"a": "", "n": "+12125551234"},
    ]


async def test_a_postgres_query_looks_up_by_account_first_then_by_phone(
    postgres_url: str, unique_table: str, tmp_path: Any
) -> None:
    engine = create_async_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(f"CREATE TABLE {unique_table} (name text, acct text, e164 text)")
            )
            await conn.execute(
                text(
                    f"INSERT INTO {unique_table} VALUES ('Acme', '12345', '+1'), ('Jane', NULL, :n)"
                ),
                {"n": "+12125551234"},
            )
        query = (
            f"SELECT name FROM {unique_table}"
            " WHERE acct = :account OR (:account IS NULL AND e164 = :e164)"
        )
        options = {"url": postgres_url, "query": query}
        settings = validate_options(SqlSettings, options, "connectors.crm", {"keys": ("account",)})
        connector = SqlConnector("crm", settings, ConnectorContext(tmp_path, keys=("account",)))
        await connector.start()
        try:
            jane = LookupQuery("+12125551234", "(212) 555-1234", "12125551234", "2125551234")
            by_account = dataclasses.replace(jane, keys={"account": "12345"})
            assert await connector.lookup(by_account) == {"name": "Acme"}
            assert await connector.lookup(dataclasses.replace(jane, keys={"account": ""})) == {
                "name": "Jane"
            }
        finally:
            await connector.aclose()
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {unique_table}"))
        await engine.dispose()


def test_a_role_sees_the_matching_key_only_with_the_section_it_found() -> None:
    sections = {"crm": Section(Status.OK, {"name": "Acme"}), "sales": Section(Status.OK, {})}
    card = Card("c1", {}, sections, matched_by={"account": "12345"}, matched_in=("crm",))
    assert card.to_json()["matched_by"] == {"account": "12345"}
    assert card.to_json(RoleSettings(sections=["sales"]))["matched_by"] == "number"
    nothing = {"sales": Section(Status.NOT_FOUND)}
    card = Card("c1", {}, {**sections, **nothing}, matched_by={"a": "1"}, matched_in=("crm",))
    assert card.to_json(RoleSettings(sections=["sales"]))["matched_by"] is None
