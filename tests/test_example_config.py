"""config/example.toml loads, every entry passes its kind's own options model, and every option
of every model appears in it (set, or commented out as `# key = ...` in its own table)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from connectors.http import HttpSettings
from connectors.sql import SqlSettings
from screenpop.audit_settings import AuditSettings
from screenpop.callback_settings import CallbackSettings
from screenpop.cluster_settings import ClusterSettings
from screenpop.connectors.contract import find_kind
from screenpop.connectors.registry import build_connector
from screenpop.report_schedule import ReportSchedule
from screenpop.settings import (
    AgentSettings,
    BoardSettings,
    CacheSettings,
    ConnectorSettings,
    PhoneSettings,
    RoleSettings,
    ServerSettings,
    Settings,
    StoreSettings,
    load_settings,
)
from screenpop.smtp_settings import SmtpSettings
from screenpop.telephony.asterisk.source import AmiOptions
from screenpop.telephony.base import SourceContext, find_source_kind
from screenpop.telephony.freeswitch.source import EslOptions
from screenpop.telephony.simulator import SimulatorOptions
from screenpop.telephony.webhooks.generic import JsonOptions
from screenpop.telephony.webhooks.twilio import TwilioOptions
from screenpop.ui_settings import UiSettings

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "example.toml"
HEADER = re.compile(r"^\[\[?([A-Za-z0-9_.]+)\]\]?\s*(#.*)?$")
COMMENTED_KEY = re.compile(r"^#\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")
ACTIVE_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=")
SECRETS = {"secret", "password", "auth_token", "session_secret", "token"}

TELEPHONY_MODELS: dict[tuple[str, str | None], type[BaseModel]] = {
    ("ami", None): AmiOptions,
    ("esl", None): EslOptions,
    ("webhook", "twilio"): TwilioOptions,
    ("webhook", "json"): JsonOptions,
    ("simulator", None): SimulatorOptions,
}
CONNECTOR_MODELS: dict[str, type[BaseModel]] = {
    "sql": SqlSettings,
    "http": HttpSettings,
    "example": find_kind("example", "test").Settings,  # the plugin, by its entry point
}
TABLE_MODELS: dict[str, type[BaseModel]] = {
    "server": ServerSettings,
    "phone": PhoneSettings,
    "cache": CacheSettings,
    "store": StoreSettings,
    "ui": UiSettings,
    "board": BoardSettings,
    "cluster": ClusterSettings,
    "smtp": SmtpSettings,
    "reports.schedule": ReportSchedule,
    "audit": AuditSettings,
    "callbacks": CallbackSettings,
}


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(EXAMPLE, environ={})


def blocks() -> list[tuple[str, set[str]]]:
    """Each table of the file in order: its header name and every key written in it, set or
    commented out."""
    found: list[tuple[str, set[str]]] = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        header = HEADER.match(line)
        if header:
            found.append((header.group(1), set()))
            continue
        key = ACTIVE_KEY.match(line) or COMMENTED_KEY.match(line)
        if key and found:
            found[-1][1].add(key.group(1))
    return found


def keys_of(table: str) -> list[set[str]]:
    return [keys for name, keys in blocks() if name == table]


def missing(model: type[BaseModel], keys: set[str], also: frozenset[str] = frozenset()) -> set[str]:
    return set(model.model_fields) - keys - also


def test_the_example_loads_without_environment(settings: Settings) -> None:
    assert settings.base_dir == EXAMPLE.parent
    assert {s.kind for s in settings.telephony} == {"ami", "esl", "webhook", "simulator"}
    assert {c.kind for c in settings.connectors} >= {"sql", "http", "example"}


def test_every_telephony_entry_builds_with_its_own_options(settings: Settings) -> None:
    context = SourceContext(settings.base_dir, settings.phone.default_region, lambda: [])
    for entry in settings.telephony:
        factory = find_source_kind(entry.kind, f"telephony.{entry.name}")
        source = factory(entry.name, entry.options(), context)  # validates; connects nothing
        assert source.name == entry.name
        if entry.kind in ("ami", "esl"):
            assert not source.status.connected


def test_every_connector_entry_builds_with_its_own_settings(settings: Settings) -> None:
    for entry in settings.connectors:
        connector = build_connector(entry, settings.base_dir)  # validates; starts nothing
        assert connector.name == entry.name


def test_every_option_of_every_table_is_shown() -> None:
    for table, model in TABLE_MODELS.items():
        (keys,) = keys_of(table)
        assert not missing(model, keys), f"[{table}] lacks {missing(model, keys)}"
    for keys in keys_of("agents"):
        assert not missing(AgentSettings, keys, frozenset({"token", "token_sha256"}))
    agent_keys = set().union(*keys_of("agents"))
    assert {"token", "token_sha256"} <= agent_keys
    role_keys = set().union(*(keys for name, keys in blocks() if name.startswith("roles.")))
    assert not missing(RoleSettings, role_keys)


def test_every_option_of_every_source_kind_is_shown(settings: Settings) -> None:
    shown: set[tuple[str, str | None]] = set()
    for entry, keys in zip(settings.telephony, keys_of("telephony"), strict=True):
        flavor = entry.options().get("flavor") if entry.kind == "webhook" else None
        flavor = flavor or ("json" if entry.kind == "webhook" else None)
        model = TELEPHONY_MODELS[(entry.kind, flavor)]
        gaps = missing(model, keys - {"name", "kind"})
        assert not gaps, f"telephony {entry.name} ({entry.kind}) lacks {gaps}"
        shown.add((entry.kind, flavor))
    assert shown == set(TELEPHONY_MODELS)


def test_every_option_of_every_connector_kind_is_shown(settings: Settings) -> None:
    common = set(ConnectorSettings.model_fields)
    entries = list(zip(settings.connectors, keys_of("connectors"), strict=True))
    assert any(not missing(ConnectorSettings, keys) for _, keys in entries), "common keys"
    kinds = set()
    for entry, keys in entries:
        model = CONNECTOR_MODELS[entry.kind]
        gaps = missing(model, keys - common)
        if entry.kind not in kinds:
            assert not gaps, f"connector {entry.name} ({entry.kind}) lacks {gaps}"
        kinds.add(entry.kind)
    assert kinds == set(CONNECTOR_MODELS)


def test_secrets_are_placeholders(settings: Settings) -> None:
    values = [settings.server.session_secret]
    values += [str(v) for s in settings.telephony for k, v in s.options().items() if k in SECRETS]
    values += [a.token for a in settings.agents if a.token is not None]
    assert values and all(v.startswith("change-me") for v in values)


def test_documented_environment_overrides_reach_the_entries() -> None:
    environ = {
        "SCREENPOP__TELEPHONY__TWILIO__AUTH_TOKEN": "from-env",
        "SCREENPOP__TELEPHONY__PBX1__SECRET": "20241120",  # the file holds text: stays text
        "SCREENPOP__CONNECTORS__ERP__URL": "postgresql+asyncpg://u:p@db.internal/erp",
        "SCREENPOP__AGENTS__ALICE__TOKEN": "alice-token",
        "SCREENPOP__SERVER__SESSION_SECRET": "s3cret-from-env",
    }
    loaded = load_settings(EXAMPLE, environ=environ)
    sources = {s.name: s.options() for s in loaded.telephony}
    assert sources["twilio"]["auth_token"] == "from-env"
    assert sources["pbx1"]["secret"] == "20241120"
    assert {c.name: c.options() for c in loaded.connectors}["erp"]["url"].endswith("/erp")
    assert {a.id: a.token for a in loaded.agents}["alice"] == "alice-token"
    assert loaded.server.session_secret == "s3cret-from-env"
