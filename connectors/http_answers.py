"""What a REST back office's answers mean, for every request of the HTTP connector (lookup,
search, create): a failure in words safe to show an agent (no URL, header or number), a body read
up to a size limit, and JSON decoded."""

from __future__ import annotations

import errno
import json
from typing import Any

import aiohttp

from screenpop.errors import ConnectorError


def describe_failure(exc: aiohttp.ClientError, name: str) -> str:
    """A message safe to show an agent for an aiohttp failure: no URL, header or number."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS error talking to {name}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if exc.os_error.errno == errno.ECONNREFUSED:
            return f"connection refused by {name}"
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            return f"cannot resolve the host of {name}"
        return f"cannot connect to {name}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{name} closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"incomplete response from {name}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"invalid HTTP response from {name}"
    return f"HTTP client error talking to {name}"


async def read_body(response: aiohttp.ClientResponse, limit: int, name: str) -> bytes:
    """The whole body; ConnectorError ("response too large") past `limit` bytes."""
    too_large = ConnectorError(f"response too large from {name}")
    if response.content_length is not None and response.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def decode(body: bytes, name: str) -> Any:
    """The JSON of a body; None for an empty one; ConnectorError for one that is not JSON."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ConnectorError(f"invalid JSON from {name}") from None
