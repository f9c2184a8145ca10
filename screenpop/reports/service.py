"""Running reports: :class:`Reporter` opens an engine of its own on the call log, so a long
report never holds a connection the pop path needs, and turns every database failure into
StoreError (without the URL's password)."""

from __future__ import annotations

import logging
import time
from types import TracebackType
from typing import Self

from sqlalchemy import MetaData
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from screenpop.errors import StoreError
from screenpop.reports.kinds import report_kind
from screenpop.reports.model import Report, ReportOptions, ReportQuery
from screenpop.store.database import create_engine, describe_failure, password_of
from screenpop.store.migrate import create_or_upgrade
from screenpop.store.schema import build_tables

log = logging.getLogger(__name__)


class Reporter:
    """Use as ``async with Reporter(url) as reporter: await reporter.run(query, options)``.
    The engine opens on the first report; the tables are created or upgraded then if needed."""

    def __init__(self, url: str, *, table_prefix: str = "") -> None:
        self._url = url
        self._password = password_of(url)
        self._metadata = MetaData()
        self.tables = build_tables(self._metadata, table_prefix)
        self._engine: AsyncEngine | None = None
        self._prepared = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()

    async def run(self, query: ReportQuery, options: ReportOptions) -> Report:
        """The report `query` asks for. ReportError for an unknown kind; StoreError when the
        database fails."""
        kind = report_kind(query.kind)
        started = time.perf_counter()
        try:
            engine = self._engine = self._engine or create_engine(self._url)
            if not self._prepared:
                async with engine.begin() as conn:
                    await conn.run_sync(create_or_upgrade, self._metadata, self.tables)
                self._prepared = True
            async with engine.connect() as conn:
                rows = await kind.build(conn, self.tables, query, options)
        except (SQLAlchemyError, OSError) as exc:
            message = describe_failure(exc, self._password, 0)
            raise StoreError(f"report {query.kind} failed: {message}") from exc
        log.info(
            "report %s %s..%s by %s: %s rows in %.2f s",
            query.kind,
            query.start,
            query.end,
            query.interval,
            len(rows),
            time.perf_counter() - started,
        )
        return Report(query, kind.columns(options), rows)
