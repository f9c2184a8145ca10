"""What the report queries share: reading grouped rows in batches (the event loop runs between
two batches), and the figures' rounding."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

BATCH = 2000


async def batches(conn: AsyncConnection, statement: Any) -> AsyncIterator[Sequence[Row[Any]]]:
    """The rows of `statement`, `BATCH` at a time."""
    result = await conn.stream(statement)
    async for part in result.partitions(BATCH):
        yield part


def mean(total: float, count: int) -> float | None:
    """`total / count` to one decimal; None with nothing to divide."""
    return round(total / count, 1) if count else None


def seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None
