"""A REST back office as a connector (`kind = "http"`): one pooled aiohttp session per connector.

Config (every key besides the common ones of `[[connectors]]`)::

    [[connectors]]
    name = "credit"
    kind = "http"
    url = "https://credit.example.com/v1/customers/{e164}"   # {e164} {national} {digits}
    method = "GET"                                           #   {national_digits}, URL-quoted;
                                                             #   `[lookup] keys` too ({account}:
                                                             #   empty when the call has none)
    headers = { Authorization = "Bearer ${CREDIT_TOKEN}" }   # ${VAR}: from the environment
    params = { phone = "{national_digits}", key = "${CREDIT_KEY}" }   # the query string
    root = "data"                  # optional dotted path to the record(s) in the JSON
    map = { name = "customer.name", first_sku = "items.0.sku", orders = "orders" }
    not_found_statuses = [404]
    max_body_bytes = 1_000_000
    verify_tls = true
    ca_file = "certs/back-office-ca.pem"   # relative to the config file
    pool_size = 10                 # connections kept to the back office
    timeout_ms = 800               # optional: see below
    check_url = "https://credit.example.com/health"   # for `screenpop check`; default: HEAD /
    # optional: write-back of notes and call ends (see connectors/http_record.py)
    record_url = "https://credit.example.com/v1/activities"
    record_timeout_s = 5.0         # one write-back POST; its own, not the lookup's deadline
    # optional: agents can search this back office (GET /api/search?q=)
    search_url = "https://credit.example.com/v1/customers?search={q}"   # {q}: URL-quoted
    search_map = { items = "results", customer_id = "id", name = "full_name", numbers = "phones" }

`${VAR}` is read from the environment once, at start; a missing variable is a ConfigError naming
it. The JSON answer (an object, or a list of objects: several matches) becomes the section; with
`map`, each output field is the value at its dotted path (list items by index; a path that is
absent is left out). No answer (a `not_found_statuses` status, 204, `null`, `{}`, `[]`) is
`not_found`. Anything else fails with a ConnectorError whose message is safe to show an agent:
it names the connector and the kind of failure, never the URL, a header or a number.

Search (optional): `search_url` is fetched with GET, `{q}` replaced by what the agent typed
(URL-quoted; `${VAR}`s and `headers` as above). `search_map` says where the answer's list of
customers is (`items`, a dotted path; default: the answer itself is the list) and the dotted path,
in each item, of `customer_id`, `name` and `numbers` (a list of numbers, or one); by default the
fields of those names. A `not_found_statuses` status means nobody matched.

Time: by default the request runs until the daemon stops waiting for it (the connector's
`late_ms`: a late answer still fills the card after it popped at `deadline_ms`) and is cancelled
then. `timeout_ms` caps it sooner; a request that runs out of time raises TimeoutError, which the
fan-out reports as `timeout`.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from connectors.http_answers import decode, describe_failure, read_body
from connectors.http_create import post_create
from connectors.http_record import MAX_RECORD_TIMEOUT_S, RECORD_TIMEOUT_S, post_record
from connectors.http_templates import (
    FIELDS,
    Template,
    check_fields,
    check_http_url,
    substitute_env,
    used_fields,
)
from connectors.json_shape import SEARCH_MAP_KEYS, shape, shape_search
from screenpop.callerid import mask
from screenpop.connectors.contract import (
    ConnectorContext,
    CreateQuery,
    LookupQuery,
    LookupResult,
    RecordItem,
    create_field_names,
    lookup_keys,
)
from screenpop.errors import ConfigError, ConnectorError

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 5.0


class HttpSettings(BaseModel):
    """The options of a `kind = "http"` connector (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    root: str | None = None
    map: dict[str, str] = {}
    not_found_statuses: list[int] = [404]
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    verify_tls: bool = True
    ca_file: str | None = None
    pool_size: int = Field(default=10, gt=0)
    timeout_ms: int | None = Field(default=None, gt=0)
    check_url: str | None = None
    follow_redirects: bool = False
    search_url: str | None = None
    search_map: dict[str, str] = {}
    create_url: str | None = None

    @field_validator("create_url")
    @classmethod
    def _create_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        check_http_url(value)
        check_fields(value)
        if not create_field_names(info):
            raise ValueError("declare the fields agents fill in: create_fields = [{ name = ... }]")
        return value

    record_url: str | None = None  # write-back: see connectors/http_record.py
    record_timeout_s: float = Field(default=RECORD_TIMEOUT_S, gt=0, le=MAX_RECORD_TIMEOUT_S)

    @field_validator("record_url")
    @classmethod
    def _record_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_http_url(value)
        return value

    @field_validator("search_url")
    @classmethod
    def _search_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        check_http_url(value)
        unknown = sorted(used_fields(value) - {"q"})
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}} (known: {{q}})")
        return value

    @field_validator("search_map")
    @classmethod
    def _search_map(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(SEARCH_MAP_KEYS))
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(SEARCH_MAP_KEYS)})")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        check_http_url(value)
        check_fields(value, lookup_keys(info))
        return value

    @field_validator("params")
    @classmethod
    def _params(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for text in value.values():
            check_fields(text, lookup_keys(info))
        return value

    @field_validator("check_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_http_url(value)
        return value


# -- the connector --------------------------------------------------------------------------------


class HttpConnector:
    """A REST back office. See the module docstring for the options and what a lookup returns."""

    Settings: ClassVar[type[BaseModel]] = HttpSettings

    def __init__(self, name: str, settings: HttpSettings, context: ConnectorContext) -> None:
        self.name = name
        self.settings = settings
        self._base_dir = context.base_dir
        self._session: aiohttp.ClientSession | None = None
        self._url: Template | None = None
        self._params: dict[str, Template] = {}
        self._headers: dict[str, str] = {}
        self._check_url = ""
        used = used_fields(settings.url, *settings.params.values())
        self.uses_keys = frozenset(k for k in context.keys if k in used)  # `[lookup] keys` used
        self._search_url: Template | None = None
        self._create_url: Template | None = None

    @property
    def searches(self) -> bool:
        """True when `search_url` is configured."""
        return self.settings.search_url is not None

    @property
    def creates(self) -> bool:
        """True when `create_url` is configured."""
        return self.settings.create_url is not None

    async def create(self, fields: Mapping[str, Any], query: CreateQuery) -> dict[str, Any] | None:
        """POST the new customer to `create_url` (see connectors.http_create)."""
        session, _ = self._started()
        if self._create_url is None:
            raise ConnectorError(f"{self.name} does not create customers")
        url = self._create_url.render(query.number.params(), url_quote=True)
        cfg = self.settings
        timeout = aiohttp.ClientTimeout(total=cfg.timeout_ms / 1000 if cfg.timeout_ms else None)
        return await post_create(
            session,
            url,
            fields,
            query,
            self.name,
            time_limit=timeout,
            max_body_bytes=cfg.max_body_bytes,
        )

    @property
    def records(self) -> bool:
        """True when `record_url` is configured (write-back)."""
        return self.settings.record_url is not None

    async def record(self, item: RecordItem, *, dry_run: bool = False) -> None:
        """POST the item to `record_url` (see connectors/http_record.py)."""
        session, _ = self._started()
        if self.settings.record_url is None:
            return
        url = substitute_env(self.settings.record_url, os.environ, self._where)
        timeout_s = self.settings.record_timeout_s
        await post_record(session, url, item, self.name, dry_run=dry_run, timeout_s=timeout_s)

    @property
    def _where(self) -> str:
        return f"connectors.{self.name}"

    async def start(self) -> None:
        """Resolve `${VAR}`s (ConfigError if one is unset) and open the pooled session."""
        cfg, environ = self.settings, os.environ
        self._url = Template(cfg.url, environ, self._where)
        self._params = {k: Template(v, environ, self._where) for k, v in cfg.params.items()}
        self._headers = {"Accept": "application/json"}
        self._headers.update(
            {k: substitute_env(v, environ, self._where) for k, v in cfg.headers.items()}
        )
        if cfg.check_url is not None:
            self._check_url = substitute_env(cfg.check_url, environ, self._where)
        else:
            parts = urlsplit(self._url.render(dict.fromkeys(FIELDS, "0"), url_quote=True))
            self._check_url = f"{parts.scheme}://{parts.netloc}/"
        if cfg.search_url is not None:
            self._search_url = Template(cfg.search_url, environ, self._where)
        if cfg.create_url is not None:
            self._create_url = Template(cfg.create_url, environ, self._where)
        connector = aiohttp.TCPConnector(limit=cfg.pool_size, ssl=self._ssl())
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            headers=self._headers,
        )

    def _ssl(self) -> ssl.SSLContext | bool:
        if not self.settings.verify_tls:
            return False
        if self.settings.ca_file is None:
            return True
        path = Path(self.settings.ca_file)
        path = path if path.is_absolute() else self._base_dir / path
        try:
            return ssl.create_default_context(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"{self._where}: ca_file {path}: {exc}") from None

    async def aclose(self) -> None:
        """Close the session and every pooled connection."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def lookup(self, query: LookupQuery) -> LookupResult:
        """One request for the number; the shaped JSON, None when not found."""
        _, url = self._started()
        values = {**dict.fromkeys(self.uses_keys, ""), **query.params()}  # no key value: empty
        params = {k: t.render(values, url_quote=False) for k, t in self._params.items()}
        cfg = self.settings
        log.debug("connector %s: %s for %s", self.name, cfg.method, mask(query.e164))
        body = await self._fetch(cfg.method, url.render(values, url_quote=True), params, "lookup")
        if body is None:
            return None
        return shape(decode(body, self.name), cfg.root, cfg.map, self.name)

    async def search(self, q: str) -> list[dict[str, Any]]:
        """GET `search_url` for what the agent typed: the customers found (maybe [])."""
        self._started()
        if self._search_url is None:
            return []
        url = self._search_url.render({"q": q}, url_quote=True)
        body = await self._fetch("GET", url, {}, "search")
        if body is None:
            return []
        return shape_search(decode(body, self.name), self.settings.search_map, self.name)

    async def _fetch(
        self, method: str, url: str, params: Mapping[str, str], what: str
    ) -> bytes | None:
        """The body of a 2xx answer; None for "nobody" (a not-found status, 204). TimeoutError
        when `timeout_ms` runs out; ConnectorError, safe to show, for anything else."""
        session, _ = self._started()
        cfg = self.settings
        timeout = aiohttp.ClientTimeout(total=cfg.timeout_ms / 1000 if cfg.timeout_ms else None)
        try:
            async with session.request(
                method,
                url,
                params=params or None,
                timeout=timeout,
                allow_redirects=cfg.follow_redirects,
            ) as response:
                if response.status in cfg.not_found_statuses or response.status == 204:
                    return None
                if not 200 <= response.status < 300:
                    raise ConnectorError(f"HTTP {response.status} from {self.name}")
                return await read_body(response, cfg.max_body_bytes, self.name)
        except TimeoutError:
            raise
        except aiohttp.ClientError as exc:
            log.debug("connector %s: %s: %s", self.name, what, type(exc).__name__)
            raise ConnectorError(describe_failure(exc, self.name)) from None

    def _started(self) -> tuple[aiohttp.ClientSession, Template]:
        if self._session is None or self._url is None:
            raise ConnectorError(f"{self.name} is not started")
        return self._session, self._url

    async def check(self) -> None:
        """Reach the back office: GET `check_url` (2xx/3xx), or HEAD on the URL's root (any
        answer but 401, 403 or 5xx). Raises ConnectorError otherwise."""
        session, _ = self._started()
        explicit = self.settings.check_url is not None
        timeout_s = (self.settings.timeout_ms or 0) / 1000 or CHECK_TIMEOUT_S
        try:
            async with session.request(
                "GET" if explicit else "HEAD",
                self._check_url,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                allow_redirects=self.settings.follow_redirects,
            ) as response:
                status = response.status
        except TimeoutError:
            raise ConnectorError(f"{self.name} did not answer within {timeout_s:g} s") from None
        except aiohttp.ClientError as exc:
            raise ConnectorError(describe_failure(exc, self.name)) from None
        failed = status >= 400 if explicit else status in (401, 403) or status >= 500
        if failed:
            raise ConnectorError(f"HTTP {status} from {self.name}")
