"""The SQL connector on SQLite files and on the real PostgreSQL server."""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from connectors.sql import SqlConnector, SqlSettings
from screenpop.callerid import normalize
from screenpop.connectors.contract import ConnectorContext, LookupQuery, find_kind
from screenpop.errors import ConfigError, ConnectorError
from screenpop.settings import validate_options
from screenpop.testing import check_connector_contract

JANE = "+12125551234"
SHARED = "+12125550100"
NOBODY = "+12125559999"

ROWS = [
    # customer_id, name, e164, balance, since, purchases (JSON text), photo
    ("C-1", "Jane Doe", JANE, "120.50", "2024-03-01", '[{"item": "Desk", "amount": 99.5}]', b"\0"),
    ("C-2", "Sam Roe", SHARED, "0", "2023-01-15", "[]", None),
    ("C-3", "Roe Industries", SHARED, "-42.10", "2022-06-30", '{"open": 2}', None),
]
SELECT = "SELECT customer_id, name, balance, since, purchases, photo FROM {table} WHERE "


def q(number: str) -> LookupQuery:
    query = normalize(number, "US").query()
    assert query is not None
    return query


def settings(**options: Any) -> SqlSettings:
    return validate_options(SqlSettings, options, "connectors.test")


@pytest.fixture
async def started() -> AsyncIterator[list[SqlConnector]]:
    """Connectors the test builds and starts; every one is closed afterwards."""
    connectors: list[SqlConnector] = []
    yield connectors
    for connector in connectors:
        await connector.aclose()


async def start(
    bag: list[SqlConnector], base_dir: Path, deadline_ms: int | None = None, **options: Any
) -> SqlConnector:
    connector = SqlConnector("test", settings(**options), ConnectorContext(base_dir, deadline_ms))
    bag.append(connector)
    await connector.start()
    return connector


# -- SQLite -----------------------------------------------------------------------------------


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "back-office.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE customers (customer_id TEXT, name TEXT, e164 TEXT, balance NUMERIC,"
        " since DATE, purchases TEXT, photo BLOB)"
    )
    db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)", ROWS)
    db.commit()
    db.close()
    yield path


SQLITE_QUERY = SELECT.format(table="customers") + "e164 = :e164 ORDER BY customer_id"


async def test_sqlite_one_row_is_one_record(sqlite_db: Path, started: list[SqlConnector]) -> None:
    connector = await start(
        started, sqlite_db.parent, url="sqlite+aiosqlite:///back-office.db", query=SQLITE_QUERY
    )
    found = await connector.lookup(q("(212) 555-1234"))
    assert found == {
        "customer_id": "C-1",
        "name": "Jane Doe",
        "balance": 120.5,
        "since": "2024-03-01",
        "purchases": '[{"item": "Desk", "amount": 99.5}]',
    }  # the binary photo is left out


async def test_sqlite_several_rows_are_a_list_and_none_is_none(
    sqlite_db: Path, started: list[SqlConnector]
) -> None:
    connector = await start(
        started, sqlite_db.parent, url=f"sqlite+aiosqlite:///{sqlite_db}", query=SQLITE_QUERY
    )
    shared = await connector.lookup(q(SHARED))
    assert isinstance(shared, list)
    assert [row["name"] for row in shared] == ["Sam Roe", "Roe Industries"]
    assert await connector.lookup(q(NOBODY)) is None


async def test_json_columns_are_decoded(sqlite_db: Path, started: list[SqlConnector]) -> None:
    connector = await start(
        started,
        sqlite_db.parent,
        url="sqlite+aiosqlite:///back-office.db",
        query=SQLITE_QUERY,
        json_columns=["purchases"],
    )
    jane = await connector.lookup(q(JANE))
    assert isinstance(jane, dict)
    assert jane["purchases"] == [{"item": "Desk", "amount": 99.5}]
    shared = await connector.lookup(q(SHARED))
    assert isinstance(shared, list)
    assert [row["purchases"] for row in shared] == [[], {"open": 2}]


async def test_a_json_column_holding_other_text_is_an_error(
    sqlite_db: Path, started: list[SqlConnector]
) -> None:
    connector = await start(
        started,
        sqlite_db.parent,
        url="sqlite+aiosqlite:///back-office.db",
        query=SQLITE_QUERY,
        json_columns=["name"],
    )
    with pytest.raises(ConnectorError, match="column name does not hold JSON"):
        await connector.lookup(q(JANE))


@pytest.mark.parametrize(
    ("where", "stored"),
    [
        ("e164 = :e164", "+12125551234"),
        ("e164 = :national", "(212) 555-1234"),
        ("e164 = :digits", "12125551234"),
        ("e164 = :national_digits", "2125551234"),
        ("e164 IN (:digits, :national_digits)", "2125551234"),
    ],
)
async def test_each_parameter_form_matches_what_the_back_office_stores(
    tmp_path: Path, started: list[SqlConnector], where: str, stored: str
) -> None:
    db = sqlite3.connect(tmp_path / "forms.db")
    db.execute("CREATE TABLE people (name TEXT, e164 TEXT)")
    db.execute("INSERT INTO people VALUES ('Jane Doe', ?)", (stored,))
    db.commit()
    db.close()
    connector = await start(
        started,
        tmp_path,
        url="sqlite+aiosqlite:///forms.db",
        query=f"SELECT name FROM people WHERE {where}",
    )
    assert await connector.lookup(q("212.555.1234")) == {"name": "Jane Doe"}
    assert await connector.lookup(q(NOBODY)) is None


async def test_a_broken_query_is_a_safe_connector_error(
    sqlite_db: Path, started: list[SqlConnector]
) -> None:
    connector = await start(
        started,
        sqlite_db.parent,
        url=f"sqlite+aiosqlite:///{sqlite_db}",
        query="SELECT name FROM no_such_table WHERE e164 = :e164",
    )
    with pytest.raises(ConnectorError) as caught:
        await connector.lookup(q(JANE))
    message = str(caught.value)
    assert message == "test: database error: OperationalError"
    for secret in (str(sqlite_db), "no_such_table", "5551234"):
        assert secret not in message


async def test_the_connector_never_writes(sqlite_db: Path, started: list[SqlConnector]) -> None:
    connector = await start(
        started,
        sqlite_db.parent,
        url="sqlite+aiosqlite:///back-office.db",
        query="DELETE FROM customers WHERE e164 = :e164 RETURNING name",
    )
    with pytest.raises(ConnectorError, match="database error"):
        await connector.lookup(q(JANE))
    db = sqlite3.connect(sqlite_db)
    assert db.execute("SELECT count(*) FROM customers").fetchone() == (3,)
    db.close()


async def test_a_missing_sqlite_file_is_refused_and_not_created(
    tmp_path: Path, started: list[SqlConnector]
) -> None:
    with pytest.raises(ConnectorError, match="does not exist"):
        await start(started, tmp_path, url="sqlite+aiosqlite:///gone.db", query=SQLITE_QUERY)
    assert not (tmp_path / "gone.db").exists()


async def test_check_runs_the_check_query(sqlite_db: Path, started: list[SqlConnector]) -> None:
    url = "sqlite+aiosqlite:///back-office.db"
    good = await start(started, sqlite_db.parent, url=url, query=SQLITE_QUERY)
    await good.check()
    bad = await start(
        started, sqlite_db.parent, url=url, query=SQLITE_QUERY, check_query="SELECT * FROM nope"
    )
    with pytest.raises(ConnectorError, match="database error"):
        await bad.check()


async def test_sqlite_connector_keeps_the_contract(sqlite_db: Path) -> None:
    await check_connector_contract(
        SqlConnector,
        {"url": "sqlite+aiosqlite:///back-office.db", "query": SQLITE_QUERY},
        known_number=JANE,
        unknown_number=NOBODY,
        failing_options={"url": "sqlite+aiosqlite:///nowhere.db", "query": SQLITE_QUERY},
        context=ConnectorContext(base_dir=sqlite_db.parent, deadline_ms=5000),
    )


async def test_after_aclose_lookups_are_refused(
    sqlite_db: Path, started: list[SqlConnector]
) -> None:
    connector = await start(
        started, sqlite_db.parent, url="sqlite+aiosqlite:///back-office.db", query=SQLITE_QUERY
    )
    assert await connector.lookup(q(JANE)) is not None
    await connector.aclose()
    with pytest.raises(ConnectorError, match="not started"):
        await connector.lookup(q(JANE))


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"query": "SELECT name FROM t WHERE phone = :phone"}, "unknown parameter :phone"),
        ({"query": "SELECT name FROM t WHERE a = :e164 OR b = :cell"}, "unknown parameter :cell"),
        ({"query": "SELECT name FROM t"}, "must use the caller's number"),
        ({"url": "sqlite:///x.db"}, "needs an async driver"),
        ({"url": "postgresql://db/erp"}, "needs an async driver"),
        ({"url": "not a url"}, "not a database URL"),
        ({"url": "nosuchdb+driver://x/y"}, "unknown database driver"),
        ({"pool_size": 0}, "pool_size"),
        ({"check_query": "SELECT :e164"}, "takes no parameters"),
        ({"passwrd": "x"}, "passwrd: unknown key"),
    ],
)
def test_settings_refuse_bad_options(options: dict[str, Any], message: str) -> None:
    base = {"url": "sqlite+aiosqlite:///x.db", "query": "SELECT 1 WHERE :e164 <> ''"}
    with pytest.raises(ConfigError, match=message):
        validate_options(SqlSettings, {**base, **options}, "connectors.accounting")


def test_casts_and_escaped_colons_are_not_parameters() -> None:
    query = r"SELECT name, since::text, '10\:30' AS t FROM c WHERE e164 = CAST(:e164 AS text)"
    assert settings(url="postgresql+asyncpg://db/erp", query=query).query == query


def test_a_parameter_with_a_postgres_cast_gets_a_hint() -> None:
    # SQLAlchemy would read `:e164::text` as the parameter `:e16`: say what to write instead.
    with pytest.raises(ConfigError, match=r"write CAST\(:e164 AS text\)"):
        settings(url="postgresql+asyncpg://db/erp", query="SELECT 1 WHERE e = :e164::text")


def test_the_entry_point_names_the_sql_kind() -> None:
    assert find_kind("sql", "connectors.x") is SqlConnector


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
async def pg_table(postgres_url: str, unique_table: str) -> AsyncIterator[str]:
    engine = create_async_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    f"CREATE TABLE {unique_table} (customer_id text, name text, e164 text,"
                    " balance numeric(12, 2), since date, purchases text, photo bytea,"
                    " seen_at timestamptz DEFAULT '2026-01-02T03:04:05Z', delay_s float8 DEFAULT 0)"
                )
            )
            for row in ROWS:
                await conn.execute(
                    text(
                        f"INSERT INTO {unique_table} (customer_id, name, e164, balance, since,"
                        " purchases, photo) VALUES (:a, :b, :c, :d, :e, :f, :g)"
                    ),
                    _typed(row),
                )
        yield unique_table
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {unique_table}"))
        await engine.dispose()


def _typed(row: tuple[Any, ...]) -> dict[str, Any]:
    values = dict(zip("abcdefg", row, strict=True))
    values["d"] = Decimal(values["d"])
    values["e"] = datetime.date.fromisoformat(values["e"])
    return values


def pg_query(table: str) -> str:
    return SELECT.format(table=table) + "e164 = :e164 ORDER BY customer_id"


async def test_postgres_rows_become_json_safe_records(
    postgres_url: str, pg_table: str, started: list[SqlConnector], tmp_path: Path
) -> None:
    connector = await start(
        started,
        tmp_path,
        url=postgres_url,
        query=f"SELECT customer_id, name, balance, since, seen_at, photo, purchases FROM {pg_table}"
        " WHERE e164 = :e164 ORDER BY customer_id",
        json_columns=["purchases"],
    )
    assert await connector.lookup(q(JANE)) == {
        "customer_id": "C-1",
        "name": "Jane Doe",
        "balance": 120.5,
        "since": "2024-03-01",
        "seen_at": "2026-01-02T03:04:05+00:00",
        "purchases": [{"item": "Desk", "amount": 99.5}],
    }
    shared = await connector.lookup(q(SHARED))
    assert isinstance(shared, list)
    assert [(r["customer_id"], r["balance"]) for r in shared] == [("C-2", 0.0), ("C-3", -42.1)]
    assert await connector.lookup(q(NOBODY)) is None


async def test_postgres_national_and_digits_parameters(
    postgres_url: str, pg_table: str, started: list[SqlConnector], tmp_path: Path
) -> None:
    connector = await start(
        started,
        tmp_path,
        url=postgres_url,
        query=f"SELECT name FROM {pg_table} WHERE replace(e164, '+', '') IN (:digits,"
        " '1' || :national_digits) AND :national <> ''",
    )
    assert await connector.lookup(q("(212) 555-1234")) == {"name": "Jane Doe"}


async def test_postgres_broken_query_is_a_safe_error(
    postgres_url: str, started: list[SqlConnector], tmp_path: Path
) -> None:
    url = postgres_url.replace("postgres@", "postgres:hunter2@", 1)
    connector = await start(
        started, tmp_path, url=url, query="SELECT name FROM sp_no_such_table WHERE e164 = :e164"
    )
    with pytest.raises(ConnectorError) as caught:
        await connector.lookup(q(JANE))
    message = str(caught.value)
    assert message == "test: database error: ProgrammingError"
    assert "hunter2" not in message and "127.0.0.1" not in message


@pytest.mark.parametrize(
    ("deadline_ms", "options"),
    [(None, {"statement_timeout_ms": 100}), (100, {})],
    ids=["statement_timeout_ms", "default-is-the-deadline"],
)
async def test_postgres_statement_timeout_cancels_a_slow_query(
    postgres_url: str,
    started: list[SqlConnector],
    tmp_path: Path,
    deadline_ms: int | None,
    options: dict[str, Any],
) -> None:
    connector = await start(
        started,
        tmp_path,
        deadline_ms,
        url=postgres_url,
        query="SELECT pg_sleep(2)::text AS slept WHERE :e164 <> ''",
        **options,
    )
    with pytest.raises(TimeoutError, match="statement timeout"):
        # Far less than the 2 s sleep: the server gave up, the client did not wait it out.
        async with asyncio.timeout(1.5):
            await connector.lookup(q(JANE))


async def test_postgres_cancelled_lookup_leaves_the_pool_usable(
    postgres_url: str, pg_table: str, started: list[SqlConnector], tmp_path: Path
) -> None:
    engine = create_async_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.execute(text(f"UPDATE {pg_table} SET delay_s = 5 WHERE customer_id = 'C-1'"))
    await engine.dispose()
    connector = await start(
        started,
        tmp_path,
        url=postgres_url,
        pool_size=1,
        max_overflow=0,
        statement_timeout_ms=10_000,
        query=f"SELECT name, pg_sleep(delay_s)::text AS slept FROM {pg_table} WHERE e164 = :e164",
    )
    slow = asyncio.create_task(connector.lookup(q(JANE)))
    await asyncio.sleep(0.3)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    found = await connector.lookup(q(SHARED))
    assert isinstance(found, list) and len(found) == 2


async def test_postgres_check_on_a_closed_port_is_a_safe_error(
    started: list[SqlConnector], tmp_path: Path
) -> None:
    connector = await start(
        started,
        tmp_path,
        url="postgresql+asyncpg://screenpop:s3cret@127.0.0.1:1/erp",
        query="SELECT 1 WHERE :e164 <> ''",
    )
    with pytest.raises(ConnectorError) as caught:
        await connector.check()
    assert str(caught.value) == "test: connection refused by the database"
    with pytest.raises(ConnectorError, match="connection refused"):
        await connector.lookup(q(JANE))


async def test_postgres_check_on_a_missing_database_is_a_safe_error(
    postgres_url: str, started: list[SqlConnector], tmp_path: Path
) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/sp_no_such_database"
    connector = await start(started, tmp_path, url=url, query="SELECT 1 WHERE :e164 <> ''")
    with pytest.raises(ConnectorError) as caught:
        await connector.check()
    assert "sp_no_such_database" not in str(caught.value)


async def test_postgres_aclose_closes_the_server_connections(
    postgres_url: str, started: list[SqlConnector], tmp_path: Path
) -> None:
    connector = await start(
        started,
        tmp_path,
        url=postgres_url,
        query="SELECT pg_backend_pid() AS pid WHERE :e164 <> ''",
    )
    await connector.check()
    found = await connector.lookup(q(JANE))
    assert isinstance(found, dict)
    pid = found["pid"]
    await connector.aclose()
    observer = create_async_engine(postgres_url)
    try:
        assert await _backend_gone(observer, pid)
    finally:
        await observer.dispose()


async def _backend_gone(engine: AsyncEngine, pid: int) -> bool:
    for _ in range(50):
        async with engine.connect() as conn:
            alive = await conn.execute(
                text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
            if alive.first() is None:
                return True
        await asyncio.sleep(0.1)
    return False


async def test_postgres_connector_keeps_the_contract(postgres_url: str, pg_table: str) -> None:
    await check_connector_contract(
        SqlConnector,
        {"url": postgres_url, "query": pg_query(pg_table)},
        known_number=JANE,
        unknown_number=NOBODY,
        failing_options={
            "url": "postgresql+asyncpg://postgres@127.0.0.1:1/test",
            "query": pg_query(pg_table),
        },
    )
