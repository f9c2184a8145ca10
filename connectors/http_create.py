"""Creating a customer in a REST back office (`create_url` of a `kind = "http"` connector).

`create_url` may use the number placeholders (`{e164}`, `{national}`, `{digits}`,
`{national_digits}`) and `${VAR}`s. The connector POSTs ``{"e164", "agent", "call_id",
"fields": {...}}`` there with the connector's `headers` and an `Idempotency-Key` header, the
same for a retry of the same call's creation, so a back office that honours it creates the
customer once. A 2xx answer may be a JSON object with the new `customer_id` (or `id`); anything
but 2xx is a failure.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from connectors.http_answers import decode, describe_failure, read_body
from screenpop.connectors.contract import CreateQuery
from screenpop.errors import ConnectorError

log = logging.getLogger(__name__)

NUMBER_FIELDS = ("e164", "national", "digits", "national_digits")


async def post_create(
    session: aiohttp.ClientSession,
    url: str,
    fields: Mapping[str, Any],
    query: CreateQuery,
    name: str,
    *,
    time_limit: aiohttp.ClientTimeout,
    max_body_bytes: int,
) -> dict[str, Any] | None:
    """POST the new customer to `url`: ``{"customer_id": ...}`` when the answer says it, else
    None; ConnectorError (safe to show) when the back office did not create it."""
    headers = {"Idempotency-Key": idempotency_key(name, query)}
    try:
        async with session.post(
            url, json=create_body(fields, query), headers=headers, timeout=time_limit
        ) as response:
            if not 200 <= response.status < 300:
                raise ConnectorError(f"HTTP {response.status} from {name}")
            body = await read_body(response, max_body_bytes, name)
    except aiohttp.ClientError as exc:
        log.debug("connector %s: create: %s", name, type(exc).__name__)
        raise ConnectorError(describe_failure(exc, name)) from None
    return created_customer(body, name)


def create_body(fields: Mapping[str, Any], query: CreateQuery) -> dict[str, Any]:
    """The JSON the back office receives."""
    return {
        "e164": query.number.e164,
        "agent": query.agent,
        "call_id": query.call_id,
        "fields": dict(fields),
    }


def idempotency_key(connector: str, query: CreateQuery) -> str:
    """One key per connector, call and number: a retry of the same creation reuses it."""
    seed = f"create\n{connector}\n{query.call_id}\n{query.number.e164}".encode()
    return hashlib.sha256(seed).hexdigest()[:32]


def created_customer(body: bytes, name: str) -> dict[str, Any] | None:
    """The new customer from a 2xx answer: ``{"customer_id": ...}`` when it says, else None."""
    doc = decode(body, name)
    if not isinstance(doc, dict):
        return None
    customer_id = doc.get("customer_id", doc.get("id"))
    if isinstance(customer_id, str | int) and not isinstance(customer_id, bool):
        return {"customer_id": str(customer_id)}
    return None
