"""A database of its own on the test PostgreSQL server, for a daemon whose store must not share
tables with other tests (its table names have no prefix), and a store behind a line the test
can cut."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from tests.fakes.tcp_proxy import CuttableProxy, proxied


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


@contextlib.asynccontextmanager
async def cuttable_store(
    postgres_url: str, outbox: Path
) -> AsyncIterator[tuple[CuttableProxy, dict[str, Any]]]:
    """A scratch database reached through a :class:`CuttableProxy`: (the proxy, the `[store]`
    table for the daemon, its outbox at `outbox`)."""
    async with scratch_database(postgres_url) as (host, port, name), proxied(host, port) as proxy:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{name}"
        yield proxy, {"url": url, "outbox_path": str(outbox)}
