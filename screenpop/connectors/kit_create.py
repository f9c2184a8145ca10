"""The contract kit's check of ``create()`` (check 10 of :mod:`screenpop.connectors.kit`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from screenpop.connectors.contract import Connector, CreateQuery, Creator, LookupQuery

KIT_AGENT = "contract-kit"
KIT_CALL = "contract-create"


async def check_create(
    connector: Connector, fields: Mapping[str, Any], unknown: LookupQuery, limit_s: float
) -> None:
    """`create(fields)` for the unknown number returns None or a record with a customer_id, and
    `lookup()` then finds the number."""
    assert isinstance(connector, Creator)
    query = CreateQuery(unknown, KIT_AGENT, KIT_CALL)
    try:
        async with asyncio.timeout(limit_s):
            created = await connector.create(dict(fields), query)
            found = await connector.lookup(unknown)
    except TimeoutError:
        raise AssertionError(f"create() or the lookup after it took over {limit_s:g} s") from None
    if created is not None and not (
        isinstance(created, Mapping) and created.get("customer_id") not in (None, "")
    ):
        raise AssertionError(f"create() must return None or a record with customer_id: {created!r}")
    if found is None or found == [] or found == {}:
        raise AssertionError("after create(), lookup() of the number must find the customer")
