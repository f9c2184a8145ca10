"""`SCREENPOP__SECTION__[ENTRY__]KEY` environment variables laid over the raw config, so
secrets and per-node values (a port, a node id) need not be written in the file."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from screenpop.errors import ConfigError

ENV_PREFIX = "SCREENPOP__"


def apply_env_overrides(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Apply `SCREENPOP__SECTION__[ENTRY__]KEY` variables to the raw config in place."""
    for var, value in sorted(environ.items()):
        if not var.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in var[len(ENV_PREFIX) :].split("__") if p]
        if len(parts) < 2:
            continue
        section = raw.setdefault(parts[0], {} if parts[0] not in _ARRAYS else [])
        if isinstance(section, list):
            if len(parts) < 3:
                continue
            target = _find_entry(section, parts[1], _ARRAYS.get(parts[0], "name"))
            keys = parts[2:]
        else:
            target, keys = section, parts[1:]
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        current = target.get(keys[-1])
        # A value the file holds as text stays text (a secret of digits is not a number).
        target[keys[-1]] = value if isinstance(current, str) else _parse_env_value(value)


_ARRAYS = {"telephony": "name", "connectors": "name", "agents": "id"}


def _find_entry(entries: list[dict[str, Any]], name: str, key: str) -> dict[str, Any]:
    for entry in entries:
        if str(entry.get(key, "")).lower() == name:
            return entry
    raise ConfigError(f"environment override names {name!r}, which is not in the config")


def _parse_env_value(value: str) -> Any:
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value
