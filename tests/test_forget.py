"""`screenpop forget`: one caller's rows leave every table of the call log (SQLite and the real
PostgreSQL), the outbox, the write-back queue and the real Redis cache; other callers keep
theirs; a dry run removes nothing; the erasure leaves one audit row with a digest only."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from screenpop.audit import audit_record, erasure_digest
from screenpop.cache import open_cache
from screenpop.cli import main
from screenpop.cluster.delivery import RedisDeliveryLog
from screenpop.cluster.erasure import erase_from_cluster
from screenpop.cluster.redis import ClusterRedis
from screenpop.connectors.contract import RecordItem
from screenpop.delivery.wire import Encoded
from screenpop.keys import choice_key, lookup_key, replay_key, section_key
from screenpop.paths import outbox_path
from screenpop.privacy_cli import forget
from screenpop.settings import Settings
from screenpop.store import CallRecord, Store
from screenpop.store.callback_table import CallbackRecord
from screenpop.store.erasure import ERASED, erase_caller
from screenpop.store.outbox import Outbox
from screenpop.store.records import RecordQueue, records_path
from screenpop.store.schema import NoteRecord, RingRecord, Write
from tests.harness import free_port, make_settings, running

JANE = "+12125551234"
OTHER = "+442079460958"
T0 = 1_795_000_000.0


def caller_rows(e164: str, n: int) -> list[Write]:
    call_id = f"call-{e164}"
    return [
        CallRecord("pbx", call_id, e164, e164, "NAME", "q", "alice", "ended", "inbound", T0 + n),
        RingRecord("pbx", call_id, "alice", 1, T0 + n, "answered", T0 + n + 5, caller_e164=e164),
        NoteRecord(f"note-{e164}", call_id, e164, "alice", "resolved", "called about", T0 + n),
        NoteRecord(f"bare-{e164}", call_id, None, "bob", "callback", "no number kept", T0 + n),
        audit_record("alice", "pop", e164, call_id, at=T0 + n),
        audit_record("bob", "pop", None, call_id, at=T0 + n),  # the number was not known yet
        CallbackRecord("pbx", call_id, "q", e164, "abandoned", 30.0, T0 + n, "NAME", f"C-{n}"),
    ]


async def seed_store(store: Store) -> None:
    for n, e164 in enumerate((JANE, OTHER)):
        await store.write(caller_rows(e164, n))
        await store.remember_choice(e164, f"C-{n}", "alice")


async def everything(store: Store) -> list[str]:
    """Every row of every table of the call log, as text."""
    found: list[str] = []
    for name in store.tables.__dataclass_fields__:
        table = getattr(store.tables, name)
        found += [f"{name}: {tuple(row)}" for row in await store.rows(select(table), "dump")]
    return found


def mentioning(rows: list[str], *needles: str) -> list[str]:
    return [row for row in rows if any(needle in row for needle in needles)]


async def test_the_callers_rows_leave_every_table(store: Store) -> None:
    await seed_store(store)
    before = await everything(store)
    no_callers = {"logouts", "pauses"}  # agents' rows: no caller in them
    assert {e.table for e in ERASED} == set(store.tables.__dataclass_fields__) - no_callers

    counted = await erase_caller(store, JANE, dry_run=True)
    assert await everything(store) == before
    removed = await erase_caller(store, JANE, dry_run=False)

    assert removed == counted
    assert sum(removed.values()) == 8  # a call, a ring, 2 notes, a choice, 2 audit rows, an item
    after = await everything(store)
    assert mentioning(after, JANE, "bare-+1212") == []  # the note without a number went too
    assert len(mentioning(after, OTHER)) == len(mentioning(before, OTHER))


async def seed_queues(settings: Settings) -> tuple[Path | None, Path | None]:
    outbox_file = outbox_path("", settings.base_dir, settings.store.url)
    outbox = Outbox(outbox_file, 100)
    await outbox.open()
    await outbox.put(caller_rows(JANE, 5) + caller_rows(OTHER, 6))
    await outbox.aclose()
    queue = RecordQueue(records_path(outbox_file), 100)
    await queue.open()
    for e164 in (JANE, OTHER):
        await queue.put(
            "crm", RecordItem(f"r-{e164}", "note", f"call-{e164}", e164=e164, text="hello")
        )
    await queue.aclose()
    return outbox_file, records_path(outbox_file)


async def seed_cache(redis_url: str, prefix: str) -> None:
    cache = open_cache(redis_url, prefix, 2.0)
    for e164 in (JANE, OTHER):
        await cache.set(section_key("accounting", e164), {"name": "x"}, 60, 60)
        await cache.set(section_key("credit", e164), {"status": "not_found"}, 60, 0)
        await cache.set(section_key("erp", e164, {"account": "12"}), {"n": 1}, 60, 60)
        await cache.set(choice_key(e164), {"customer_id": "C-1"}, 60, 0)
    await cache.aclose()


async def redis_keys(redis_url: str, prefix: str) -> list[str]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        return sorted([k.decode() async for k in client.scan_iter(match=f"{prefix}*")])
    finally:
        await client.aclose()


async def queue_bodies(path: Path | None, table: str) -> list[str]:
    import aiosqlite

    async with aiosqlite.connect(str(path)) as db, db.execute(f"SELECT body FROM {table}") as c:
        return [str(row[0]) for row in await c.fetchall()]


async def test_forget_leaves_nothing_of_the_caller_anywhere(
    tmp_path: Path, redis_url: str, redis_cleanup: str
) -> None:
    cache: dict[str, Any] = {"url": redis_url, "key_prefix": redis_cleanup}
    settings = make_settings(tmp_path, cache=cache)
    store = Store(settings.store.url)
    await store.start()
    try:
        await check_forget(settings, store, redis_url, redis_cleanup)
    finally:
        await store.aclose()


async def check_forget(settings: Settings, store: Store, redis_url: str, prefix: str) -> None:
    redis_cleanup = prefix
    await seed_store(store)
    outbox_file, records_file = await seed_queues(settings)
    await seed_cache(redis_url, redis_cleanup)
    before = await everything(store)
    keys_before = await redis_keys(redis_url, redis_cleanup)

    dry = io.StringIO()
    assert await forget(settings, "(212) 555-1234", None, dry_run=True, out=dry) == 0
    assert await everything(store) == before
    assert await redis_keys(redis_url, redis_cleanup) == keys_before

    out = io.StringIO()
    assert await forget(settings, "(212) 555-1234", None, out=out) == 0

    assert out.getvalue().replace("removed", "") == dry.getvalue().replace(
        "would remove (dry run: nothing removed)", ""
    )
    printed = dict(line.strip().rsplit(None, 1) for line in out.getvalue().splitlines()[1:])
    assert printed == {
        "call log: calls": "1",
        "call log: call_notes": "2",
        "call log: call_rings": "1",
        "call log: caller_choices": "1",
        "call log: audit": "2",
        "call log: callbacks": "1",
        "outbox (writes waiting for the store)": "7",  # the bare note, audit row and item too
        "write-back queue": "1",
        "cache: cached cards (sections, not found)": "3",
        "cache: chosen customer": "1",
        "total": "20",
    }
    after = await everything(store)
    (erasure,) = [row for row in after if "'forget'" in row]
    assert erasure_digest(settings.server.session_secret, JANE) in erasure
    assert mentioning(after, JANE) == []
    assert len(mentioning(after, OTHER)) == len(mentioning(before, OTHER))
    assert mentioning(await queue_bodies(outbox_file, "outbox"), JANE) == []
    assert len(mentioning(await queue_bodies(outbox_file, "outbox"), OTHER)) == 7
    assert mentioning(await queue_bodies(records_file, "records"), JANE) == []
    keys = await redis_keys(redis_url, redis_cleanup)
    assert mentioning(keys, JANE) == []
    assert len(mentioning(keys, OTHER)) == 4


async def test_forget_refuses_what_is_not_a_number(tmp_path: Path) -> None:
    out = io.StringIO()
    assert await forget(make_settings(tmp_path), "anonymous", None, out=out) == 2
    assert await forget(make_settings(tmp_path), JANE, lambda question: False, out=out) == 2
    assert out.getvalue() == ""


async def test_the_callers_pops_leave_the_clusters_replay_streams(
    redis_url: str, redis_cleanup: str
) -> None:
    redis = ClusterRedis(redis_url, redis_cleanup)
    log = RedisDeliveryLog(redis, "node-a")
    try:
        for n, e164 in enumerate((JANE, OTHER, JANE)):
            card = {"caller": {"e164": e164}, "sections": {}}
            await log.append("alice", Encoded.of({"type": "pop", "call_id": f"c{n}", "card": card}))
        await redis.call(redis.client.set, redis.key(lookup_key(section_key("crm", JANE))), "a")

        counted = await erase_from_cluster(redis, JANE, dry_run=True)
        assert len(await log.since("alice", 0) or []) == 3
        assert await erase_from_cluster(redis, JANE, dry_run=False) == counted

        assert counted == {"replayed pops and cards": 2, "lookup claims": 1}
        assert await log.since("alice", 0) is None  # a gap: the tab gets its calls popped again
        left = await redis.call(redis.client.xrange, redis.key(replay_key("alice")))
        assert [JANE in fields[b"b"].decode() for _, fields in left] == [False]
        assert mentioning(await redis_keys(redis_url, redis_cleanup), JANE) == []
    finally:
        await redis.aclose()


async def test_forget_asks_the_daemon_to_drop_its_memory_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    server = {"port": port, "public_origin": f"http://127.0.0.1:{port}"}
    settings = make_settings(tmp_path, server=server)
    async with running(settings) as (daemon, _):
        async with (
            aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http,
            http.get(f"/api/cards/{JANE}", headers={"Authorization": "Bearer ta"}) as answer,
        ):
            assert answer.status == 200  # the card is in the daemon's memory cache now
        monkeypatch.delenv("SCREENPOP_TOKEN", raising=False)
        assert await forget(settings, JANE, None, out=io.StringIO()) == 1  # no token: said
        monkeypatch.setenv("SCREENPOP_TOKEN", "ta")  # an agent may not
        assert await forget(settings, JANE, None, out=io.StringIO()) == 1

        monkeypatch.setenv("SCREENPOP_TOKEN", "ts")  # a supervisor may
        out = io.StringIO()
        assert await forget(settings, JANE, None, out=out) == 0
        left = await daemon.desk.forget_cached(JANE, dry_run=True)
    printed = dict(line.strip().rsplit(None, 1) for line in out.getvalue().splitlines()[1:])
    assert printed["daemon memory cache: cached cards (sections, not found)"] == "3"
    assert left == {"sections": 0, "choice": 0}


async def test_the_command_line_asks_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "screenpop.toml"
    nobody = f"http://127.0.0.1:{free_port()}"  # no daemon there: its memory caches nothing
    config.write_text(
        f'[server]\npublic_origin = "{nobody}"\n'
        f'[store]\nurl = "sqlite+aiosqlite:///{tmp_path / "calls.db"}"\n'
    )
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    await store.start()
    await seed_store(store)
    before = await everything(store)

    forget_jane = ["forget", "--config", str(config), "212 555 1234"]
    assert await asyncio.to_thread(main, forget_jane) == 2  # no terminal to ask on: --yes
    assert "pass --yes" in capsys.readouterr().err
    assert await asyncio.to_thread(main, [*forget_jane, "--dry-run"]) == 0
    assert "call log: calls" in capsys.readouterr().out
    assert await everything(store) == before
    assert await asyncio.to_thread(main, [*forget_jane, "--yes"]) == 0

    assert mentioning(await everything(store), JANE) == []
    await store.aclose()
