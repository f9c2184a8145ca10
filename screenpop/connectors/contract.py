"""The connector contract and the registry that finds connector kinds.

A connector answers one question: what does this back-office system know about this phone
number? Built-in and third-party connectors alike register a class under the entry-point group
``screenpop.connectors``; the config names the entry point with ``kind``.

The contract, for connector authors:

* ``Settings``: a pydantic model of the connector's own options (everything in its
  ``[[connectors]]`` table besides the common keys ``name``, ``kind``, ``deadline_ms``,
  ``late_ms``, ``priority``, ``ttl_s``, ``negative_ttl_s``). Unknown keys should be forbidden.
* ``__init__(name, settings, context)``: cheap; open nothing yet.
* ``async start()``: open pools and sessions. ``async aclose()``: close them; called once.
* ``async lookup(query) -> Record | list[Record] | None``: ``None`` when nobody has the number,
  one mapping for one match, a list for several. Raise :class:`ConnectorError` with a message safe
  to show an agent for anything else; any other exception is reported as an internal error.
  ``lookup`` is cancelled at its deadline and must not swallow ``CancelledError``.
* ``async check()``: prove the connection works (raise :class:`ConnectorError` if not).
* Optional, ``async search(q) -> Sequence[Record]``: the customers matching a name, a customer
  id or a number (``q``, 2 to 100 characters); each record has at least ``customer_id`` and
  ``name``, and may have ``numbers`` (a list of phone numbers). ``[]`` when nobody matches. A
  connector without the method does not search; one whose ``searches`` attribute is False (a
  built-in connector configured without a search) does not either. Cancelled at its deadline.
* Optional, ``async create(fields, query) -> Record | None``: create a customer for an unknown
  caller. ``fields`` holds the values of the connector's declared ``create_fields`` (checked:
  required ones present, types right; an optional field left empty is ``""``); ``query`` is a
  :class:`CreateQuery` (the number, the agent, the call id). Return the new customer (at least
  ``customer_id``) when the back office says, else None; raise :class:`ConnectorError` with a
  message safe to show when it refuses. After it, the connector's ``lookup`` for the number
  must find the customer. A ``creates`` attribute False means it does not create. Cancelled at
  its deadline.
* Optional, ``async record(item, *, dry_run=False)``: write a saved note or a call's end (a
  :class:`RecordItem`) back to the back office, once per ``item.record_id`` (the same item may
  come again). Raise :class:`RecordRejected` when the back office refuses it for good, a
  :class:`ConnectorError` when it should be tried again later; with ``dry_run`` validate and
  keep nothing. Not under the lookup deadline: cancelled after :data:`RECORD_LIMIT_S` and
  tried again. A ``records`` attribute False means it does not record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeAlias, TypeGuard, runtime_checkable

from pydantic import BaseModel, ValidationInfo

from screenpop.errors import ConfigError, ScreenpopError

ENTRY_POINT_GROUP = "screenpop.connectors"
RECORD_LIMIT_S = 60.0  # the longest one record() may run; it is tried again later after that

Record: TypeAlias = Mapping[str, Any]
LookupResult: TypeAlias = Record | Sequence[Record] | None
SearchResult: TypeAlias = Sequence[Record]


@dataclass(frozen=True, slots=True)
class LookupQuery:
    """What a connector receives: the caller's number in the forms back offices store, and the
    lookup keys (`[lookup] keys`) from the call's variables: every configured key, "" when this
    call has no value for it (SQL binds it as NULL, HTTP fills in nothing)."""

    e164: str  # +12125551234
    national: str  # (212) 555-1234
    digits: str  # 12125551234 (e164 without the plus)
    national_digits: str  # 2125551234
    region: str | None = None
    keys: Mapping[str, str] = field(default_factory=dict)  # {"account": "12345"}

    def params(self) -> dict[str, str]:
        """The bind parameters and URL placeholders every connector understands."""
        return {
            **self.keys,
            "e164": self.e164,
            "national": self.national,
            "digits": self.digits,
            "national_digits": self.national_digits,
        }

    @property
    def key_values(self) -> dict[str, str]:
        """The lookup keys this call has a value for."""
        return {key: value for key, value in self.keys.items() if value}


@dataclass(frozen=True, slots=True)
class CreateQuery:
    """Who a customer is created for: the caller's number, and the agent and call asking."""

    number: LookupQuery
    agent: str
    call_id: str

    def params(self) -> dict[str, str]:
        """The number's parameters (see LookupQuery.params) with `agent` and `call_id`."""
        return {**self.number.params(), "agent": self.agent, "call_id": self.call_id}


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What the daemon hands every connector: where relative paths resolve from."""

    base_dir: Path = field(default_factory=Path.cwd)
    # The connector's hard limit (its `late_ms`): past it the lookup is cancelled. A connector may
    # pass it to its back office (a statement timeout) so slow work stops server-side too. The
    # softer `deadline_ms` only decides when the card pops without it.
    deadline_ms: int | None = None
    # The names of the `[lookup] keys`: parameters a connector's query may use besides the number.
    keys: tuple[str, ...] = ()
    # The names of the connector's `create_fields`: parameters its create statement may use.
    create_fields: tuple[str, ...] = ()


class Connector(Protocol):
    """A back-office data source. See the module docstring for the full contract."""

    Settings: ClassVar[type[BaseModel]]
    name: str

    async def start(self) -> None: ...

    async def lookup(self, query: LookupQuery) -> LookupResult: ...

    async def check(self) -> None: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Searcher(Protocol):
    """A connector that can look customers up by name, customer id or number."""

    async def search(self, q: str) -> SearchResult: ...


def can_search(connector: object) -> TypeGuard[Searcher]:
    """Whether `connector` searches: it has `search()` and does not say `searches = False`."""
    return isinstance(connector, Searcher) and getattr(connector, "searches", True) is not False


@runtime_checkable
class Creator(Protocol):
    """A connector that can create a customer for an unknown caller."""

    async def create(self, fields: Mapping[str, Any], query: CreateQuery) -> Record | None: ...


def can_create(connector: object) -> TypeGuard[Creator]:
    """Whether `connector` creates: it has `create()` and does not say `creates = False`."""
    return isinstance(connector, Creator) and getattr(connector, "creates", True) is not False


def create_field_names(info: ValidationInfo) -> tuple[str, ...]:
    """In a connector's settings validator: the names of its `create_fields` (the daemon
    validates connector options with them as the context's `create_fields`)."""
    context = info.context if isinstance(info.context, Mapping) else {}
    names = context.get("create_fields", ())
    return tuple(n for n in names if isinstance(n, str))


RECORD_KINDS = ("note", "call_end")


@dataclass(frozen=True, slots=True)
class RecordItem:
    """One write-back to a back office: a saved note (`kind` "note", `record_id` the note id)
    or a call's end (`kind` "call_end", `record_id` "<call_id>:end"). Times are ISO 8601 UTC."""

    record_id: str
    kind: str
    call_id: str
    e164: str | None = None
    customer_id: str | None = None
    agent: str | None = None
    disposition: str | None = None
    text: str | None = None
    at: str | None = None
    direction: str | None = None
    queue: str | None = None
    talk_s: float | None = None

    def params(self) -> dict[str, Any]:
        """The item as SQL bind parameters and the HTTP JSON body (every field, None as null)."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}


RECORD_FIELDS = tuple(RecordItem.__dataclass_fields__)


class RecordRejected(ScreenpopError):
    """The back office refused a write-back for good (a 4xx, a constraint): not tried again.
    The message is shown to agents: it must not leak secrets or internals."""


@runtime_checkable
class Recorder(Protocol):
    """A connector that writes notes and call ends back to its back office."""

    async def record(self, item: RecordItem, *, dry_run: bool = False) -> None: ...


def can_record(connector: object) -> TypeGuard[Recorder]:
    """Whether `connector` records: it has `record()` and does not say `records = False`."""
    return isinstance(connector, Recorder) and getattr(connector, "records", True) is not False


class ConnectorFactory(Protocol):
    Settings: type[BaseModel]

    def __call__(self, name: str, settings: Any, context: ConnectorContext) -> Connector: ...


def lookup_keys(info: ValidationInfo) -> tuple[str, ...]:
    """In a connector's settings validator: the `[lookup] keys` names its query may use besides
    the number (the daemon validates connector options with them as the context's `keys`)."""
    context = info.context if isinstance(info.context, Mapping) else {}
    keys = context.get("keys", ())
    return tuple(k for k in keys if isinstance(k, str))


def connector_kinds() -> dict[str, ConnectorFactory]:
    """Every connector kind installed, built-in ones included, by entry-point name."""
    return {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}


def find_kind(kind: str, where: str) -> ConnectorFactory:
    """The connector class registered as `kind`, or a ConfigError that lists the known kinds.

    `kind` may also be an import path, `package.module:ClassName`, for a connector that is not
    packaged with an entry point (a site-local module on the daemon's path, a test fake).
    """
    if ":" in kind:
        return _import_kind(kind, where)
    matches = entry_points(group=ENTRY_POINT_GROUP, name=kind)
    if not matches:
        known = ", ".join(sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)))
        raise ConfigError(f"{where}: unknown connector kind {kind!r} (installed: {known})")
    factory: ConnectorFactory = next(iter(matches)).load()
    return factory


def _import_kind(kind: str, where: str) -> ConnectorFactory:
    module_name, _, attr = kind.partition(":")
    try:
        factory: ConnectorFactory = getattr(import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{where}: connector kind {kind!r} cannot be imported: {exc}") from None
    return factory
