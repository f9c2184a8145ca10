"""The loyalty connector: a customer's loyalty tier, looked up by phone number in a file.

Configured as::

    [[connectors]]
    name = "loyalty"
    kind = "example"                  # the entry point this package registers
    file = "loyalty.csv"              # relative to the config file's folder
    default_region = "US"             # how national numbers in the file are read

The file is either CSV with a header row (a ``number`` column plus any others) or a JSON object
``{"<number>": {"tier": "gold", ...}}``. Numbers in the file may be written any way people write
them; they are normalized once, when the file is read. The file is re-read when it changes
(checked at most every ``recheck_s``), so ops can update it without a reload.

It also searches (the optional part of the contract): ``search(q)`` returns the customers whose
``name`` or ``customer_id`` contains ``q`` (case-insensitive), or whose number is ``q``, as
``{"customer_id", "name", "numbers"}``; rows without a ``customer_id`` are never found by search.

It also records (write-back, optional too): with ``record_file = "activities.jsonl"``, every
saved note and call end is appended to that file as one JSON line, once per ``record_id`` (an
item sent again is not appended twice); a dry run only proves the folder is writable.

And it creates (optional as well): with ``create_fields`` declared (say ``[{ name = "name",
label = "Name" }]``), an unknown caller's card offers to add them to the file: a CSV row (the
file needs a ``customer_id`` column; values of columns it lacks are dropped) or a JSON entry,
with the customer id ``L-<call id>``; the next lookup of the number finds them. A second create
for a number already in the file returns the customer already there.

It shows each part of the connector contract: its own pydantic settings with unknown keys
forbidden, a cheap constructor, blocking work (file reads) kept off the event loop, one error type
(:class:`~screenpop.errors.ConnectorError`) with messages safe to show an agent, and a ``check``
that proves the source is usable.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from screenpop.callerid import normalize
from screenpop.connector import (
    ConnectorContext,
    CreateQuery,
    LookupQuery,
    LookupResult,
    RecordItem,
    RecordRejected,
)
from screenpop.errors import ConnectorError

Table = dict[str, dict[str, Any]]


class LoyaltySettings(BaseModel):
    """The options of a `kind = "example"` connector."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Path
    number_column: str = "number"  # CSV only: the column holding the phone number
    default_region: str = Field(default="US", min_length=2, max_length=2)
    recheck_s: float = Field(default=5.0, ge=0)  # how often to look whether the file changed
    record_file: Path | None = None  # write-back: JSON lines, relative to the config's folder


@dataclass(frozen=True, slots=True)
class _Snapshot:
    stamp: tuple[int, int]  # (mtime_ns, size) of the file this table was read from
    table: Table


class LoyaltyConnector:
    """Loyalty tiers by caller number, from a CSV or JSON file."""

    Settings: ClassVar[type[BaseModel]] = LoyaltySettings

    def __init__(self, name: str, settings: LoyaltySettings, context: ConnectorContext) -> None:
        self.creates = bool(context.create_fields)  # only with `create_fields` declared
        self.name = name
        self.settings = settings
        self.path = context.base_dir / settings.file  # an absolute `file` stays as it is
        self._snapshot: _Snapshot | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()
        self.records = settings.record_file is not None  # False: it does not record
        self._record_path = context.base_dir / (settings.record_file or "")

    async def start(self) -> None:
        """Nothing to open: the file is read on first use, so a missing file never stops the
        daemon (``check`` and lookups report it instead)."""
        return None

    async def aclose(self) -> None:
        self._snapshot = None

    async def check(self) -> None:
        """Read the file now; raise ConnectorError if it is missing or malformed."""
        async with self._lock:
            self._snapshot = await asyncio.to_thread(self._read, None)
            self._checked_at = time.monotonic()

    async def lookup(self, query: LookupQuery) -> LookupResult:
        table = await self._table()
        record = table.get(query.e164)
        return dict(record) if record is not None else None

    async def search(self, q: str) -> list[dict[str, Any]]:
        """The customers whose name or customer id contains `q`, or whose number is `q`."""
        table = await self._table()
        needle = q.casefold()
        number = normalize(q, self.settings.default_region)
        e164 = number.e164 if number.lookupable else None
        found: dict[str, dict[str, Any]] = {}
        for phone, record in table.items():
            cid = str(record.get("customer_id") or "")
            name = str(record.get("name") or "")
            if not cid:
                continue
            if phone == e164 or needle in cid.casefold() or needle in name.casefold():
                entry = found.setdefault(cid, {"customer_id": cid, "name": name, "numbers": []})
                entry["numbers"].append(phone)
        return list(found.values())

    async def record(self, item: RecordItem, *, dry_run: bool = False) -> None:
        """Append the item to `record_file` once per record_id (a dry run writes nothing)."""
        if not self.records:
            return
        if item.kind not in ("note", "call_end"):
            raise RecordRejected(f"{self.name} does not record {item.kind!r} items")
        async with self._lock:
            await asyncio.to_thread(self._append, item, dry_run)

    def _append(self, item: RecordItem, dry_run: bool) -> None:
        path = self._record_path
        try:
            if dry_run:
                if not os.access(path.parent, os.W_OK):
                    raise ConnectorError(f"{self.name}: {path.name} cannot be written")
                return
            seen = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            if any(json.loads(line).get("record_id") == item.record_id for line in seen):
                return  # applied already
            with path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(item.params()) + "\n")
        except OSError as exc:
            raise ConnectorError(f"{self.name}: {path.name} cannot be written") from exc

    async def create(self, fields: Mapping[str, Any], query: CreateQuery) -> dict[str, Any]:
        """Add the caller to the file (see the module docstring); their customer id."""
        e164 = query.number.e164
        if e164 is None:
            raise ConnectorError(f"{self.name}: this caller has no number to file")
        record = {**fields, "customer_id": f"L-{query.call_id}"}
        async with self._lock:
            created = await asyncio.to_thread(self._add, e164, record)
            self._snapshot = None  # the next lookup reads the file again
        return {"customer_id": created}

    def _add(self, e164: str, record: dict[str, Any]) -> str:
        """Write `record` under `e164` unless the number is there; the customer id kept."""
        snapshot = self._read(self._snapshot)
        existing = snapshot.table.get(e164)
        if existing is not None and existing.get("customer_id"):
            return str(existing["customer_id"])
        try:
            if self.path.suffix.lower() == ".json":
                doc = json.loads(self.path.read_text(encoding="utf-8"))
                doc[e164] = record
                scratch = self.path.with_name(f".{self.path.name}.new")
                scratch.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
                os.replace(scratch, self.path)
            else:
                self._append_csv(e164, record)
        except OSError as exc:
            raise ConnectorError(f"{self.name}: {self.path.name} cannot be written") from exc
        return str(record["customer_id"])

    def _append_csv(self, e164: str, record: dict[str, Any]) -> None:
        with self.path.open(encoding="utf-8", newline="") as existing:
            columns = next(csv.reader(existing), [])
        if "customer_id" not in columns:
            raise ConnectorError(f"{self.name}: {self.path.name} has no customer_id column")
        row = {**record, self.settings.number_column: e164}
        ends_a_line = self.path.read_bytes().endswith(b"\n")
        with self.path.open("a", encoding="utf-8", newline="") as out:
            if not ends_a_line:
                out.write("\r\n")
            csv.DictWriter(out, fieldnames=columns, extrasaction="ignore").writerow(row)

    async def _table(self) -> Table:
        async with self._lock:
            now = time.monotonic()
            if self._snapshot is None or now - self._checked_at >= self.settings.recheck_s:
                self._snapshot = await asyncio.to_thread(self._read, self._snapshot)
                self._checked_at = now
            return self._snapshot.table

    # -- blocking part, run in a worker thread ----------------------------------------------

    def _read(self, previous: _Snapshot | None) -> _Snapshot:
        try:
            stat = os.stat(self.path)
            stamp = (stat.st_mtime_ns, stat.st_size)
            if previous is not None and previous.stamp == stamp:
                return previous
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConnectorError(f"loyalty file {self.path.name} cannot be read") from exc
        return _Snapshot(stamp, self._parse(text))

    def _parse(self, text: str) -> Table:
        is_json = self.path.suffix.lower() == ".json"
        rows = self._rows_json(text) if is_json else self._rows_csv(text)
        table: Table = {}
        for number, record in rows:
            caller = normalize(number, self.settings.default_region)
            if caller.lookupable and caller.e164 is not None:
                table[caller.e164] = record
        return table

    def _rows_json(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise ConnectorError(f"loyalty file {self.path.name} is not valid JSON") from exc
        if not isinstance(doc, Mapping) or not all(isinstance(v, Mapping) for v in doc.values()):
            raise ConnectorError(f"loyalty file {self.path.name}: expected {{number: record}}")
        return [(str(number), dict(record)) for number, record in doc.items()]

    def _rows_csv(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        reader = csv.DictReader(io.StringIO(text))
        column = self.settings.number_column
        if reader.fieldnames is None or column not in reader.fieldnames:
            raise ConnectorError(f"loyalty file {self.path.name} has no {column!r} column")
        rows = []
        for row in reader:
            record = {k: v for k, v in row.items() if k != column and k is not None}
            rows.append((row[column] or "", record))
        return rows
