"""Opening the store's database: engines for SQLite and PostgreSQL, and what errors may say.

A message about a database failure never contains the URL's password: :func:`password_of`
gives it so it can be cut out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from screenpop.errors import StoreError

SUPPORTED_DIALECTS = ("sqlite", "postgresql")


def upsert_insert(conn: AsyncConnection, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT on this connection's dialect."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


def create_engine(url: str) -> AsyncEngine:
    try:
        parsed = make_url(url)
    except ValueError as exc:  # e.g. a port that is not a number
        raise StoreError(f"store: invalid database URL ({type(exc).__name__})") from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DIALECTS:
        raise StoreError(f"store: unsupported database {backend!r} (use sqlite or postgresql)")
    options: dict[str, Any] = {"hide_parameters": True}
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            options["poolclass"] = StaticPool  # one shared connection, or each sees no tables
        elif not Path(parsed.database).resolve().parent.is_dir():
            raise StoreError(f"store: the folder of {parsed.database} does not exist")
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    options["pool_pre_ping"] = True  # survive a database restart
    return create_async_engine(url, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def password_of(url: str) -> str | None:
    try:
        return make_url(url).password
    except (SQLAlchemyError, ValueError):
        found = re.search(r"://[^/@:]*:([^/]*)@", url)
        return found.group(1) if found else None


def describe_failure(exc: BaseException, password: str | None, timeout_s: float) -> str:
    """What a database failure says, in one line, without the URL's password."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout_s:g} s"
    lines = [line for line in str(exc).splitlines() if line.strip()]
    message = lines[0] if lines else type(exc).__name__
    if password:
        message = message.replace(password, "***")
    return message
