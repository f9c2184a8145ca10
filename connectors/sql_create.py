"""Creating a customer in a database (`create_query` of a `kind = "sql"` connector).

The statement (an INSERT, or several joined by `;` are not allowed: one statement) names any of
`:e164`, `:national`, `:digits`, `:national_digits`, `:agent`, `:call_id` and the connector's
`create_fields` as `:<field>`; it may `RETURNING customer_id` (SQLite 3.35+, PostgreSQL). It runs
in one transaction; on SQLite the connection is made writable for it alone (lookups stay
read-only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncEngine

CREATE_PARAMETERS = ("e164", "national", "digits", "national_digits", "agent", "call_id")


def check_create_query(names: Sequence[str], fields: Sequence[str]) -> None:
    """ValueError when the statement's bind `names` are not the number's, the agent's, the
    call's or a declared field's, or when no field is declared."""
    if not fields:
        raise ValueError("declare the fields agents fill in: create_fields = [{ name = ... }]")
    known = (*CREATE_PARAMETERS, *fields)
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = ", ".join(f":{p}" for p in known)
        raise ValueError(f"unknown parameter :{unknown[0]} (known: {listed})")


async def run_create(
    engine: AsyncEngine, statement: TextClause, params: Mapping[str, Any], sqlite: bool
) -> dict[str, Any] | None:
    """Run the create statement in one transaction; the first row it returns, if any."""
    async with engine.connect() as conn:
        try:
            if sqlite:
                await conn.exec_driver_sql("PRAGMA query_only = OFF")
            result = await conn.execute(statement, dict(params))
            row = result.mappings().first() if result.returns_rows else None
            await conn.commit()
        finally:
            if sqlite:
                await conn.rollback()
                await conn.exec_driver_sql("PRAGMA query_only = ON")
                await conn.commit()
    return dict(row) if row is not None else None
