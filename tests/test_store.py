"""The call log and notes on SQLite (a file) and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import pytest

from screenpop.errors import StoreError
from screenpop.store import NOTE_MAX_CHARS, CallRecord, Store, iso
from tests.harness import free_port

T0 = 1_795_000_000.0  # 2026-11-18T11:06:40Z
E164 = "+12125551234"
OTHER = "+442079460958"


def call(call_id: str, at: float, **changes: object) -> CallRecord:
    base = CallRecord(
        source="pbx1",
        call_id=call_id,
        caller_raw="(212) 555-1234",
        caller_e164=E164,
        caller_name="JANE DOE",
        queue="support",
        agent_id="alice",
        state="answered",
        direction="inbound",
        started_at=at,
        answered_at=at + 10,
        ended_at=None,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_answered_then_ended_is_one_row(store: Store) -> None:
    await store.record_call(call("c1", T0))
    await store.record_call(call("c1", T0, state="ended", ended_at=T0 + 70))
    assert await store.calls_since(T0 - 1) == [call("c1", T0, state="ended", ended_at=T0 + 70)]


async def test_a_late_write_never_undoes_the_end(store: Store) -> None:
    await store.record_call(call("c1", T0, state="ended", ended_at=T0 + 70))
    await store.record_call(call("c1", T0, state="answered", agent_id="bob"))
    (row,) = await store.calls_since(T0 - 1)
    assert (row.state, row.agent_id, row.ended_at) == ("ended", "alice", T0 + 70)


async def test_same_call_id_from_two_sources_is_two_calls(store: Store) -> None:
    await store.record_call(call("c1", T0))
    await store.record_call(call("c1", T0 + 1, source="pbx2"))
    assert [r.source for r in await store.calls_since(T0 - 1)] == ["pbx1", "pbx2"]


async def test_withheld_caller_is_logged_without_number(store: Store) -> None:
    withheld = call("c9", T0, caller_raw="anonymous", caller_e164=None, caller_name=None)
    await store.record_call(withheld)
    assert await store.calls_since(T0 - 1) == [withheld]


async def test_calls_since_is_oldest_first_and_bounded(store: Store) -> None:
    for i, at in enumerate([T0 + 300, T0 - 3600, T0 + 100, T0]):
        await store.record_call(call(f"c{i}", at, direction="outbound" if i == 2 else "inbound"))
    since = await store.calls_since(T0)
    assert [(r.call_id, r.direction) for r in since] == [
        ("c3", "inbound"),
        ("c2", "outbound"),
        ("c0", "inbound"),
    ]
    assert await store.calls_since(T0 + 1000) == []


async def test_history_newest_first_with_notes(store: Store) -> None:
    await store.record_call(call("old", T0, agent_id="bob", state="ended", ended_at=T0 + 60))
    await store.record_call(call("mid", T0 + 3600, state="abandoned", agent_id=None))
    await store.record_call(call("new", T0 + 7200, queue="sales"))
    await store.record_call(call("theirs", T0 + 9000, caller_e164=OTHER))
    await store.add_note("old", E164, "bob", "resolved", "refund sent")
    await store.add_note("new", E164, "alice", "callback", "first note")
    await asyncio.sleep(0.01)
    await store.add_note("new", E164, "carol", "escalated", "second note")
    await store.add_note("theirs", OTHER, "alice", "resolved", "not this caller")

    history = await store.history(E164, 10)
    assert history == [
        {
            "at": iso(T0 + 7200),
            "call_id": "new",
            "agent": "carol",
            "state": "answered",
            "queue": "sales",
            "disposition": "escalated",
            "text": "second note",
        },
        {
            "at": iso(T0 + 7200),
            "call_id": "new",
            "agent": "alice",
            "state": "answered",
            "queue": "sales",
            "disposition": "callback",
            "text": "first note",
        },
        {
            "at": iso(T0 + 3600),
            "call_id": "mid",
            "agent": None,
            "state": "abandoned",
            "queue": "support",
            "disposition": None,
            "text": None,
        },
        {
            "at": iso(T0),
            "call_id": "old",
            "agent": "bob",
            "state": "ended",
            "queue": "support",
            "disposition": "resolved",
            "text": "refund sent",
        },
    ]
    assert [h["call_id"] for h in await store.history(E164, 2)] == ["new", "new"]
    assert await store.history(E164, 0) == []
    assert await store.history("+15550000000", 5) == []


async def test_history_keeps_a_note_whose_call_was_never_logged(store: Store) -> None:
    await store.record_call(call("logged", T0))
    note = await store.add_note("unlogged", E164, "alice", "callback", "rang out")
    history = await store.history(E164, 5)
    assert [(h["call_id"], h["text"]) for h in history] == [
        ("unlogged", "rang out"),
        ("logged", None),
    ]
    assert history[0]["at"] == note["at"]


def test_iso_format() -> None:
    at = datetime(2026, 11, 20, 10, 2, tzinfo=UTC).timestamp()
    assert iso(at + 0.75) == "2026-11-20T10:02:00Z"


async def test_notes_round_trip(store: Store) -> None:
    text = "Zoë wants a callback <b>before</b> 5pm — 日本語 ☎️\nsecond line"
    saved = await store.add_note("c1", E164, "alice", "callback", text)
    assert saved["call_id"] == "c1" and saved["agent"] == "alice"
    assert saved["disposition"] == "callback" and saved["text"] == text
    assert saved["at"].endswith("Z") and len(saved["at"]) == len("2026-11-20T10:02:00Z")
    await asyncio.sleep(0.01)
    later = await store.add_note("c1", None, "bob", "resolved", "")
    assert await store.notes_for("c1") == [later, saved]
    assert await store.notes_for("c2") == []


async def test_note_length_limit(store: Store) -> None:
    await store.add_note("c1", E164, "alice", "resolved", "x" * NOTE_MAX_CHARS)
    with pytest.raises(StoreError, match="too long"):
        await store.add_note("c1", E164, "alice", "resolved", "x" * (NOTE_MAX_CHARS + 1))
    assert len(await store.notes_for("c1")) == 1


async def test_chosen_customer(store: Store) -> None:
    assert await store.chosen_customer(E164) is None
    await store.remember_choice(E164, "C-1042", "alice")
    assert await store.chosen_customer(E164) == "C-1042"
    await store.remember_choice(E164, "C-2001", "bob")
    assert await store.chosen_customer(E164) == "C-2001"
    assert await store.chosen_customer(OTHER) is None


async def test_a_card_recalls_the_history_and_the_pick_in_one_read(store: Store) -> None:
    assert await store.recall(E164, 5) == ([], None)
    await store.record_call(call("c1", T0, state="ended", ended_at=T0 + 70))
    await store.add_note("c1", E164, "alice", "resolved", "refund sent")
    await store.remember_choice(E164, "C-1042", "alice")
    history, chosen = await store.recall(E164, 5)
    assert history == await store.history(E164, 5)
    assert [(h["call_id"], h["text"]) for h in history] == [("c1", "refund sent")]
    assert chosen == "C-1042"
    assert await store.recall(E164, 0) == ([], "C-1042")
    assert await store.recall(OTHER, 5) == ([], None)


async def test_survives_a_restart(store_url: tuple[str, str]) -> None:
    url, prefix = store_url
    first = Store(url, table_prefix=prefix)
    await first.start()
    try:
        await first.record_call(call("c1", T0))
        await first.aclose()
        second = Store(url, table_prefix=prefix)
        await second.start()  # the tables exist already
        try:
            assert [r.call_id for r in await second.calls_since(T0 - 1)] == ["c1"]
            await second.ping()
        finally:
            await second.drop_tables()
            await second.aclose()
    finally:
        await first.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://screenpop:s3cret-pw@127.0.0.1:{port}/screenpop",
        "sqlite+aiosqlite:////nonexistent-dir/calls.db",
        "nonsense://screenpop:s3cret-pw@127.0.0.1/x",
        "postgresql+asyncpg://screenpop:s3cret-pw@127.0.0.1:notaport/x",
        "mysql+aiomysql://screenpop:s3cret-pw@127.0.0.1/x",
        "postgresql+nodriver://screenpop:s3cret-pw@127.0.0.1/x",
        "sqlite:///sync-driver.db",
        "not a url at all",
    ],
)
async def test_broken_url_gives_store_error_without_the_password(url: str) -> None:
    store = Store(url.format(port=free_port()), timeout_s=5)
    try:
        with pytest.raises(StoreError) as failure:
            await store.start()
        assert "s3cret-pw" not in str(failure.value)
        with pytest.raises(StoreError):
            await store.ping()
    finally:
        await store.aclose()


async def test_unreachable_database_fails_each_call_with_store_error() -> None:
    store = Store(f"postgresql+asyncpg://u:s3cret-pw@127.0.0.1:{free_port()}/x")
    with pytest.raises(StoreError):
        await store.history(E164, 5)  # not started
    with pytest.raises(StoreError, match="start failed"):
        await store.start()
    for attempt in (
        store.ping(),
        store.history(E164, 5),
        store.record_call(call("c1", T0)),
        store.add_note("c1", E164, "alice", "resolved", "x"),
        store.chosen_customer(E164),
        store.recall(E164, 5),
    ):
        with pytest.raises(StoreError) as failure:
            await attempt
        assert "s3cret-pw" not in str(failure.value)
    await store.aclose()


async def test_concurrent_writes_all_land(store: Store) -> None:
    writes = [store.record_call(call(f"c{i}", T0 + i)) for i in range(20)]
    writes += [store.add_note(f"c{i}", E164, "alice", "resolved", f"note {i}") for i in range(20)]
    await asyncio.gather(*writes)
    assert len(await store.calls_since(T0)) == 20
    assert [h["text"] for h in await store.history(E164, 3)] == ["note 19", "note 18", "note 17"]
