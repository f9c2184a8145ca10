"""Write-back to a database (`record_query`): one INSERT per note or call end, on an engine of
its own (a SQLite back office is opened read-only for lookups; this one may write).

The statement names any of the bind parameters in RECORD_FIELDS (`:record_id`, `:kind`,
`:call_id`, `:e164`, `:customer_id`, `:agent`, `:disposition`, `:text`, `:at`, `:direction`,
`:queue`, `:talk_s`). It must be safe to run twice for one `:record_id` (the same item comes
again after a lost answer or a restart): give the table a unique `record_id` and write
``INSERT ... ON CONFLICT (record_id) DO NOTHING`` (SQLite and PostgreSQL alike).

A constraint the row breaks (IntegrityError, other than a duplicate the statement ignores) is a
rejection for good (RecordRejected); a failed connection or a timeout is a ConnectorError (tried
again later). A dry run (`screenpop check`) runs the statement in a transaction rolled back.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import URL, TextClause, make_url, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from screenpop.connectors.contract import RECORD_FIELDS, RecordItem, RecordRejected
from screenpop.errors import ConnectorError

log = logging.getLogger(__name__)


def check_record_query(names: list[str]) -> None:
    """ValueError unless the statement binds only RECORD_FIELDS and at least `:record_id`."""
    unknown = [name for name in names if name not in RECORD_FIELDS]
    if unknown:
        known = ", ".join(f":{p}" for p in RECORD_FIELDS)
        raise ValueError(f"unknown parameter :{unknown[0]} (known: {known})")
    if "record_id" not in names:
        raise ValueError("the record query must use :record_id (to apply each item once)")


class SqlRecorder:
    """Runs `record_query` on its own engine; `start()` before, `aclose()` after."""

    def __init__(self, name: str, url: str, statement: str, base_dir: Path) -> None:
        self.name = name
        self._url = url
        self._statement: TextClause = text(statement)
        self._base_dir = base_dir
        self._engine: AsyncEngine | None = None

    def start(self) -> None:
        url = make_url(self._url)
        options: dict[str, Any] = {"hide_parameters": True, "pool_size": 2, "max_overflow": 0}
        if url.get_backend_name() == "sqlite":
            url = self._sqlite_url(url)
            if url.database in (None, "", ":memory:"):
                options = {"hide_parameters": True, "poolclass": StaticPool}
        elif url.get_driver_name() == "asyncpg":
            options["connect_args"] = {"timeout": 5.0}
        self._engine = create_async_engine(url, **options)

    def _sqlite_url(self, url: URL) -> URL:
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return url
        path = Path(database)
        if not path.is_absolute():
            path = (self._base_dir / path).resolve()
        return url.set(database=str(path))

    async def aclose(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()

    async def record(self, item: RecordItem, *, dry_run: bool = False) -> None:
        """Run the statement for `item` (rolled back when `dry_run`)."""
        if self._engine is None:
            raise ConnectorError(f"{self.name} is not started")
        try:
            async with self._engine.connect() as conn:
                await conn.execute(self._statement, item.params())
                if dry_run:
                    await conn.rollback()
                else:
                    await conn.commit()
        except IntegrityError as exc:
            log.debug("connector %s: record refused: %r", self.name, exc)
            raise RecordRejected(f"{self.name} refused the row (a constraint)") from None
        except (SQLAlchemyError, OSError) as exc:
            log.debug("connector %s: record failed: %r", self.name, exc)
            raise ConnectorError(f"{self.name}: write-back failed ({type(exc).__name__})") from None
