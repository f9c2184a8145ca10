"""The outbox: writes that wait for the store survive a restart, stay bounded, never lose a note,
and the writer moves them to the store once each."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event

from screenpop.errors import OutboxFull, StoreError
from screenpop.store import CallRecord, Store
from screenpop.store.call_log import logout_record, make_note
from screenpop.store.callback_table import CallbackRecord, CallbackReturn
from screenpop.store.outbox import KINDS, Outbox
from screenpop.store.schema import PauseRecord
from screenpop.store.writer import StoreWriter
from tests.harness import until

NOTHING = dict.fromkeys(KINDS, 0)  # no write of any kind waiting

T0 = 1_780_000_000.0
E164 = "+12125551234"


def call(call_id: str, state: str = "ringing", **times: float) -> CallRecord:
    return CallRecord(
        source="pbx",
        call_id=call_id,
        caller_raw=E164,
        caller_e164=E164,
        caller_name=None,
        queue="sales",
        agent_id="alice",
        state=state,
        direction="inbound",
        started_at=T0,
        **times,
    )


def note(call_id: str, text: str, note_id: str | None = None) -> object:
    return make_note(call_id, E164, "alice", "resolved", text, note_id=note_id, at=T0 + 5)


async def opened(path: Path | None, max_items: int = 100) -> Outbox:
    box = Outbox(path, max_items)
    await box.open()
    return box


async def test_waiting_writes_survive_a_restart_in_order(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = await opened(path)
    await box.put([call("c1"), note("c1", "first", "n1"), call("c2")])
    await box.aclose()

    again = await opened(path)
    try:
        items = [p.item for p in await again.head(10)]
        assert [type(i).__name__ for i in items] == ["CallRecord", "NoteRecord", "CallRecord"]
        assert items[1] == note("c1", "first", "n1")
        assert again.counts == {**NOTHING, "call": 2, "note": 1}
    finally:
        await again.aclose()


async def test_a_newer_record_of_a_call_replaces_the_waiting_one(tmp_path: Path) -> None:
    box = await opened(tmp_path / "o.db")
    try:
        await box.put([call("c1"), call("c1", "ended", ended_at=T0 + 60)])
        [waiting] = await box.head(10)
        assert isinstance(waiting.item, CallRecord)
        assert (waiting.item.state, waiting.item.ended_at) == ("ended", T0 + 60)
        await box.put([note("c1", "x", "same"), note("c1", "x", "same")])
        assert box.counts == {**NOTHING, "call": 1, "note": 1}
    finally:
        await box.aclose()


async def test_when_full_the_oldest_call_rows_go_and_notes_never(tmp_path: Path) -> None:
    box = await opened(tmp_path / "o.db", max_items=3)
    try:
        await box.put([call("c1"), call("c2"), note("c2", "keep me", "n1")])
        await box.put([call("c3")])  # pushes out c1
        await box.put([note("c3", "me too", "n2")])  # pushes out c2
        assert box.dropped == 2
        kept = [p.item for p in await box.head(10)]
        assert [getattr(i, "call_id", None) for i in kept] == ["c2", "c3", "c3"]
        assert sum(1 for i in kept if type(i).__name__ == "NoteRecord") == 2
        await box.put([note("c3", "room made", "n3")])  # pushes out c3, the last call row
        with pytest.raises(OutboxFull, match="full"):
            await box.put([note("c3", "no room", "n4")])  # only notes left: refused, not dropped
        assert box.counts == {**NOTHING, "call": 0, "note": 3}
        await box.put([call("c4")])  # only notes: the new call row itself is dropped
        assert box.counts == {**NOTHING, "call": 0, "note": 3}
        assert box.dropped == 4
    finally:
        await box.aclose()


async def test_an_unwritable_outbox_file_is_a_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    with pytest.raises(StoreError, match="outbox"):
        await opened(folder / "o.db")


class _Unreachable(Store):
    """A store that is away until `back` is set (as an unreachable PostgreSQL would be)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.back = asyncio.Event()
        self.back.set()

    async def write(self, items: object) -> None:  # type: ignore[override]
        if not self.back.is_set():
            raise StoreError("store write failed: connection refused")
        await super().write(items)  # type: ignore[arg-type]


async def test_the_writer_holds_everything_while_the_store_is_away(tmp_path: Path) -> None:
    store = _Unreachable(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    await store.start()
    box = await opened(tmp_path / "calls-outbox.db", max_items=1000)
    try:
        async with StoreWriter(store, box, retry_s=(0.05, 0.2)) as writer:
            assert await writer.save(note("c0", "while up", "up")) is True
            store.back.clear()
            for i in range(20):
                writer.queue(call(f"c{i}"))
                writer.queue(call(f"c{i}", "ended", ended_at=T0 + i))
            assert await writer.save(note("c3", "while away", "away")) is False
            assert await writer.save(note("c3", "while away", "away")) is False  # a retry
            assert await writer.save(logout_record("alice", int(T0 * 1000), 3600)) is False
            await until(lambda: not writer.store_up and len(box) == 22, "writes in the outbox")
            assert await store.calls_since(0) == []
            store.back.set()
            await until(lambda: writer.store_up and writer.waiting == 0, "the outbox written")
        calls = await store.calls_since(0)
        assert sorted(c.call_id for c in calls) == sorted(f"c{i}" for i in range(20))
        assert {c.state for c in calls} == {"ended"}
        texts = [n["text"] for n in await store.notes_for("c3")]
        assert texts == ["while away"]
        assert await store.logouts(T0) == {"alice": int(T0 * 1000)}
    finally:
        await box.aclose()
        await store.aclose()


async def test_what_the_store_refuses_is_dropped_and_the_rest_goes_on(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    await store.start()
    box = await opened(None)
    try:
        async with StoreWriter(store, box) as writer:
            broken = dataclasses.replace(call("c2"), state=None)  # NOT NULL: refused
            writer.queue(call("c1"))
            writer.queue(broken)
            writer.queue(call("c3"))
            await until(lambda: writer.rejected == 1 and writer.waiting == 0, "queue written")
            assert writer.store_up
        assert {c.call_id for c in await store.calls_since(0)} == {"c1", "c3"}
    finally:
        await box.aclose()
        await store.aclose()


async def test_an_ended_pause_waits_in_the_outbox_and_is_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    pause = PauseRecord("alice", "lunch", T0, T0 + 1800)
    box = await opened(path)
    await box.put([pause, pause])  # the same pause twice waits once
    await box.aclose()
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    await store.start()
    again = await opened(path)
    try:
        assert again.counts["pause"] == 1
        async with StoreWriter(store, again) as writer:
            await until(lambda: writer.waiting == 0, "outbox drained")
        await store.write([pause])  # the outbox may deliver it again: still one row
        with sqlite3.connect(tmp_path / "calls.db") as db:
            rows = db.execute("SELECT agent_id, reason, ended_at - started_at FROM agent_pauses")
            assert rows.fetchall() == [("alice", "lunch", 1800.0)]
    finally:
        await again.aclose()
        await store.aclose()


async def test_callback_writes_wait_and_survive_a_restart_once_each(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    made = CallbackRecord("pbx", "c1", "sales", E164, "abandoned", 12.5, T0, "Jane", "C-1")
    back = CallbackReturn(E164, "c9", T0 + 60)
    box = await opened(path)
    await box.put([made, back, made, back])  # the same writes again: kept once
    await box.aclose()
    again = await opened(path)
    try:
        assert [p.item for p in await again.head(10)] == [made, back]
        assert again.counts["callback"] == again.counts["callback_return"] == 1
    finally:
        await again.aclose()


async def test_a_calls_queued_writes_share_one_transaction(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    await store.start()
    assert store._engine is not None
    commits: list[object] = []
    event.listen(store._engine.sync_engine, "commit", commits.append)
    box = await opened(None)
    try:
        async with StoreWriter(store, box, gather_s=1.0) as writer:
            for state, times in (("ringing", {}), ("answered", {"answered_at": T0 + 5})):
                writer.queue(call("c1", state, **times))
                await asyncio.sleep(0.01)  # the events of a call arrive apart
            writer.queue(call("c1", "ended", answered_at=T0 + 5, ended_at=T0 + 60))
            await until(lambda: writer.waiting == 0, "queue written")
        assert len(commits) == 1
        (logged,) = await store.calls_since(0)
        assert (logged.state, logged.answered_at, logged.ended_at) == ("ended", T0 + 5, T0 + 60)
    finally:
        await box.aclose()
        await store.aclose()
