"""`screenpop forget` and `screenpop purge`: a caller's erasure and the retention purge run now,
from the command line (the audit trail is read back with `screenpop report audit`).

`forget NUMBER` removes the caller's rows from every table of the call log
(:data:`~screenpop.store.erasure.ERASED`), the writes about them waiting in the outbox, their
write-backs waiting for the back offices, their cached cards (every connector's section, the
"not found" answers and the customer an agent picked) from a Redis cache, or from the running
daemon's memory cache (asked over HTTP), and, in cluster mode, their pops in the agents' replay
streams; then it records one `forget` audit row that keeps only a keyed digest of the number.
It prints what it removed, per place. With `--dry-run` it counts and removes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp

from screenpop.audit import audit_record, erasure_digest
from screenpop.cache import Cache, forget_cached, open_cache
from screenpop.callerid import normalize
from screenpop.cluster.erasure import erase_from_cluster
from screenpop.cluster.redis import ClusterDown, ClusterRedis
from screenpop.errors import ScreenpopError
from screenpop.paths import outbox_path, resolve_url
from screenpop.retention import Retention
from screenpop.settings import Settings
from screenpop.store import Store
from screenpop.store.erasure import erase_caller
from screenpop.store.outbox import Outbox
from screenpop.store.records import RecordQueue, records_path

PLACE_WIDTH = 44
TOKEN_ENV = "SCREENPOP_TOKEN"  # a supervisor's token, for a daemon holding a memory cache


def add_privacy_commands(sub: Any, config_help: str) -> None:
    """The `forget` and `purge` subcommands."""
    forget = sub.add_parser(
        "forget",
        help="erase one caller everywhere (right to erasure) and say what was removed",
        description="Remove every record of one caller: call-log rows, rings, notes, chosen "
        "customer, callback items, their audit rows, writes waiting in the outbox, "
        "write-backs waiting for the back offices, cached cards (a Redis cache, or the "
        f"running daemon's memory cache: ${TOKEN_ENV} then holds a supervisor's token), pops "
        "kept in the cluster's replay streams. One `forget` audit row is then written with "
        "only an HMAC digest of the number (keyed with [server] session_secret).",
    )
    forget.add_argument("number", help="the caller's number, read like a caller id ([phone])")
    forget.add_argument("--config", help=config_help)
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.add_argument("--dry-run", action="store_true", help="count only, remove nothing")

    purge = sub.add_parser(
        "purge",
        help="run the retention purge once now ([store] / [audit] retention_days)",
        description="Delete the call-log rows older than [store] retention_days and the audit "
        "rows older than [audit] retention_days (0: kept for ever), in batches, as the daemon "
        "does daily; prints the rows deleted per table.",
    )
    purge.add_argument("--config", help=config_help)
    purge.add_argument("--dry-run", action="store_true", help="count only, delete nothing")


def run_privacy_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run `forget` or `purge` (the parsed `args`) with the loaded settings."""
    if args.command == "forget":
        confirm = None if args.yes or args.dry_run else _ask
        return asyncio.run(forget(settings, args.number, confirm, dry_run=args.dry_run))
    return asyncio.run(purge(settings, dry_run=args.dry_run))


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        print("screenpop: not a terminal to confirm on: pass --yes", file=sys.stderr)
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


@dataclass(frozen=True, slots=True)
class Removed:
    """What one place held of the caller."""

    place: str
    rows: int


async def forget(
    settings: Settings,
    number: str,
    confirm: Callable[[str], bool] | None,
    *,
    dry_run: bool = False,
    out: TextIO | None = None,
) -> int:
    """Erase the caller `number` everywhere; 0 done, 1 a place failed, 2 not a number or not
    confirmed. `confirm` (None: do not ask) is asked before anything is removed."""
    out = out or sys.stdout
    caller = normalize(number, settings.phone.default_region)
    if not caller.lookupable or caller.e164 is None:
        print(f"screenpop: {number!r} is not a phone number ({caller.kind})", file=sys.stderr)
        return 2
    e164 = caller.e164
    if confirm is not None and not confirm(f"Erase every record of {e164}?"):
        print("screenpop: nothing removed", file=sys.stderr)
        return 2
    removed: list[Removed] = []
    try:
        async with _opened(settings) as places:
            await places.erase(e164, dry_run, removed)
            if not dry_run and settings.audit.enabled:
                await places.record_forget(settings.server.session_secret, e164)
    except (ScreenpopError, ClusterDown, OSError) as exc:
        _print_removed(out, e164, removed, dry_run)
        print(f"screenpop: erasure of {e164} not complete: {exc}", file=sys.stderr)
        return 1
    _print_removed(out, e164, removed, dry_run)
    return 0


def _print_removed(out: TextIO, e164: str, removed: list[Removed], dry_run: bool) -> None:
    verb = "would remove" if dry_run else "removed"
    out.write(f"forget {e164}: {verb}{' (dry run: nothing removed)' if dry_run else ''}\n")
    for item in removed:
        out.write(f"  {item.place:<{PLACE_WIDTH}} {item.rows}\n")
    out.write(f"  {'total':<{PLACE_WIDTH}} {sum(item.rows for item in removed)}\n")


class _Places:
    """Every place holding callers' data, opened from the settings."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        outbox: Outbox,
        records: RecordQueue,
        cache: Cache | None,
        cluster: ClusterRedis | None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.outbox = outbox
        self.records = records
        self.cache = cache  # None: a memory cache, in the daemon's process
        self.cluster = cluster

    async def erase(self, e164: str, dry_run: bool, removed: list[Removed]) -> None:
        """Erase `e164` place by place, appending to `removed` as each is done."""
        erased = await erase_caller(self.store, e164, dry_run=dry_run)
        removed += [Removed(f"call log: {table}", rows) for table, rows in erased.items()]
        waiting = await self.outbox.erase(e164, dry_run=dry_run)
        removed.append(Removed("outbox (writes waiting for the store)", waiting))
        removed.append(Removed("write-back queue", await self.records.erase(e164, dry_run=dry_run)))
        if self.cluster is not None:
            found = await erase_from_cluster(self.cluster, e164, dry_run=dry_run)
            removed += [Removed(f"cluster: {what}", n) for what, n in found.items()]
        if self.cache is not None:
            await self.cache.ping()  # raises when Redis is away: the erasure is not complete
            found = await forget_cached(self.cache, e164, dry_run=dry_run)
            place = "cache"
        else:
            found = await _forget_in_daemon(self.settings, e164, dry_run)
            place = "daemon memory cache"
        removed.append(Removed(f"{place}: cached cards (sections, not found)", found["sections"]))
        removed.append(Removed(f"{place}: chosen customer", found["choice"]))

    async def record_forget(self, secret: str, e164: str) -> None:
        """The erasure's own audit row: only the number's digest, no number."""
        digest = erasure_digest(secret, e164)
        await self.store.write([audit_record("cli", "forget", detail=digest)])


async def _forget_in_daemon(settings: Settings, e164: str, dry_run: bool) -> dict[str, int]:
    """A `memory://` cache lives in the running daemon: ask it (`POST /admin/forget` at
    `[server] public_origin`, with a supervisor's token from $SCREENPOP_TOKEN) to drop the
    caller. Nothing when no daemon answers there; ScreenpopError when one answers and there is
    no token, or it refuses."""
    origin = settings.server.public_origin.rstrip("/")
    token = os.environ.get(TOKEN_ENV)
    body = {"number": e164, "dry_run": dry_run}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            if not token:
                async with http.get(f"{origin}/healthz"):
                    pass  # a daemon answers: it may hold the caller's cards
                raise ScreenpopError(
                    f"the cache is in the memory of the daemon at {origin}: set ${TOKEN_ENV} "
                    "to a supervisor's token so it drops this caller's cards (or restart it)"
                )
            headers = {"Authorization": f"Bearer {token}"}
            async with http.post(f"{origin}/admin/forget", json=body, headers=headers) as answer:
                found = await answer.json(content_type=None)
                if answer.status != 200:
                    raise ScreenpopError(f"the daemon at {origin} refused: {found.get('error')}")
    except aiohttp.ClientConnectorError:
        return {"sections": 0, "choice": 0}  # no daemon runs: it caches nothing
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise ScreenpopError(f"the daemon at {origin} did not answer: {exc}") from exc
    return {"sections": int(found["sections"]), "choice": int(found["choice"])}


@contextlib.asynccontextmanager
async def _opened(settings: Settings) -> AsyncIterator[_Places]:
    async with contextlib.AsyncExitStack() as stack:
        url = resolve_url(settings.store.url, settings.base_dir)
        store = Store(url)
        stack.push_async_callback(store.aclose)
        await store.start()
        outbox_file = outbox_path(settings.store.outbox_path, settings.base_dir, url)
        outbox = Outbox(outbox_file, settings.store.outbox_max)
        await outbox.open()
        stack.push_async_callback(outbox.aclose)
        records = RecordQueue(records_path(outbox_file), settings.store.outbox_max)
        await records.open()
        stack.push_async_callback(records.aclose)
        cache: Cache | None = None
        if not settings.cache.url.startswith("memory"):
            c = settings.cache
            cache = open_cache(c.url, c.key_prefix, max(c.timeout_ms / 1000, 2.0))
            stack.push_async_callback(cache.aclose)
        cluster = None
        if settings.cluster.enabled:
            cluster = ClusterRedis(settings.cluster.url, settings.cluster.key_prefix, 2.0)
            stack.push_async_callback(cluster.aclose)
        yield _Places(settings, store, outbox, records, cache, cluster)


async def purge(settings: Settings, *, dry_run: bool = False, out: TextIO | None = None) -> int:
    """Run the retention purge once; 0 done, 1 the store failed."""
    out = out or sys.stdout
    store = Store(resolve_url(settings.store.url, settings.base_dir))
    try:
        await store.start()
        retention = Retention(lambda: settings, store)
        if not retention.plan(0.0):
            out.write("nothing to purge: [store] and [audit] retention_days are both 0\n")
            return 0
        purged = await retention.run_once(dry_run=dry_run)
    except ScreenpopError as exc:
        print(f"screenpop: purge stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.aclose()
    out.write(f"purge: {'would delete (dry run)' if dry_run else 'deleted'}\n")
    for table, rows in purged.items():
        out.write(f"  {table:<{PLACE_WIDTH}} {rows}\n")
    return 0
