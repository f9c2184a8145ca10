"""A back office's JSON answer as a connector result: a dotted path to the record(s), a map of
output fields to dotted paths, and the list of customers a search answered (see
:mod:`connectors.http` for the config keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from screenpop.connectors.contract import LookupResult
from screenpop.errors import ConnectorError

SEARCH_MAP_KEYS = ("items", "customer_id", "name", "numbers")
_MISSING = object()


def resolve(data: Any, path: str) -> Any:
    """The value at a dotted path (`customer.name`, `items.0.sku`), or `_MISSING`."""
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            current = current[index] if -len(current) <= index < len(current) else _MISSING
        else:
            return _MISSING
        if current is _MISSING:
            return _MISSING
    return current


def shape(data: Any, root: str | None, mapping: Mapping[str, str], name: str) -> LookupResult:
    """The connector's answer from the decoded JSON: root selected, map applied, empty -> None."""
    if root is not None:
        data = resolve(data, root)
        if data is _MISSING:
            return None
    if data is None:
        return None
    rows = data if isinstance(data, list) else [data]
    if not all(isinstance(row, Mapping) for row in rows):
        raise ConnectorError(f"unexpected JSON from {name}: expected an object or a list of them")
    if mapping:
        rows = [_apply_map(row, mapping) for row in rows]
    rows = [row for row in rows if row]
    if not rows:
        return None
    return rows if isinstance(data, list) else rows[0]


def shape_search(data: Any, search_map: Mapping[str, str], name: str) -> list[dict[str, Any]]:
    """The customers in a decoded search answer, by `search_map` (see the module docstring)."""
    items = search_map.get("items")
    if items is not None:
        data = resolve(data, items)
    if data is None or data is _MISSING:
        return []
    if not isinstance(data, list) or not all(isinstance(row, Mapping) for row in data):
        raise ConnectorError(f"unexpected JSON from {name}: expected a list of customers")
    fields = {key: search_map.get(key, key) for key in SEARCH_MAP_KEYS if key != "items"}
    rows = [_apply_map(row, fields) for row in data]
    for row in rows:
        if isinstance(row.get("numbers"), str | int):
            row["numbers"] = [str(row["numbers"])]
    return [row for row in rows if row.get("customer_id") not in (None, "")]


def _apply_map(row: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    out = {}
    for field, path in mapping.items():
        value = resolve(row, path)
        if value is not _MISSING:
            out[field] = value
    return out
