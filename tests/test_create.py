"""Creating a customer from an unknown caller's card: the declared fields, the API's answers
(400 naming the field, 404, 409, 502), the card rebuilt on every tab, the next pop finding the
customer; over SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.sql import SqlConnector
from screenpop.cache import Cache, open_cache
from screenpop.callerid import normalize
from screenpop.connectors.contract import ConnectorContext, CreateQuery, can_create
from screenpop.connectors.registry import build_connector
from screenpop.errors import ConfigError
from screenpop.events import CallEvent, EventKind
from screenpop.keys import choice_key, section_key
from screenpop.settings import load_settings, parse_settings
from screenpop.testing import check_connector_contract
from screenpop_demo import build_demo_databases
from tests.fakes.create_backoffice import CreateBackOffice
from tests.harness import agent_tab, agents, make_settings, running
from tests.test_demo_data import DEMO_TOML
from tests.test_search import get, post

UNKNOWN = "+12125553333"
FIELDS = [
    {"name": "name", "label": "Name", "type": "text", "required": True},
    {"name": "email", "label": "E-mail", "type": "email"},
]


def accounts_db(path: Path) -> Path:
    db = path / "accounting.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE accounts (id TEXT, name TEXT, email TEXT, phone TEXT UNIQUE)")
        conn.execute("INSERT INTO accounts VALUES ('C-1', 'Jane Doe', '', '+12125551234')")
    return db


def sql_entry(url: str, table: str = "accounts", **options: Any) -> dict[str, Any]:
    return {
        "name": "accounting",
        "kind": "sql",
        "url": url,
        "query": f"SELECT id AS customer_id, name, email FROM {table} WHERE phone = :e164",
        "create_query": f"INSERT INTO {table} (id, name, email, phone)"
        " VALUES ('N-' || :call_id, :name, :email, :e164) RETURNING id AS customer_id",
        "create_fields": FIELDS,
        **options,
    }


def settings(tmp_path: Path, entry: dict[str, Any] | None = None) -> Any:
    entry = entry or sql_entry(f"sqlite+aiosqlite:///{accounts_db(tmp_path)}")
    return make_settings(tmp_path, connectors=[entry])


def ring(daemon: Any, call_id: str, number: str = UNKNOWN) -> None:
    daemon.emit(CallEvent("pbx", call_id, EventKind.RINGING, number, endpoint="1001"))


# -- config -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "match"),
    [
        ({"name": "name", "type": "colour"}, r"'accounting', create field 'name': type: Input"),
        ({"name": "name", "labl": "x"}, r"'accounting', create field 'name': labl: unknown key"),
        ({"name": "tier", "type": "choice"}, r"'tier': a choice needs `choices`"),
        ({"name": "e164"}, r"create field 'e164': the name is reserved"),
    ],
)
def test_bad_create_fields_are_config_errors(
    tmp_path: Path, field: dict[str, Any], match: str
) -> None:
    raw = {
        "connectors": [{**sql_entry("sqlite+aiosqlite://"), "create_fields": [field]}],
        "agents": agents(),
    }
    with pytest.raises(ConfigError, match=match):
        parse_settings(raw, "test")


def test_the_create_query_names_only_known_parameters(tmp_path: Path) -> None:
    entry = {**sql_entry("sqlite+aiosqlite://"), "create_query": "INSERT INTO t VALUES (:phone)"}
    built = parse_settings({"connectors": [entry], "agents": agents()}, "test")
    with pytest.raises(ConfigError, match=r"(?s)connectors\.accounting.*unknown parameter :phone"):
        build_connector(built.connectors[0], tmp_path)


# -- the API ----------------------------------------------------------------------------------


async def test_the_forms_follow_the_role(tmp_path: Path) -> None:
    roles = {"agent": {}, "supervisor": {"sections": [], "board": True}}
    entry = sql_entry(f"sqlite+aiosqlite:///{accounts_db(tmp_path)}")
    async with running(make_settings(tmp_path, connectors=[entry], roles=roles)) as (_, port):
        _, for_alice = await get(port, "/api/create-forms")
        _, for_sam = await get(port, "/api/create-forms", "ts")
    (form,) = for_alice["forms"]
    assert form["connector"] == "accounting"
    assert form["fields"] == [
        {"name": "name", "label": "Name", "type": "text", "required": True},
        {"name": "email", "label": "E-mail", "type": "email", "required": False},
    ]
    assert for_sam == {"forms": []}


async def test_creating_an_unknown_caller_updates_every_tab_and_the_next_pop(
    tmp_path: Path,
) -> None:
    async with (
        running(settings(tmp_path)) as (daemon, port),
        agent_tab(port, "ta") as tab,
        agent_tab(port, "ta") as other_tab,
    ):
        await tab.recv_type("hello")
        await other_tab.recv_type("hello")
        ring(daemon, "u1")
        for t in (tab, other_tab):
            pop = await t.recv_type("pop")
            if pop["card"]["sections"]["accounting"]["status"] == "pending":
                pop = await t.recv_type("card")
            assert pop["card"]["sections"]["accounting"]["status"] == "not_found"
        # a cached "not found" would keep the new customer out of the card without the drop
        body = {"connector": "accounting", "fields": {"name": "Max New", "email": "max@x.org"}}
        status, answer = await post(port, "/api/calls/u1/create", body)
        assert status == 201, answer
        assert answer == {"connector": "accounting", "customer": {"customer_id": "N-u1"}}
        for t in (tab, other_tab):
            card = (await t.recv_type("card"))["card"]
            assert card["summary"]["name"] == "Max New"
            assert card["sections"]["accounting"]["data"]["email"] == "max@x.org"
        status, again = await post(port, "/api/calls/u1/create", body)
        assert status == 409, again  # now known
        daemon.emit(CallEvent("pbx", "u1", EventKind.ABANDONED))
        await tab.recv_type("call")
        ring(daemon, "u2")
        pop = await tab.recv_type("pop")
        if pop["card"]["sections"]["accounting"]["status"] == "pending":
            pop = await tab.recv_type("card")
    assert pop["card"]["summary"]["customer_id"] == "N-u1"


async def test_wrong_fields_are_400_naming_the_field(tmp_path: Path) -> None:
    async with (
        running(settings(tmp_path)) as (daemon, port),
        agent_tab(port, "ta") as tab,
    ):
        await tab.recv_type("hello")
        ring(daemon, "u1")
        await tab.recv_type("pop")
        cases = [
            ({"email": "a@b.org"}, "name"),
            ({"name": "Max", "email": "not-an-address"}, "email"),
            ({"name": "Max", "phone": "1"}, "phone"),
        ]
        for fields, field in cases:
            status, body = await post(
                port, "/api/calls/u1/create", {"connector": "accounting", "fields": fields}
            )
            assert (status, body["field"]) == (400, field), body
            assert body["error"].startswith(f"{field}: ")
        status, _ = await post(port, "/api/calls/u1/create", {"connector": "nope", "fields": {}})
        assert status == 404
        body = {"connector": "accounting", "fields": {"name": "Max"}}
        status, _ = await post(port, "/api/calls/u1/create", body, "tb")
        assert status == 404  # not bob's call


async def test_a_known_caller_is_409(tmp_path: Path) -> None:
    async with (
        running(settings(tmp_path)) as (daemon, port),
        agent_tab(port, "ta") as tab,
    ):
        await tab.recv_type("hello")
        ring(daemon, "k1", "+12125551234")
        await tab.recv_type("pop")
        body = {"connector": "accounting", "fields": {"name": "Max"}}
        status, answer = await post(port, "/api/calls/k1/create", body)
    assert status == 409 and "not unknown" in answer["error"]


async def test_a_back_office_error_is_502_with_a_safe_message(tmp_path: Path) -> None:
    entry = sql_entry(f"sqlite+aiosqlite:///{accounts_db(tmp_path)}")
    entry["create_query"] = "INSERT INTO accounts (id, name, phone) VALUES ('C-1', :name, :e164)"
    entry["query"] = "SELECT id AS customer_id FROM accounts WHERE phone = :e164 AND id = 'x'"
    async with (
        running(settings(tmp_path, entry)) as (daemon, port),
        agent_tab(port, "ta") as tab,
    ):
        await tab.recv_type("hello")
        ring(daemon, "u1", "+12125551234")  # the query does not find it; the INSERT collides
        await tab.recv_type("pop")
        body = {"connector": "accounting", "fields": {"name": "Max"}}
        status, answer = await post(port, "/api/calls/u1/create", body)
    assert status == 502
    assert answer["error"] == "accounting: database error: IntegrityError"


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
async def pg_accounts(postgres_url: str, unique_table: str) -> AsyncIterator[str]:
    engine = create_async_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(f"CREATE TABLE {unique_table} (id text, name text, email text, phone text)")
            )
        yield unique_table
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {unique_table}"))
        await engine.dispose()


async def test_creating_in_postgresql(tmp_path: Path, postgres_url: str, pg_accounts: str) -> None:
    entry = sql_entry(postgres_url, pg_accounts)
    async with (
        running(make_settings(tmp_path, connectors=[entry])) as (daemon, port),
        agent_tab(port, "ta") as tab,
    ):
        await tab.recv_type("hello")
        ring(daemon, "p1")
        pop = await tab.recv_type("pop")
        if pop["card"]["sections"]["accounting"]["status"] == "pending":
            await tab.recv_type("card")
        body = {"connector": "accounting", "fields": {"name": "Pia Postgres", "email": ""}}
        status, answer = await post(port, "/api/calls/p1/create", body)
        assert status == 201, answer
        card = (await tab.recv_type("card"))["card"]
    assert card["summary"] == {"name": "Pia Postgres", "customer_id": "N-p1"}


# -- HTTP -------------------------------------------------------------------------------------


@pytest.fixture
async def crm() -> AsyncIterator[CreateBackOffice]:
    async with CreateBackOffice() as server:
        yield server


def crm_entry(base: str) -> dict[str, Any]:
    return {
        "name": "crm",
        "kind": "http",
        "url": base + "/customers/{e164}",
        "map": {"customer_id": "id", "name": "name", "email": "email"},
        "create_url": base + "/customers",
        "create_fields": FIELDS,
    }


async def test_creating_over_http_posts_once_per_key(tmp_path: Path, crm: CreateBackOffice) -> None:
    async with (
        running(make_settings(tmp_path, connectors=[crm_entry(crm.url)])) as (daemon, port),
        agent_tab(port, "ta") as tab,
    ):
        await tab.recv_type("hello")
        ring(daemon, "h1")
        pop = await tab.recv_type("pop")
        if pop["card"]["sections"]["crm"]["status"] == "pending":
            await tab.recv_type("card")
        crm.failing = True
        body = {"connector": "crm", "fields": {"name": "Wes Web", "email": "wes@x.org"}}
        status, answer = await post(port, "/api/calls/h1/create", body)
        assert (status, answer) == (502, {"error": "HTTP 500 from crm"})
        crm.failing = False
        status, answer = await post(port, "/api/calls/h1/create", body)
        assert status == 201 and answer["customer"] == {"customer_id": "W-1"}
        card = (await tab.recv_type("card"))["card"]
        assert card["summary"] == {"name": "Wes Web", "customer_id": "W-1"}
    ((key, sent),) = crm.created
    assert len(key) == 32
    assert sent == {
        "e164": UNKNOWN,
        "agent": "alice",
        "call_id": "h1",
        "fields": {"name": "Wes Web", "email": "wes@x.org"},
    }


def test_a_create_url_needs_declared_fields(tmp_path: Path) -> None:
    entry = {**crm_entry("http://crm"), "create_fields": []}
    built = parse_settings({"connectors": [entry], "agents": agents()}, "test")
    with pytest.raises(ConfigError, match=r"(?s)connectors\.crm.*create_url: declare the fields"):
        build_connector(built.connectors[0], tmp_path)


# -- the demo ---------------------------------------------------------------------------------


async def test_the_demo_accounting_creates_a_customer_its_lookup_finds(tmp_path: Path) -> None:
    build_demo_databases(tmp_path)
    entry = next(e for e in load_settings(DEMO_TOML).connectors if e.name == "accounting")
    connector = build_connector(entry, tmp_path)
    assert can_create(connector)
    with sqlite3.connect(tmp_path / "demo-accounting.db") as db:
        taken = {e164 for (e164,) in db.execute("SELECT e164 FROM phones")}
    e164 = next(f"+1212555{n:04d}" for n in range(10_000) if f"+1212555{n:04d}" not in taken)
    number = normalize(e164, "US").query()
    assert number is not None
    await connector.start()
    try:
        assert await connector.lookup(number) is None
        query = CreateQuery(number, "alice", "demo-1")
        await connector.create({"name": "Dee Mo", "email": ""}, query)
        found = await connector.lookup(number)
    finally:
        await connector.aclose()
    assert isinstance(found, dict)
    assert (found["customer_id"], found["name"]) == ("NEW-demo-1", "Dee Mo")


# -- the contract kit -------------------------------------------------------------------------


async def test_the_kit_checks_a_sql_create(tmp_path: Path) -> None:
    entry = sql_entry("sqlite+aiosqlite:///accounting.db")
    options = {k: entry[k] for k in ("url", "query", "create_query")}
    accounts_db(tmp_path)
    await check_connector_contract(
        SqlConnector,
        options,
        known_number="+12125551234",
        unknown_number=UNKNOWN,
        context=ConnectorContext(base_dir=tmp_path, deadline_ms=5000, create_fields=("name",)),
        create_with={"name": "Kit Kat", "email": ""},
    )


async def test_the_kit_catches_a_create_the_lookup_does_not_see(tmp_path: Path) -> None:
    entry = sql_entry("sqlite+aiosqlite:///accounting.db")
    options = {
        "url": entry["url"],
        "query": entry["query"],
        "create_query": "INSERT INTO accounts (id, name) VALUES ('X', :name)",  # no number
    }
    accounts_db(tmp_path)
    with pytest.raises(AssertionError, match="lookup\\(\\) of the number must find"):
        await check_connector_contract(
            SqlConnector,
            options,
            known_number="+12125551234",
            unknown_number=UNKNOWN,
            context=ConnectorContext(base_dir=tmp_path, deadline_ms=5000),
            create_with={"name": "Kit Kat"},
        )


# -- the cache --------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def cache_backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    if request.param == "memory":
        return "memory://", "test:"
    return request.getfixturevalue("redis_url"), request.getfixturevalue("redis_cleanup")


@pytest.fixture
async def cache(cache_backend: tuple[str, str]) -> AsyncIterator[Cache]:
    url, prefix = cache_backend
    opened = open_cache(url, prefix, 1.0)
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_dropping_a_number_drops_every_section_of_it_and_nothing_else(
    cache: Cache,
) -> None:
    doomed = [
        section_key("accounting", UNKNOWN),
        section_key("crm", UNKNOWN, {"account": "12*3"}),
    ]
    kept = [
        section_key("accounting", UNKNOWN + "4"),  # a longer number
        section_key("accounting", "+12125551234"),
        choice_key(UNKNOWN),
    ]
    for key in doomed + kept:
        await cache.set(key, {"status": "not_found"}, 30, 30)
    await cache.drop_number(UNKNOWN)
    hits = await cache.get_many(doomed + kept)
    assert [hit is not None for hit in hits] == [False, False, True, True, True]
