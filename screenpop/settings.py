"""Configuration: one TOML file, validated once, overridable by environment variables.

`SCREENPOP__SECTION__KEY=value` overrides `[section] key`. For the arrays of tables
(`[[telephony]]`, `[[connectors]]`, `[[agents]]`) the second part names the entry by its `name`
(`id` for agents): `SCREENPOP__CONNECTORS__CREDIT__URL=...`. A value overriding text in the file is
taken as text; any other is parsed as TOML when it can be (numbers, booleans, arrays) and taken
as a string otherwise.

Telephony sources and connectors carry options of their own kind; those options are validated by
the source's or connector's own settings model when the daemon builds it
(:func:`screenpop.settings.validate_options`), with the same error format.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from screenpop.audit_settings import AuditSettings
from screenpop.board_settings import BoardSettings
from screenpop.callback_settings import CallbackSettings
from screenpop.cluster_settings import ClusterSettings
from screenpop.create_fields import CreateField, parse_declared
from screenpop.env_overrides import apply_env_overrides
from screenpop.errors import ConfigError
from screenpop.event_loop import EventLoopChoice
from screenpop.keys import DEFAULT_PREFIX
from screenpop.layout import SectionLayout, check_layouts
from screenpop.logging_settings import LoggingSettings
from screenpop.lookup_settings import LookupSettings
from screenpop.paths import default_store_url
from screenpop.report_settings import ReportSettings
from screenpop.smtp_settings import SmtpSettings
from screenpop.ui_settings import LOCALE_TAG, UiSettings

DEFAULT_SESSION_SECRET = "change-me"
CONFIG_ENV = "SCREENPOP_CONFIG"


class Strict(BaseModel):
    """Base of every config table: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_origin: str = "http://127.0.0.1:8080"
    session_secret: str = DEFAULT_SESSION_SECRET
    session_ttl_s: int = Field(default=12 * 3600, gt=0)
    outbound_queue: int = Field(default=256, gt=0)  # messages buffered per websocket before closing
    replay_buffer: int = Field(default=512, gt=0)  # messages kept per agent for `resume`
    replay_buffer_bytes: int = Field(default=2 * 1024 * 1024, gt=0)  # ... and at most this much
    login_max_failures: int = Field(default=10, gt=0)  # failed logins before 429, see auth
    login_window_s: float = Field(default=300, gt=0)  # ... counted over this many seconds
    trusted_proxies: list[str] = []  # peers (IPs or networks) whose X-Forwarded-For is believed
    event_loop: EventLoopChoice = "auto"  # uvloop when importable, else asyncio; event_loop.py

    @field_validator("session_secret")
    @classmethod
    def _secret_not_blank(cls, secret: str) -> str:
        if not secret.strip():
            raise ValueError("server.session_secret is empty: " + _SECRET_HOWTO)
        return secret

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return entries

    def serves_loopback_http_only(self) -> bool:
        """True when both the bound `host` and a plain-http `public_origin` are this machine."""
        origin = urlsplit(self.public_origin)
        return origin.scheme == "http" and _loopback(origin.hostname) and _loopback(self.host)


_SECRET_HOWTO = (
    "set SCREENPOP__SERVER__SESSION_SECRET (or session_secret in [server]) to a long random "
    "value, e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
)


def _loopback(host: str | None) -> bool:
    """True for `localhost` and loopback addresses (`127.0.0.0/8`, `::1`)."""
    if not host:
        return False
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class PhoneSettings(Strict):
    default_region: str = "US"


class CacheSettings(Strict):
    url: str = "memory://"
    ttl_s: float = Field(default=300, ge=0)
    stale_s: float = Field(default=3600, ge=0)
    negative_ttl_s: float = Field(default=60, ge=0)
    key_prefix: str = DEFAULT_PREFIX
    timeout_ms: int = Field(default=200, gt=0)  # a cache slower than this is skipped, not waited on


class StoreSettings(Strict):
    url: str = Field(default_factory=default_store_url)
    history_size: int = Field(default=5, ge=0)
    outbox_path: str = ""  # "" = beside the store (see screenpop.paths); relative to the config
    outbox_max: int = Field(default=100_000, ge=10)  # writes kept while the store is away
    retention_days: int = Field(default=0, ge=0)  # call-log rows older are purged; 0 = keep all


class SourceSettings(BaseModel):
    """One `[[telephony]]` entry; options beyond these belong to the source kind's own model."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    kind: str

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ConnectorSettings(BaseModel):
    """One `[[connectors]]` entry; options beyond these belong to the connector kind's own model."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    kind: str
    deadline_ms: int = Field(default=400, gt=0)
    late_ms: int = Field(default=5000, gt=0)  # a late answer still fills the card until then
    priority: int = 100  # lower wins when connectors disagree on a summary field
    ttl_s: float | None = None  # per-connector cache TTL; default [cache].ttl_s
    negative_ttl_s: float | None = None
    max_concurrency: int = Field(default=8, gt=0)  # lookups at once; more wait within the deadline
    breaker_failures: int = Field(default=5, gt=0)  # consecutive failures that open the breaker
    breaker_cooloff_s: float = Field(default=30, gt=0)  # skipped this long, then one probe
    create_fields: list[CreateField] = []  # what agents fill in to create a customer here

    @field_validator("create_fields", mode="before")
    @classmethod
    def _create_fields(cls, value: object, info: ValidationInfo) -> list[CreateField]:
        return parse_declared(value, str(info.data.get("name", "?")))

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class AgentSettings(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.@-]+$")
    name: str = ""
    role: str = "agent"
    extensions: list[str] = []
    token: str | None = None
    token_sha256: str | None = None
    locale: str = ""  # the agent's language and number format (BCP 47); "" = the browser's
    queues: list[str] | None = None  # whose callback items they see; None: every queue

    @field_validator("locale")
    @classmethod
    def _locale_tag(cls, value: str) -> str:
        if value and not LOCALE_TAG.fullmatch(value):
            raise ValueError(f"{value!r} is not a language tag such as 'en' or 'fr-FR'")
        return value

    @model_validator(mode="after")
    def _one_token(self) -> AgentSettings:
        if self.token is None and self.token_sha256 is None:
            raise ValueError("an agent needs `token` or `token_sha256`")
        for key in ("token", "token_sha256"):
            value = getattr(self, key)
            if value is not None and not value.strip():
                raise ValueError(
                    f"agent {self.id!r} has an empty `{key}`, which would log anyone in as "
                    "them: give the agent a long random token"
                )
        return self


class RoleSettings(Strict):
    sections: list[str] | None = None  # None: every section
    hide: list[str] = []  # "section.field" paths removed before the card leaves the daemon
    board: bool = False  # may watch the supervisor board
    manage_agents: bool = False  # may pause and unpause other agents (from the board)
    reports: bool = False  # may read the reports from the call log


class Settings(Strict):
    server: ServerSettings = ServerSettings()
    phone: PhoneSettings = PhoneSettings()
    cache: CacheSettings = CacheSettings()
    store: StoreSettings = StoreSettings()
    ui: UiSettings = UiSettings()
    board: BoardSettings = BoardSettings()
    logging: LoggingSettings = LoggingSettings()
    cluster: ClusterSettings = ClusterSettings()
    callbacks: CallbackSettings = CallbackSettings()
    lookup: LookupSettings = LookupSettings()
    audit: AuditSettings = AuditSettings()
    reports: ReportSettings = ReportSettings()
    smtp: SmtpSettings = SmtpSettings()
    telephony: list[SourceSettings] = []
    connectors: list[ConnectorSettings] = []
    agents: list[AgentSettings] = []
    sections: dict[str, SectionLayout] = {}  # `[sections.NAME]`: how connector NAME is shown
    roles: dict[str, RoleSettings] = {
        "agent": RoleSettings(),
        "supervisor": RoleSettings(board=True, manage_agents=True, reports=True),
    }
    base_dir: Path = Path(".")  # the config file's folder; relative paths in URLs resolve from it

    @field_validator("telephony", "connectors")
    @classmethod
    def _unique_names(cls, entries: list[Any]) -> list[Any]:
        names = [entry.name for entry in entries]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"names must be unique, repeated: {', '.join(dupes)}")
        return entries

    @model_validator(mode="after")
    def _agents_consistent(self) -> Settings:
        ids = [a.id for a in self.agents]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"agent ids must be unique, repeated: {', '.join(dupes)}")
        _no_shared_tokens(self.agents)
        owners: dict[str, str] = {}
        for agent in self.agents:
            if agent.role not in self.roles:
                raise ValueError(f"agent {agent.id!r} has role {agent.role!r}, not in [roles]")
            for ext in agent.extensions:
                other = owners.setdefault(ext.strip().lower(), agent.id)
                if other != agent.id:
                    raise ValueError(f"extension {ext!r} is both {other!r}'s and {agent.id!r}'s")
        return self

    @model_validator(mode="after")
    def _roles_name_known_sections(self) -> Settings:
        _check_role_sections(self.roles, {c.name for c in self.connectors})
        check_layouts(self.sections, {c.name for c in self.connectors})
        return self

    def node_id(self) -> str:
        """This node's name in the cluster: `[cluster] node_id`, else the server's host:port."""
        return self.cluster.node_id.strip() or f"{self.server.host}:{self.server.port}"

    @model_validator(mode="after")
    def _secret_changed_off_loopback(self) -> Settings:
        server = self.server
        if (
            server.session_secret == DEFAULT_SESSION_SECRET
            and not server.serves_loopback_http_only()
        ):
            raise ValueError(
                "server.session_secret is the default, which anyone can sign cookies with; it "
                "only serves a plain-http loopback public_origin on a loopback host (here "
                f"host={server.host!r}, public_origin={server.public_origin!r}): " + _SECRET_HOWTO
            )
        return self


def _check_role_sections(roles: Mapping[str, RoleSettings], sections: set[str]) -> None:
    """A role's `sections` and the first part of its `hide` paths must name a connector.

    A misspelt section would otherwise be silently ignored, and the field it meant to hide shown.
    """
    known = ", ".join(sorted(sections)) or "none configured"
    for role_name, role in roles.items():
        for section in role.sections or []:
            if section not in sections:
                raise ValueError(
                    f"role {role_name!r}: sections names {section!r}, which is not a connector "
                    f"(connectors: {known})"
                )
        for path in role.hide:
            section, _, field = path.partition(".")
            if section not in sections or not field.strip("."):
                raise ValueError(
                    f"role {role_name!r}: hide path {path!r} must be `section.field` with the "
                    f"section a connector (connectors: {known})"
                )


def _no_shared_tokens(agents: list[AgentSettings]) -> None:
    """A bearer token names exactly one agent."""
    seen: dict[str, str] = {}
    for agent in agents:
        digest = agent.token_sha256 or hashlib.sha256((agent.token or "").encode()).hexdigest()
        other = seen.setdefault(digest.lower(), agent.id)
        if other != agent.id:
            raise ValueError(f"agents {other!r} and {agent.id!r} have the same token")


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, override from the environment and validate the config at `path`.

    Raises :class:`ConfigError` naming the file and the offending key.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    environ = os.environ if environ is None else environ
    apply_env_overrides(raw, environ)
    raw["base_dir"] = path.resolve().parent
    store = raw.setdefault("store", {})
    if isinstance(store, dict):
        store.setdefault("url", default_store_url(environ))
    return parse_settings(raw, str(path))


def parse_settings(raw: dict[str, Any], origin: str) -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation(exc, origin)) from None


Model = TypeVar("Model", bound=BaseModel)


def validate_options(
    model: type[Model],
    options: Mapping[str, Any],
    where: str,
    context: Mapping[str, Any] | None = None,
) -> Model:
    """Validate a source's or connector's own options; `where` names it (`connectors.credit`).
    `context` reaches the model's validators (a connector's: `keys`, the `[lookup] keys`)."""
    try:
        return model.model_validate(dict(options), context=dict(context or {}))
    except ValidationError as exc:
        raise ConfigError(describe_validation(exc, where)) from None


def describe_validation(exc: ValidationError, origin: str) -> str:
    lines = [f"{origin}: invalid configuration"]
    for err in exc.errors():
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        key = key.removeprefix(".")
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        msg = msg.removeprefix("Value error, ")
        lines.append(f"  {key}: {msg}" if key else f"  {msg}")
    return "\n".join(lines)
