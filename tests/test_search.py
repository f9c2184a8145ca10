"""Searching customers by name, id or number across connectors, and linking one to a call."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from screenpop_example import LoyaltyConnector, LoyaltySettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.http import HttpSettings
from connectors.sql import SqlSettings
from screenpop.connectors.contract import ConnectorContext
from screenpop.connectors.registry import build_connector
from screenpop.errors import ConfigError
from screenpop.events import CallEvent, EventKind
from screenpop.settings import parse_settings
from screenpop.testing import check_connector_contract
from tests.fakes.search_backoffice import SearchBackOffice
from tests.harness import agent_tab, agents, make_settings, running, static

SEARCHING = "tests.fakes.search_connectors:SearchingConnector"


def accounts_db(path: Path) -> Path:
    """A SQLite accounting back office with three customers."""
    db = path / "accounting.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE accounts (id TEXT, name TEXT, phone TEXT, balance REAL)")
        conn.executemany(
            "INSERT INTO accounts VALUES (?, ?, ?, ?)",
            [
                ("C-1", "Jane Doe", "+12125551234", 120.5),
                ("C-2", "Ann Shared", "+12125550000", 0.0),
                ("C-9", "Jane Roe", "+12125559999", 3.0),
                ("C-5", "Zed Multi", "+12125554444, +12125554445", 0.0),
            ],
        )
    return db


SEARCH_SQL = (
    "SELECT id AS customer_id, name, phone AS numbers FROM accounts"
    " WHERE name LIKE :q_like OR id = :q ORDER BY id"
)


def sql_entry(url: str, **options: Any) -> dict[str, Any]:
    return {
        "name": "accounting",
        "kind": "sql",
        "url": url,
        "query": "SELECT id AS customer_id, name, balance FROM accounts WHERE phone = :e164",
        "search_query": SEARCH_SQL,
        "priority": 10,
        **options,
    }


def crm_entry(base: str, **options: Any) -> dict[str, Any]:
    return {
        "name": "crm",
        "kind": "http",
        "url": base + "/customers/{e164}",
        "search_url": base + "/search?term={q}",
        "search_map": {
            "items": "results",
            "customer_id": "id",
            "name": "full_name",
            "numbers": "phones",
        },
        "priority": 20,
        **options,
    }


async def get(port: int, path: str, token: str = "ta") -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}", headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def post(port: int, path: str, body: dict[str, Any], token: str = "ta") -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}{path}", json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


def by_id(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["customer_id"]: r for r in answer["results"]}


# -- config -----------------------------------------------------------------------------------


def test_sql_search_query_names_only_q_and_q_like() -> None:
    base = {"url": "sqlite+aiosqlite:///x.db", "query": "SELECT 1 WHERE p = :e164"}
    with pytest.raises(ValueError, match="unknown parameter :e164"):
        SqlSettings.model_validate({**base, "search_query": "SELECT 1 WHERE p = :e164"})
    with pytest.raises(ValueError, match=":q or :q_like"):
        SqlSettings.model_validate({**base, "search_query": "SELECT 1"})
    assert SqlSettings.model_validate({**base, "search_query": SEARCH_SQL}).search_query


def test_http_search_settings_are_checked() -> None:
    base = {"url": "http://crm/customers/{e164}"}
    with pytest.raises(ValueError, match=r"unknown placeholder \{e164\}"):
        HttpSettings.model_validate({**base, "search_url": "http://crm/s?q={e164}"})
    with pytest.raises(ValueError, match="unknown key 'phone'"):
        HttpSettings.model_validate({**base, "search_map": {"phone": "phones"}})
    with pytest.raises(ValueError, match="http:// or https://"):
        HttpSettings.model_validate({**base, "search_url": "ftp://crm/{q}"})


def test_the_config_error_names_the_connector_and_key(tmp_path: Path) -> None:
    raw = {
        "connectors": [{**crm_entry("http://crm"), "search_map": {"nam": "x"}}],
        "agents": agents(),
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path / 's.db'}"},
    }
    settings = parse_settings(raw, "test")  # connector options are checked when it is built

    with pytest.raises(ConfigError, match=r"(?s)connectors\.crm.*search_map: unknown key 'nam'"):
        build_connector(settings.connectors[0], tmp_path)


# -- the API ----------------------------------------------------------------------------------


@pytest.fixture
async def crm() -> AsyncIterator[SearchBackOffice]:
    async with SearchBackOffice() as server:
        yield server


async def test_search_over_sqlite_and_http_is_merged_by_customer_id(
    tmp_path: Path, crm: SearchBackOffice
) -> None:
    db = accounts_db(tmp_path)
    connectors = [
        sql_entry(f"sqlite+aiosqlite:///{db}"),
        crm_entry(crm.url),
        static("credit", records={}),  # does not search: never asked
    ]
    async with running(make_settings(tmp_path, connectors=connectors)) as (_, port):
        status, answer = await get(port, "/api/search?q=jane")
    assert status == 200
    assert answer["q"] == "jane"
    assert set(answer["sections"]) == {"accounting", "crm"}
    assert all(s["status"] == "ok" for s in answer["sections"].values())
    found = by_id(answer)
    assert set(found) == {"C-1", "C-9", "H-7"}
    assert found["C-1"] == {
        "customer_id": "C-1",
        "name": "Jane Doe",
        "numbers": ["+12125551234"],
        "sections": ["accounting", "crm"],
    }
    assert found["H-7"]["numbers"] == ["+12125557777", "+12125558888"]
    assert found["H-7"]["sections"] == ["crm"]
    assert crm.terms == ["jane"]


async def test_sql_numbers_separated_by_commas_are_a_list(tmp_path: Path) -> None:
    connectors = [sql_entry(f"sqlite+aiosqlite:///{accounts_db(tmp_path)}")]
    async with running(make_settings(tmp_path, connectors=connectors)) as (_, port):
        _, answer = await get(port, "/api/search?q=zed")
    assert answer["results"][0]["numbers"] == ["+12125554444", "+12125554445"]


async def test_search_by_customer_id_and_url_quoting(tmp_path: Path, crm: SearchBackOffice) -> None:
    db = accounts_db(tmp_path)
    connectors = [sql_entry(f"sqlite+aiosqlite:///{db}"), crm_entry(crm.url)]
    async with running(make_settings(tmp_path, connectors=connectors)) as (_, port):
        _, answer = await get(port, "/api/search?q=C-2")
        assert [r["name"] for r in answer["results"]] == ["Ann Shared"]
        _, answer = await get(port, "/api/search?q=a%26b%3Dc%20d")
    assert answer["results"] == []
    assert crm.terms[-1] == "a&b=c d"  # {q} was quoted: the CRM saw the whole text as the term


async def test_role_filtering_hides_fields_and_sections(
    tmp_path: Path, crm: SearchBackOffice
) -> None:
    db = accounts_db(tmp_path)
    roles = {
        "agent": {"sections": ["accounting"], "hide": ["accounting.numbers"]},
        "supervisor": {"board": True},
    }
    connectors = [sql_entry(f"sqlite+aiosqlite:///{db}"), crm_entry(crm.url)]
    settings = make_settings(tmp_path, connectors=connectors, roles=roles)
    async with running(settings) as (_, port):
        _, seen_by_agent = await get(port, "/api/search?q=jane", "ta")
        _, seen_by_supervisor = await get(port, "/api/search?q=jane", "ts")
    assert set(seen_by_agent["sections"]) == {"accounting"}
    assert crm.terms == ["jane"]  # only the supervisor's search asked the CRM
    assert {r["customer_id"]: r["numbers"] for r in seen_by_agent["results"]} == {
        "C-1": [],
        "C-9": [],
    }
    assert by_id(seen_by_supervisor)["C-1"]["numbers"] == ["+12125551234"]


@pytest.mark.parametrize("q", ["", "a", " b ", "x" * 101])
async def test_bad_q_is_400(tmp_path: Path, q: str) -> None:
    async with running(make_settings(tmp_path)) as (_, port):
        status, body = await get(port, f"/api/search?q={q}")
    assert status == 400 and "between 2 and 100" in body["error"]


async def test_search_needs_credentials(tmp_path: Path) -> None:
    async with (
        running(make_settings(tmp_path)) as (_, port),
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/api/search?q=jane") as resp,
    ):
        assert resp.status == 401


async def test_a_hanging_connector_does_not_hold_the_answer(
    tmp_path: Path, crm: SearchBackOffice
) -> None:
    records = {"+12125551234": {"customer_id": "C-1", "name": "Jane Doe"}}
    connectors = [
        {"name": "fast", "kind": SEARCHING, "records": records},
        crm_entry(crm.url, search_url=crm.url + "/hang?q={q}", deadline_ms=300),
        {"name": "stuck", "kind": SEARCHING, "search_sleep_ms": 60_000, "deadline_ms": 300},
        {"name": "broken", "kind": SEARCHING, "search_fail": "broken: CRM said no"},
    ]
    async with running(make_settings(tmp_path, connectors=connectors)) as (_, port):
        status, answer = await get(port, "/api/search?q=jane")
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            metrics = await resp.text()
    assert status == 200
    assert [r["customer_id"] for r in answer["results"]] == ["C-1"]
    assert answer["sections"]["fast"]["status"] == "ok"
    assert answer["sections"]["crm"]["status"] == "timeout"
    assert answer["sections"]["stuck"]["status"] == "timeout"
    assert answer["sections"]["broken"] == {
        "status": "error",
        "ms": answer["sections"]["broken"]["ms"],
        "error": "broken: CRM said no",
    }
    assert "screenpop_searches_total 1.0" in metrics
    assert 'screenpop_search_errors_total{connector="stuck"} 1.0' in metrics
    assert 'screenpop_search_errors_total{connector="broken"} 1.0' in metrics


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
async def pg_accounts(postgres_url: str, unique_table: str) -> AsyncIterator[str]:
    engine = create_async_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(f"CREATE TABLE {unique_table} (id text, name text, phone text)")
            )
            await conn.execute(
                text(f"INSERT INTO {unique_table} VALUES (:i, :n, :p)"),
                [
                    {"i": "P-1", "n": "Jane Doe", "p": "+12125551234"},
                    {"i": "P-2", "n": "Jean Dupont", "p": "+33142685300"},
                ],
            )
        yield unique_table
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {unique_table}"))
        await engine.dispose()


async def test_search_over_postgresql(tmp_path: Path, postgres_url: str, pg_accounts: str) -> None:
    entry = {
        "name": "erp",
        "kind": "sql",
        "url": postgres_url,
        "query": f"SELECT id AS customer_id, name FROM {pg_accounts} WHERE phone = :e164",
        "search_query": f"SELECT id AS customer_id, name, phone AS numbers FROM {pg_accounts}"
        " WHERE name ILIKE :q_like OR id = :q ORDER BY id",
    }
    async with running(make_settings(tmp_path, connectors=[entry])) as (_, port):
        _, by_name = await get(port, "/api/search?q=JEAN")
        _, by_id_ = await get(port, "/api/search?q=P-1")
    assert by_name["results"] == [
        {
            "customer_id": "P-2",
            "name": "Jean Dupont",
            "numbers": ["+33142685300"],
            "sections": ["erp"],
        }
    ]
    assert [r["name"] for r in by_id_["results"]] == ["Jane Doe"]


async def test_postgresql_and_http_search_merged_and_filtered_by_role(
    tmp_path: Path, postgres_url: str, pg_accounts: str, crm: SearchBackOffice
) -> None:
    erp = {
        "name": "accounting",
        "kind": "sql",
        "url": postgres_url,
        "query": f"SELECT id AS customer_id, name FROM {pg_accounts} WHERE phone = :e164",
        "search_query": f"SELECT id AS customer_id, name, phone AS numbers FROM {pg_accounts}"
        " WHERE name ILIKE :q_like OR id = :q ORDER BY id",
    }
    roles = {
        "agent": {"sections": ["accounting"], "hide": ["accounting.numbers"]},
        "supervisor": {"board": True},
    }
    settings = make_settings(tmp_path, connectors=[erp, crm_entry(crm.url)], roles=roles)
    async with running(settings) as (_, port):
        _, seen_by_supervisor = await get(port, "/api/search?q=jane", "ts")
        _, seen_by_agent = await get(port, "/api/search?q=jane", "ta")
    found = by_id(seen_by_supervisor)
    assert set(found) == {"P-1", "C-1", "H-7"}  # both back offices, one list
    assert found["P-1"]["sections"] == ["accounting"] and found["C-1"]["sections"] == ["crm"]
    assert found["P-1"]["numbers"] == ["+12125551234"]
    assert set(seen_by_agent["sections"]) == {"accounting"}
    assert {r["customer_id"]: r["numbers"] for r in seen_by_agent["results"]} == {"P-1": []}
    assert crm.terms == ["jane"]  # the agent's search never asked the CRM


# -- linking a searched customer to a call ---------------------------------------------------


async def test_linking_a_searched_customer_to_an_unknown_caller_sticks(
    tmp_path: Path, crm: SearchBackOffice
) -> None:
    connectors = [crm_entry(crm.url)]
    async with (
        running(make_settings(tmp_path, connectors=connectors)) as (daemon, port),
        agent_tab(port, "ta") as tab,
    ):
        await tab.recv_type("hello")
        daemon.emit(CallEvent("pbx", "u1", EventKind.RINGING, "+12125553333", endpoint="1001"))
        pop = await tab.recv_type("pop")
        assert pop["card"]["summary"] == {}
        _, answer = await get(port, "/api/search?q=harry")
        (harry,) = answer["results"]
        status, _ = await post(
            port, "/api/calls/u1/link", {"customer_id": harry["customer_id"]}, "tb"
        )
        assert status == 404  # not bob's call
        status, _ = await post(port, "/api/calls/u1/link", {"customer_id": "H-8"})
        assert status == 200
        card = (await tab.recv_type("card"))["card"]
        assert card["chosen"] == "H-8" and card["summary"] == {"customer_id": "H-8"}
        daemon.emit(CallEvent("pbx", "u1", EventKind.ABANDONED))
        await tab.recv_type("call")
        daemon.emit(CallEvent("pbx", "u2", EventKind.RINGING, "+12125553333", endpoint="1001"))
        again = await tab.recv_type("pop")
    assert again["card"]["chosen"] == "H-8"


async def test_a_known_caller_cannot_be_linked_to_someone_else(tmp_path: Path) -> None:
    async with (
        running(make_settings(tmp_path)) as (daemon, port),
        agent_tab(port, "ta") as tab,
    ):
        await tab.recv_type("hello")
        daemon.emit(CallEvent("pbx", "k1", EventKind.RINGING, "+12125551234", endpoint="1001"))
        await tab.recv_type("pop")
        status, body = await post(port, "/api/calls/k1/link", {"customer_id": "C-3"})
        assert status == 409 and "already know" in body["error"]
        status, _ = await post(port, "/api/calls/k1/link", {"customer_id": "C-1"})
        assert status == 200


# -- the contract kit -------------------------------------------------------------------------


async def test_the_example_plugin_searches_within_the_contract(tmp_path: Path) -> None:
    (tmp_path / "tiers.csv").write_text(
        "number,customer_id,name,tier\n(212) 555-1234,L-1,Jane Doe,gold\n"
        "+44 20 7946 0018,L-2,Ian Wren,silver\n",
        encoding="utf-8",
    )
    await check_connector_contract(
        LoyaltyConnector,
        {"file": "tiers.csv"},
        known_number="+12125551234",
        unknown_number="+12125550000",
        context=ConnectorContext(base_dir=tmp_path),
        search_for="wren",
    )
    settings = LoyaltySettings.model_validate({"file": "tiers.csv"})
    connector = LoyaltyConnector("loyalty", settings, ConnectorContext(base_dir=tmp_path))
    assert await connector.search("212 555 1234") == [
        {"customer_id": "L-1", "name": "Jane Doe", "numbers": ["+12125551234"]}
    ]


async def test_the_kit_catches_a_search_without_customer_id() -> None:
    from tests.test_contract_kit import GoodConnector

    class SearchesBadly(GoodConnector):
        async def search(self, q: str) -> list[dict[str, Any]]:
            return [] if "nobody" in q else [{"name": "Jane Doe"}]

    with pytest.raises(AssertionError, match="search\\(\\)\\[0\\] has no 'customer_id'"):
        await check_connector_contract(
            SearchesBadly,
            {},
            known_number="+12125551234",
            unknown_number="+12125550000",
            search_for="jane",
        )
