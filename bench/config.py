"""The daemon's config for one benchmark case, written as the TOML file `screenpop run` reads.

A case names its agents, supervisor tabs and connectors; :func:`write_config` writes the rest as
an operator would: the web server on a free loopback port, the fake Asterisk as the one AMI source,
the cache (Redis db 15 under the run's own key prefix, or in memory), the call log in SQLite in
the run's folder, logging at WARNING.
"""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.pbx import SECRET, USER, device

SQL_TABLE = "accounts"
KNOWN_NUMBERS = 60_000  # the SQL back office has a row for each of the first bench numbers


def number(i: int) -> str:
    """The i-th bench caller: a valid New York number (+1 212 2xx xxxx)."""
    return f"+1212{2000000 + i:07d}"


def agent_id(i: int) -> str:
    return f"agent{i:05d}"


def supervisor_id(i: int) -> str:
    return f"super{i:03d}"


def token(agent: str) -> str:
    return f"bench-{agent}"


@dataclass(frozen=True)
class HttpLatency:
    """One `http` connector on the fake back office: answers after `ms`, or never (`hang`)."""

    name: str
    ms: int
    hang: bool = False


@dataclass(frozen=True)
class Setup:
    """What one daemon runs with."""

    agents: int
    supervisors: int = 0
    http: Sequence[HttpLatency] = ()
    sql: bool = True  # a `sql` connector on the SQLite back office
    deadline_ms: int = 400
    connector_options: Mapping[str, Any] = field(default_factory=dict)  # for every connector
    hang_options: Mapping[str, Any] = field(default_factory=dict)  # for the hanging one
    store_url: str = ""  # "" = SQLite in the case's folder; several nodes share a PostgreSQL
    cluster: Mapping[str, Any] = field(default_factory=dict)  # `[cluster]`, for several nodes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sql_back_office(path: Path) -> Path:
    """A SQLite file with one account per bench number (made once per run)."""
    if path.exists():
        return path
    with sqlite3.connect(path) as db:
        db.execute(
            f"CREATE TABLE {SQL_TABLE} (phone TEXT PRIMARY KEY, customer_id TEXT, name TEXT, "
            "balance REAL, currency TEXT)"
        )
        db.executemany(
            f"INSERT INTO {SQL_TABLE} VALUES (?, ?, ?, ?, ?)",
            ((number(i), f"C-{i}", f"Customer {i}", i % 997, "USD") for i in range(KNOWN_NUMBERS)),
        )
    db.close()
    return path


def connectors(setup: Setup, office_url: str, sql_file: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    common = {"deadline_ms": setup.deadline_ms, **setup.connector_options}
    if setup.sql:
        query = f"SELECT customer_id, name, balance, currency FROM {SQL_TABLE} WHERE phone = :e164"
        out.append(
            {
                "name": "accounting",
                "kind": "sql",
                "url": f"sqlite+aiosqlite:///{sql_file}",
                "query": query,
                "priority": 10,
                **common,
            }
        )
    for k, http in enumerate(setup.http):
        route = "hang" if http.hang else "customers"
        entry = {
            "name": http.name,
            "kind": "http",
            "url": f"{office_url}/{route}/{{e164}}",
            "params": {"ms": str(http.ms), "section": http.name},
            "priority": 20 + k,
            "check_url": f"{office_url}/health",
            **common,
        }
        out.append({**entry, **(setup.hang_options if http.hang else {})})
    return out


def write_config(
    setup: Setup,
    folder: Path,
    port: int,
    pbx_port: int,
    office_url: str,
    cache: Mapping[str, Any],
) -> Path:
    """Write the case's config into `folder`; returns its path."""
    agents = [
        {
            "id": agent_id(i),
            "name": f"Agent {i}",
            "token": token(agent_id(i)),
            "extensions": [device(i)],
        }
        for i in range(setup.agents)
    ]
    agents += [
        {
            "id": supervisor_id(i),
            "name": f"Supervisor {i}",
            "role": "supervisor",
            "token": token(supervisor_id(i)),
        }
        for i in range(setup.supervisors)
    ]
    config: dict[str, Any] = {
        "server": {
            "host": "127.0.0.1",
            "port": port,
            "public_origin": f"http://127.0.0.1:{port}",
            "session_secret": "bench-session-secret-" + "x" * 32,
        },
        "cache": dict(cache),
        "store": {"url": setup.store_url or f"sqlite+aiosqlite:///{folder / 'calls.db'}"},
        "logging": {"level": "WARNING"},
        "roles": {"agent": {}, "supervisor": {"board": True}},
        "telephony": [
            {
                "name": "pbx1",
                "kind": "ami",
                "host": "127.0.0.1",
                "port": pbx_port,
                "username": USER,
                "secret": SECRET,
            }
        ],
        "connectors": connectors(setup, office_url, sql_back_office(folder.parent / "office.db")),
        "agents": agents,
    }
    if setup.cluster:
        config["cluster"] = dict(setup.cluster)
    path = folder / "screenpop.toml"
    path.write_text(to_toml(config), encoding="utf-8")
    return path


def to_toml(config: Mapping[str, Any]) -> str:
    """The subset of TOML the config needs: tables, arrays of tables, inline values."""
    lines: list[str] = []
    for key, value in config.items():
        if isinstance(value, Mapping) and all(isinstance(v, Mapping) for v in value.values()):
            for sub, table in value.items():  # [roles.agent]
                lines += [f"[{key}.{sub}]", *_pairs(table), ""]
        elif isinstance(value, Mapping):
            lines += [f"[{key}]", *_pairs(value), ""]
        else:
            for table in value:
                lines += [f"[[{key}]]", *_pairs(table), ""]
    return "\n".join(lines)


def _pairs(table: Mapping[str, Any]) -> list[str]:
    return [f"{k} = {_inline(v)}" for k, v in table.items()]


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return json.dumps(value)  # strings, numbers and booleans are spelled alike in JSON and TOML
