"""Small helpers of the contract kit: how it tells JSON from not-JSON and words what it saw in
its failure messages."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, TypeGuard


def json_problem(value: object, where: str) -> str | None:
    """Where `value` stops being JSON (``answer.since: date``), or None if it is JSON."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where}: {value!r} (not finite)"
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where}: key {key!r} is not a string"
            problem = json_problem(item, f"{where}.{key}")
            if problem is not None:
                return problem
        return None
    if is_list(value):
        for index, item in enumerate(value):
            problem = json_problem(item, f"{where}[{index}]")
            if problem is not None:
                return problem
        return None
    return f"{where}: {type(value).__name__} {short(value)}"


def is_list(value: object) -> TypeGuard[list[Any] | tuple[Any, ...]]:
    return isinstance(value, list | tuple)


def plain(answer: object) -> str:
    return json.dumps(answer, sort_keys=True, default=repr)


def not_mapped(what: str, exc: BaseException) -> str:
    return (
        f"{what} raised {type(exc).__name__}: {exc}; a connector raises only ConnectorError "
        "(with a message safe to show an agent), wrapping whatever its back office raised"
    )


def short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def factory_name(factory: object) -> str:
    return getattr(factory, "__name__", type(factory).__name__)
