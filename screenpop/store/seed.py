"""Filling an empty call log with generated history (the demo's few weeks of calls).

The rows are plain dicts keyed by column names, per table (``calls``, ``call_rings``,
``call_notes`` and any other table of :func:`screenpop.store.schema.build_tables`); a table the
schema does not have is skipped, and so are columns it does not have.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, MetaData, func, select

from screenpop.store.database import create_engine
from screenpop.store.migrate import create_or_upgrade
from screenpop.store.schema import build_tables

log = logging.getLogger(__name__)

Rows = Mapping[str, Sequence[Mapping[str, Any]]]
BATCH = 2000


async def seed_if_empty(url: str, make_rows: Callable[[], Rows], table_prefix: str = "") -> int:
    """Create the call log at `url` if missing and, when it holds no call, write the rows
    `make_rows()` gives (keyed by the table names without `table_prefix`). Returns the number
    of calls written (0: the log had calls)."""
    metadata = MetaData()
    tables = build_tables(metadata, table_prefix)
    by_name = {t.name.removeprefix(table_prefix): t for t in metadata.sorted_tables}
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(create_or_upgrade, metadata, tables)
            if await conn.scalar(select(func.count()).select_from(tables.calls)):
                return 0
            rows = make_rows()
            for name, table_rows in rows.items():
                table = by_name.get(name)
                if table is None:
                    log.debug("seed: no table %s, its %d rows skipped", name, len(table_rows))
                    continue
                given = set().union(*(row.keys() for row in table_rows))
                # one shape for every row: a column a row lacks gets its default, else NULL
                blank = {k: _default(table.c[k]) for k in given & set(table.c.keys())}
                cleaned = [{k: row.get(k, v) for k, v in blank.items()} for row in table_rows]
                for start in range(0, len(cleaned), BATCH):
                    await conn.execute(table.insert(), cleaned[start : start + BATCH])
            return len(rows.get("calls", ()))
    finally:
        await engine.dispose()


def _default(column: Column[Any]) -> Any:
    default = column.default
    return getattr(default, "arg", None) if default is not None and default.is_scalar else None
