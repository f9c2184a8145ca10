"""What a SQL back office's rows become in a card: JSON-safe values (dates as ISO text, decimals
as numbers, bytes never), and the columns named in `json_columns` decoded from JSON text."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from screenpop.errors import ConnectorError

_SKIP = object()  # a value a card cannot carry (binary data): left out


def json_safe(value: Any) -> Any:
    """`value` as something json.dumps accepts and a browser reads; `_SKIP` for binary data."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return _SKIP
    if isinstance(value, Mapping):
        return safe_mapping(value)
    if isinstance(value, list | tuple):
        return [item for item in map(json_safe, value) if item is not _SKIP]
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def safe_mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    out = {}
    for key, item in value.items():
        safe = json_safe(item)
        if safe is not _SKIP:
            out[str(key)] = safe
    return out


def decode_row(row: Mapping[Any, Any], json_columns: Sequence[str], name: str) -> dict[str, Any]:
    """One result row as a JSON-safe dict, with `json_columns` decoded from their text."""
    out = dict(row)
    for column in json_columns:
        value = out.get(column)
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("utf-8", "replace")
        if isinstance(value, str):
            try:
                out[column] = json.loads(value)
            except json.JSONDecodeError:
                raise ConnectorError(f"{name}: column {column} does not hold JSON") from None
    return safe_mapping(out)
