"""The one-shot CLI commands: `check` and `lookup`.

`check` prints one row per thing the daemon depends on: the store, the cache, every connector
(with a test lookup of `--number`, flagged `slow` when it answers after its deadline) and every
telephony source (AMI/ESL: connected and logged in; webhooks: listening); with `[cluster]`, the
cluster's Redis, the nodes alive and which node holds each PBX link. A connection error
names the host and port it was trying. Any row not `ok` makes the exit status 1.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from typing import TextIO
from urllib.parse import urlsplit

from screenpop.cache import open_cache
from screenpop.callerid import normalize
from screenpop.cluster.probe import probe as probe_cluster
from screenpop.connectors.contract import RECORD_LIMIT_S, LookupQuery, RecordItem, can_record
from screenpop.connectors.registry import build_connector
from screenpop.connectors.runtime import ConnectorRuntime
from screenpop.errors import ScreenpopError
from screenpop.lookup import call_connector
from screenpop.settings import ConnectorSettings, Settings, SourceSettings
from screenpop.store import Store
from screenpop.telephony.base import SourceContext, find_source_kind


def print_table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        out.write("\n")


async def check(settings: Settings, number: str | None) -> int:
    """Check every connector (and a test lookup of `number`) and every telephony source."""
    rows = [["WHAT", "NAME", "STATUS", "MS", "DETAIL"]]
    failed = False
    query = None
    if number is not None:
        caller = normalize(number, settings.phone.default_region)
        query = caller.query()
        if query is None:
            print(f"screenpop: {number!r} is not a number that can be looked up", file=sys.stderr)
            return 2
    for probe in (_check_store, _check_cache, _check_cluster):
        row, ok = await probe(settings)
        if row:
            rows.append(row)
        failed |= not ok
    for connector in settings.connectors:
        row, ok = await _check_connector(settings, connector, query)
        rows.append(row)
        failed |= not ok
    for source in settings.telephony:
        row, ok = await _check_source(settings, source)
        rows.append(row)
        failed |= not ok
    print_table(rows, sys.stdout)
    print("FAILED" if failed else "all checks passed")
    return 1 if failed else 0


async def _check_connector(
    settings: Settings, entry: ConnectorSettings, query: LookupQuery | None
) -> tuple[list[str], bool]:
    name = entry.name
    start = time.perf_counter()
    try:
        connector = build_connector(entry, settings.base_dir, tuple(settings.lookup.keys))
        await connector.start()
        try:
            async with asyncio.timeout(max(entry.deadline_ms, 2000) / 1000):
                await connector.check()
            dry_run = await _dry_run_record(connector)
            detail = "connection ok" + dry_run
            if query is not None:
                attempt = await call_connector(ConnectorRuntime(connector, entry), query)
                section = attempt.section
                detail = f"lookup: {section.status}" + (
                    f" ({section.error})" if section.error else ""
                )
                detail += dry_run  # the write-back's dry run is said with a lookup too
                if section.status in ("error", "timeout"):
                    raise ScreenpopError(detail)
                if section.ms > entry.deadline_ms:
                    detail += (
                        f", after {section.ms:.0f} ms: over its {entry.deadline_ms} ms deadline"
                    )
                    return ["connector", name, "slow", f"{section.ms:.1f}", detail], False
        finally:
            await connector.aclose()
    except (ScreenpopError, TimeoutError, OSError) as exc:
        ms = f"{(time.perf_counter() - start) * 1000:.1f}"
        return ["connector", name, "FAIL", ms, str(exc) or type(exc).__name__], False
    ms = f"{(time.perf_counter() - start) * 1000:.1f}"
    return ["connector", name, "ok", ms, detail], True


DRY_RUN_ITEM = RecordItem(
    record_id="screenpop-check-dry-run",
    kind="note",
    call_id="screenpop-check",
    agent="screenpop-check",
    disposition="check",
    text="screenpop check: a write-back dry run, not kept",
)


async def _dry_run_record(connector: object) -> str:
    """A recording connector's write-back tried without keeping it (SQL: rolled back; HTTP:
    `X-Screenpop-Dry-Run: 1`): the detail to add, or a ScreenpopError."""
    if not can_record(connector):
        return ""
    async with asyncio.timeout(RECORD_LIMIT_S):  # a write-back's own time, not the deadline
        await connector.record(DRY_RUN_ITEM, dry_run=True)
    return ", write-back dry run ok"


async def _check_store(settings: Settings) -> tuple[list[str], bool]:
    """One round trip to the call log's database (its tables are created if missing)."""
    from screenpop.paths import resolve_url

    start = time.perf_counter()
    store = Store(resolve_url(settings.store.url, settings.base_dir))
    try:
        await store.start()
        try:
            await store.ping()
        finally:
            await store.aclose()
    except (ScreenpopError, OSError) as exc:
        return ["store", _where(settings.store.url), "FAIL", _ms(start), str(exc)], False
    return ["store", _where(settings.store.url), "ok", _ms(start), "reachable"], True


async def _check_cluster(settings: Settings) -> tuple[list[str], bool]:
    """With `[cluster] url`: Redis, the nodes alive and who holds each PBX link; else no row."""
    if not settings.cluster.enabled:
        return [], True
    start = time.perf_counter()
    ok, where, detail = await probe_cluster(settings)
    return ["cluster", where, "ok" if ok else "FAIL", _ms(start), detail], ok


async def _check_cache(settings: Settings) -> tuple[list[str], bool]:
    cfg = settings.cache
    start = time.perf_counter()
    try:
        cache = open_cache(cfg.url, cfg.key_prefix, max(cfg.timeout_ms, 1000) / 1000)
        try:
            await cache.ping()
        finally:
            await cache.aclose()
    except (ScreenpopError, OSError) as exc:
        return ["cache", _where(cfg.url), "FAIL", _ms(start), str(exc)], False
    return ["cache", _where(cfg.url), "ok", _ms(start), "reachable"], True


def _where(url: str) -> str:
    """scheme://host:port of a URL (a file's name for SQLite), never its credentials."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if not parts.hostname:
        return f"{scheme}:{parts.path.rsplit('/', 1)[-1]}"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: the connection error will say so
        port = ""
    return f"{scheme}://{parts.hostname}{port}"


def _ms(start: float) -> str:
    return f"{(time.perf_counter() - start) * 1000:.1f}"


def _address(entry: SourceSettings) -> str | None:
    """host:port of a source that connects out (AMI, ESL); None for webhooks and the simulator."""
    options = entry.options()
    host, port = options.get("host"), options.get("port")
    return f"{host}:{port}" if host and port else None


async def _check_source(settings: Settings, entry: SourceSettings) -> tuple[list[str], bool]:
    name = entry.name
    start = time.perf_counter()
    context = SourceContext(settings.base_dir, settings.phone.default_region, lambda: [])
    try:
        factory = find_source_kind(entry.kind, f"telephony.{name}")
        source = factory(name, entry.options(), context)
        async with asyncio.timeout(10):
            status = await source.check()
    except (ScreenpopError, TimeoutError, OSError) as exc:
        detail = _at(entry, str(exc) or type(exc).__name__)
        return [f"telephony:{entry.kind}", name, "FAIL", _ms(start), detail], False
    if entry.kind == "webhook":
        state = status.detail  # "listening on POST /webhooks/<name>": nothing to log in to
    else:
        state = "connected, logged in" if status.logged_in else _at(entry, status.detail)
    ok = status.logged_in
    return [f"telephony:{entry.kind}", name, "ok" if ok else "FAIL", _ms(start), state], ok


def _at(entry: SourceSettings, detail: str) -> str:
    """`detail` with the host:port the source was trying, unless it names it already."""
    address = _address(entry)
    return f"{address}: {detail}" if address and address not in detail else detail


async def lookup(settings: Settings, number: str, role: str | None) -> int:
    """Print the card for `number` as JSON; per-connector timings on stderr."""
    from screenpop.daemon import Daemon

    caller = normalize(number, settings.phone.default_region)
    if not caller.lookupable:
        print(f"screenpop: {number!r} is {caller.kind}: nothing to look up", file=sys.stderr)
        return 2
    if role is not None and role not in settings.roles:
        print(f"screenpop: unknown role {role!r}", file=sys.stderr)
        return 2
    async with Daemon(settings) as daemon:
        start = time.perf_counter()
        card = await daemon.actions.build_card(caller, call_id="")
        total = (time.perf_counter() - start) * 1000
    out = card.to_json(settings.roles[role] if role else None, settings.sections)
    print(json.dumps(out, indent=2, ensure_ascii=False))
    rows = [["CONNECTOR", "STATUS", "MS", "CACHED"]]
    for name, section in card.sections.items():
        rows.append([name, str(section.status), f"{section.ms:.1f}", str(section.cached).lower()])
    rows.append(["(total)", "", f"{total:.1f}", ""])
    print_table(rows, sys.stderr)
    return 0
