"""A database as a connector (`kind = "sql"`): any SQLAlchemy async URL, one parameterized query.

Config (every key besides the common ones of `[[connectors]]`)::

    [[connectors]]
    name = "accounting"
    kind = "sql"
    url = "sqlite+aiosqlite:///demo-accounting.db"     # relative to the config file's folder
    # url = "postgresql+asyncpg://screenpop@db.internal/erp"  (password: set it through
    #        SCREENPOP__CONNECTORS__ACCOUNTING__URL rather than in the file)
    query = "SELECT name, balance FROM accounts WHERE phone = :e164"
    pool_size = 5                 # connections kept open
    max_overflow = 5              # extra connections opened under load, closed after
    statement_timeout_ms = 400    # PostgreSQL cancels a slower query; default: late_ms
    json_columns = ["recent_purchases"]   # text columns holding JSON, decoded for the card
    max_rows = 20                 # at most this many matches are returned
    check_query = "SELECT 1"      # what `screenpop check` runs
    # optional: agents can search this back office (GET /api/search?q=)
    search_query = '''SELECT id AS customer_id, name, phone AS numbers FROM accounts
                      WHERE name LIKE :q_like OR id = :q'''

The query names any of the bind parameters `:e164` (+12125551234), `:national`
((212) 555-1234), `:digits` (12125551234) and `:national_digits` (2125551234), and the names of
the `[lookup] keys` (IVR data: `:account`, NULL when the call has none); another name is a
configuration error. No row is `not_found`, one row is the section, several rows (customers who
share the number) are a list. Values are made JSON-safe: decimals become floats, dates and times
ISO strings, binary columns are left out.

`search_query` (optional) makes the connector search: it names `:q` (what the agent typed) and/or
`:q_like` (`%q%`, for LIKE; a `%` or `_` the agent types is a wildcard too) and returns
`customer_id` and `name` columns, and optionally `numbers` (one number, or several separated by
commas, or a JSON list with `json_columns`). At most `max_rows` rows.

Failures raise a ConnectorError whose message names the connector and the kind of failure, never
the URL, the password, the query or the number. A SQLite file must exist (the connector never
creates one) and is opened read-only (`PRAGMA query_only`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import URL, TextClause, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from connectors.sql_create import check_create_query, run_create
from connectors.sql_record import SqlRecorder, check_record_query
from connectors.sql_values import decode_row, safe_mapping
from screenpop.callerid import mask
from screenpop.connectors.contract import (
    ConnectorContext,
    CreateQuery,
    LookupQuery,
    LookupResult,
    RecordItem,
    create_field_names,
    lookup_keys,
)
from screenpop.errors import ConnectorError

log = logging.getLogger(__name__)

PARAMETERS = ("e164", "national", "digits", "national_digits")
SEARCH_PARAMETERS = ("q", "q_like")
CHECK_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0
# The bind parameters SQLAlchemy's text() sees: `:name`, but not `::cast` nor `\:escaped`.
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")
_CAST = re.compile(r"(?<![:\w\\]):(\w+)::(\w+)")
_STATEMENT_TIMEOUT = "57014"  # PostgreSQL's query_canceled SQLSTATE


def bind_names(query: str) -> list[str]:
    """The bind parameter names a query uses, in order of first appearance."""
    return list(dict.fromkeys(_BIND.findall(query)))


class SqlSettings(BaseModel):
    """The options of a `kind = "sql"` connector (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    query: str
    pool_size: int = Field(default=5, gt=0)
    max_overflow: int = Field(default=5, ge=0)
    statement_timeout_ms: int | None = Field(default=None, gt=0)
    json_columns: list[str] = []
    max_rows: int = Field(default=20, gt=0)
    check_query: str = "SELECT 1"
    search_query: str | None = None
    create_query: str | None = None

    @field_validator("create_query")
    @classmethod
    def _create_query(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            check_create_query(bind_names(value), create_field_names(info))
        return value

    record_query: str | None = None  # write-back: see connectors/sql_record.py

    @field_validator("record_query")
    @classmethod
    def _record_query(cls, value: str | None) -> str | None:
        if value is not None:
            check_record_query(bind_names(value))
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            dialect = make_url(value).get_dialect()
        except NoSuchModuleError:
            raise ValueError("unknown database driver in the URL") from None
        except (ArgumentError, ValueError):
            raise ValueError("not a database URL (e.g. postgresql+asyncpg://host/db)") from None
        if not getattr(dialect, "is_async", False):
            raise ValueError(
                "needs an async driver: sqlite+aiosqlite:///file.db or postgresql+asyncpg://..."
            )
        return value

    @field_validator("query")
    @classmethod
    def _query(cls, value: str, info: ValidationInfo) -> str:
        known_names = (*PARAMETERS, *lookup_keys(info))
        cast = _CAST.search(value)
        if cast is not None and cast.group(1) in known_names:
            name, type_ = cast.groups()
            raise ValueError(f":{name}::{type_} does not bind; write CAST(:{name} AS {type_})")
        names = bind_names(value)
        unknown = [name for name in names if name not in known_names]
        if unknown:
            known = ", ".join(f":{p}" for p in known_names)
            raise ValueError(f"unknown parameter :{unknown[0]} (known: {known})")
        if not names:
            raise ValueError("the query must use the caller's number: :e164, :national, ...")
        return value

    @field_validator("search_query")
    @classmethod
    def _search_query(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = bind_names(value)
        unknown = [name for name in names if name not in SEARCH_PARAMETERS]
        if unknown:
            raise ValueError(f"unknown parameter :{unknown[0]} (known: :q, :q_like)")
        if not names:
            raise ValueError("the search query must use what the agent typed: :q or :q_like")
        return value

    @field_validator("check_query")
    @classmethod
    def _check_query(cls, value: str) -> str:
        if bind_names(value):
            raise ValueError("the check query takes no parameters")
        return value


# -- errors ---------------------------------------------------------------------------------------


def describe_failure(exc: BaseException, name: str) -> str:
    """A message safe to show an agent: the connector and the kind of failure, nothing else."""
    if isinstance(exc, DBAPIError):
        if getattr(exc.orig, "sqlstate", None) == _STATEMENT_TIMEOUT:
            return f"{name}: query cancelled by the statement timeout"
        if exc.connection_invalidated:
            return f"{name}: lost the database connection"
        return f"{name}: database error: {type(exc).__name__}"
    if isinstance(exc, ConnectionRefusedError):
        return f"{name}: connection refused by the database"
    if isinstance(exc, OSError):
        return f"{name}: cannot connect to the database"
    return f"{name}: database error: {type(exc).__name__}"


# -- the connector --------------------------------------------------------------------------------


class SqlConnector:
    """A database back office. See the module docstring for the options and what a lookup
    returns."""

    Settings: ClassVar[type[BaseModel]] = SqlSettings

    def __init__(self, name: str, settings: SqlSettings, context: ConnectorContext) -> None:
        self.name = name
        self.settings = settings
        self._context = context
        self._engine: AsyncEngine | None = None
        self._query: TextClause = text(settings.query)
        self._check: TextClause = text(settings.check_query)
        self.uses_keys = frozenset(n for n in bind_names(settings.query) if n in context.keys)
        self._names = [
            n for n in bind_names(settings.query) if n in PARAMETERS or n in self.uses_keys
        ]
        self._search = text(settings.search_query) if settings.search_query else None
        self._search_names = bind_names(settings.search_query or "")
        self._recorder: SqlRecorder | None = None
        if settings.record_query is not None:
            self._recorder = SqlRecorder(
                name, settings.url, settings.record_query, context.base_dir
            )

    @property
    def searches(self) -> bool:
        """True when `search_query` is configured."""
        return self._search is not None

    @property
    def creates(self) -> bool:
        """True when `create_query` is configured."""
        return self.settings.create_query is not None

    async def create(self, fields: Mapping[str, Any], query: CreateQuery) -> dict[str, Any] | None:
        """Run `create_query` for the caller with the agent's field values (see sql_create)."""
        statement = self.settings.create_query
        if statement is None:
            raise ConnectorError(f"{self.name} does not create customers")
        values = {**query.params(), **fields}
        params = {name: values.get(name) for name in bind_names(statement)}
        sqlite = make_url(self.settings.url).get_backend_name() == "sqlite"
        try:
            row = await run_create(self._started(), text(statement), params, sqlite)
        except (SQLAlchemyError, OSError) as exc:
            log.debug("connector %s: create: %r", self.name, exc)
            raise ConnectorError(describe_failure(exc, self.name)) from None
        return safe_mapping(row) if row is not None else None

    @property
    def statement_timeout_ms(self) -> int | None:
        """The statement timeout set on PostgreSQL connections (the deadline by default)."""
        return self.settings.statement_timeout_ms or self._context.deadline_ms

    async def start(self) -> None:
        """Create the engine (connections open on first use). ConnectorError if a SQLite file is
        missing."""
        if self._engine is None:
            self._engine = self._create_engine(make_url(self.settings.url))
            if self._recorder is not None:
                self._recorder.start()

    def _create_engine(self, url: URL) -> AsyncEngine:
        options: dict[str, Any] = {"hide_parameters": True}
        sqlite = url.get_backend_name() == "sqlite"
        if sqlite:
            url = self._sqlite_url(url)
        if sqlite and url.database in (None, "", ":memory:"):
            options["poolclass"] = StaticPool  # one shared connection, or each sees no tables
        else:
            options.update(pool_size=self.settings.pool_size)
            options.update(max_overflow=self.settings.max_overflow)
        if not sqlite:
            options["connect_args"] = self._connect_args(url)
        engine = create_async_engine(url, **options)
        if sqlite:
            event.listen(engine.sync_engine, "connect", _sqlite_read_only)
        return engine

    def _sqlite_url(self, url: URL) -> URL:
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return url
        path = Path(database)
        if not path.is_absolute():
            path = (self._context.base_dir / path).resolve()
        if not path.is_file():
            raise ConnectorError(f"{self.name}: SQLite database {path} does not exist")
        return url.set(database=str(path))

    def _connect_args(self, url: URL) -> dict[str, Any]:
        if url.get_driver_name() != "asyncpg":
            return {}
        args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_S}
        timeout = self.statement_timeout_ms
        if timeout is not None:
            args["server_settings"] = {"statement_timeout": str(timeout)}
        return args

    @property
    def records(self) -> bool:
        """True when `record_query` is configured (write-back)."""
        return self._recorder is not None

    async def record(self, item: RecordItem, *, dry_run: bool = False) -> None:
        """Run `record_query` for the item (see connectors/sql_record.py)."""
        if self._recorder is not None:
            await self._recorder.record(item, dry_run=dry_run)

    async def aclose(self) -> None:
        """Close every pooled connection."""
        if self._recorder is not None:
            await self._recorder.aclose()
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()

    async def lookup(self, query: LookupQuery) -> LookupResult:
        """Run the query for the number: None, one record, or a list of records."""
        values = query.params()
        params = {name: values.get(name) or None for name in self._names}  # no key value: NULL
        log.debug("connector %s: query for %s", self.name, mask(query.e164))
        try:
            rows = await self._fetch(params)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == _STATEMENT_TIMEOUT:
                raise TimeoutError(describe_failure(exc, self.name)) from None  # a `timeout`
            log.debug("connector %s: %r", self.name, exc)
            raise ConnectorError(describe_failure(exc, self.name)) from None
        except (SQLAlchemyError, OSError) as exc:
            log.debug("connector %s: %r", self.name, exc)
            raise ConnectorError(describe_failure(exc, self.name)) from None
        records = [decode_row(row, self.settings.json_columns, self.name) for row in rows]
        if not records:
            return None
        return records[0] if len(records) == 1 else records

    async def search(self, q: str) -> list[dict[str, Any]]:
        """Run `search_query` for what the agent typed: the matching customers (maybe [])."""
        if self._search is None:
            return []
        values = {"q": q, "q_like": f"%{q}%"}
        params = {name: values[name] for name in self._search_names}
        try:
            rows = await self._fetch(params, self._search)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == _STATEMENT_TIMEOUT:
                raise TimeoutError(describe_failure(exc, self.name)) from None
            raise ConnectorError(describe_failure(exc, self.name)) from None
        except (SQLAlchemyError, OSError) as exc:
            log.debug("connector %s: search: %r", self.name, exc)
            raise ConnectorError(describe_failure(exc, self.name)) from None
        records = [decode_row(row, self.settings.json_columns, self.name) for row in rows]
        return [_split_numbers(record) for record in records]

    async def _fetch(
        self, params: Mapping[str, str | None], statement: TextClause | None = None
    ) -> Sequence[Mapping[Any, Any]]:
        engine = self._started()
        statement = self._query if statement is None else statement
        for attempt in (1, 2):
            try:
                async with engine.connect() as conn:
                    result = await conn.execute(statement, params)
                    return result.mappings().fetchmany(self.settings.max_rows)
            except DBAPIError as exc:
                # A connection the server dropped (a restart): the pool is invalidated; try once
                # more on a fresh connection within the same deadline.
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def _started(self) -> AsyncEngine:
        if self._engine is None:
            raise ConnectorError(f"{self.name} is not started")
        return self._engine

    async def check(self) -> None:
        """Run `check_query` on a pooled connection. Raises ConnectorError on any failure."""
        engine = self._started()
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S), engine.connect() as conn:
                await conn.execute(self._check)
        except TimeoutError:
            raise ConnectorError(f"{self.name}: no answer within {CHECK_TIMEOUT_S:g} s") from None
        except (SQLAlchemyError, OSError) as exc:
            log.debug("connector %s: check failed: %r", self.name, exc)
            raise ConnectorError(describe_failure(exc, self.name)) from None


def _split_numbers(record: dict[str, Any]) -> dict[str, Any]:
    numbers = record.get("numbers")
    if isinstance(numbers, str):
        record["numbers"] = [n.strip() for n in numbers.split(",") if n.strip()]
    elif numbers is None and "numbers" in record:
        record["numbers"] = []
    return record


def _sqlite_read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")  # a lookup never writes to a back office
    cursor.execute("PRAGMA busy_timeout = 2000")
    cursor.close()
