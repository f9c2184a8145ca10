"""A database of its own on the test PostgreSQL server, for a daemon whose store must not share
tables with other tests (its table names have no prefix)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.engine import make_url


@contextlib.asynccontextmanager
async def scratch_database(postgres_url: str) -> AsyncIterator[tuple[str, int, str]]:
    """Create a database on the server of `postgres_url`, drop it at the end: (host, port, name)."""
    url = make_url(postgres_url)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"screenpop_scratch_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield url.host or "127.0.0.1", url.port or 5432, name
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
