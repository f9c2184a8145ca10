"""Rings of calls on agents' phones, and an agent's day read back, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import text

from screenpop.store import Store
from screenpop.store.outbox import Outbox
from screenpop.store.schema import RingRecord, WrapRecord
from tests.test_store import E164, T0, call


def ring(call_id: str, agent: str, at: float, outcome: str = "ringing", **kw: object) -> RingRecord:
    base = RingRecord("pbx1", call_id, agent, 1, at, outcome, None, False, "support", E164, None)
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


async def rings_of(store: Store) -> list[tuple[object, ...]]:
    r = store.tables.rings.c
    async with store._connect("test") as conn:
        query = store.tables.rings.select().order_by(r.call_id, r.agent_id, r.ring_no)
        rows = (await conn.execute(query)).all()
    return [(row.call_id, row.agent_id, row.ring_no, row.outcome, row.rang_at) for row in rows]


async def test_a_ring_and_its_end_are_one_row_and_writing_twice_changes_nothing(
    store: Store,
) -> None:
    started = ring("c1", "alice", T0)
    over = ring("c1", "alice", T0, "answered_elsewhere", ended_at=T0 + 5)
    for _ in range(2):
        await store.write([started, over])
    assert await rings_of(store) == [("c1", "alice", 1, "answered_elsewhere", T0)]


async def test_a_late_ringing_write_never_undoes_how_the_ring_ended(store: Store) -> None:
    await store.write([ring("c1", "alice", T0, "missed", ended_at=T0 + 6)])
    await store.write([ring("c1", "alice", T0 + 3)])  # an older write, arriving late
    assert await rings_of(store) == [("c1", "alice", 1, "missed", T0)]


async def test_each_ring_of_a_call_is_its_own_row(store: Store) -> None:
    await store.write(
        [
            ring("c1", "alice", T0, "missed", ended_at=T0 + 6),
            ring("c1", "bob", T0 + 8, "missed", ended_at=T0 + 14),
            ring("c1", "alice", T0 + 16, "answered", ring_no=2, ended_at=T0 + 18),
        ]
    )
    assert await rings_of(store) == [
        ("c1", "alice", 1, "missed", T0),
        ("c1", "alice", 2, "answered", T0 + 16),
        ("c1", "bob", 1, "missed", T0 + 8),
    ]


async def test_the_agent_day_shows_answered_missed_and_outbound_newest_first(
    store: Store,
) -> None:
    elsewhere = call("c2", T0 + 100, agent_id="bob", state="ended", ended_at=T0 + 200)
    await store.write(
        [
            call("c1", T0, state="ended", answered_at=T0 + 10, ended_at=T0 + 70),
            ring("c1", "alice", T0, "answered", ended_at=T0 + 10),
            elsewhere,
            ring("c2", "alice", T0 + 100, "answered_elsewhere", ended_at=T0 + 110),
            ring("c3", "alice", T0 + 300, "missed", ended_at=T0 + 306),  # still in the queue
            call("c4", T0 + 400, direction="outbound", state="ended", ended_at=T0 + 460),
            ring("c4", "alice", T0 + 400, "answered", outbound=True, ended_at=T0 + 410),
            ring("c5", "bob", T0 + 500),  # not hers
        ]
    )
    day = await store.agent_day("alice", T0 - 1, T0 + 1000)
    assert [(c.call_id, c.direction, c.outcome, c.reason) for c in day] == [
        ("c4", "outbound", "answered", None),
        ("c3", "inbound", "missed", "rang_out"),
        ("c2", "inbound", "missed", "answered_elsewhere"),
        ("c1", "inbound", "answered", None),
    ]
    assert day[-1].talk_s == 60.0
    assert day[1].talk_s is None
    assert await store.agent_day("alice", T0 + 1, T0 + 350) == day[1:3]


async def test_the_wrap_up_is_set_once_on_the_answered_ring(store: Store) -> None:
    await store.write(
        [
            call("c1", T0, state="ended", answered_at=T0 + 10, ended_at=T0 + 70),
            ring("c1", "alice", T0, "answered", ended_at=T0 + 10),
            ring("c1", "bob", T0, "answered_elsewhere", ended_at=T0 + 10),
        ]
    )
    await store.write([WrapRecord("alice", T0 + 82.5, 60.0)] * 2)  # twice: the same
    await store.write([WrapRecord("alice", T0 + 100, 60.0)])  # a later ready: no change
    await store.write([WrapRecord("bob", T0 + 80, 60.0)])  # not his answered ring
    (only,) = await store.agent_day("alice", T0 - 1, T0 + 1)
    assert only.wrap_s == 12.5
    (missed,) = await store.agent_day("bob", T0 - 1, T0 + 1)
    assert missed.wrap_s is None


async def test_the_wrap_up_goes_to_the_last_call_ended_and_stops_at_the_limit(
    store: Store,
) -> None:
    for call_id, at in (("c1", T0), ("c2", T0 + 100)):
        await store.write(
            [
                call(call_id, at, state="ended", answered_at=at + 10, ended_at=at + 70),
                ring(call_id, "alice", at, "answered", ended_at=at + 10),
            ]
        )
    await store.write([WrapRecord("alice", T0 + 500, 60.0)])  # closed long after c2 ended
    assert [(c.call_id, c.wrap_s) for c in await store.agent_day("alice", T0 - 1, T0 + 200)] == [
        ("c2", 60.0),
        ("c1", None),
    ]


async def test_a_whole_call_in_one_batch_lands_as_its_writes_one_by_one(store: Store) -> None:
    """The store writes a batch kind by kind; the writes that depend on each other's order (a
    ring's end after its start, the wrap-up after the ring and the call's end) still land."""
    await store.write(
        [
            call("c1", T0, state="ringing", answered_at=None),
            ring("c1", "alice", T0),
            call("c1", T0, state="answered"),
            ring("c1", "alice", T0, "answered", ended_at=T0 + 10),
            ring("c1", "bob", T0, "answered_elsewhere", ended_at=T0 + 10),
            call("c1", T0, state="ended", ended_at=T0 + 70),
            WrapRecord("alice", T0 + 82.5, 60.0),
            ring("c2", "alice", T0 + 90),
            ring("c2", "alice", T0 + 90, "missed", ended_at=T0 + 96),
            ring("c2", "alice", T0 + 90),  # late: never undoes the miss
        ]
    )
    day = await store.agent_day("alice", T0 - 1, T0 + 1000)
    assert [(c.call_id, c.outcome, c.talk_s, c.wrap_s) for c in day] == [
        ("c2", "missed", None, None),
        ("c1", "answered", 60.0, 12.5),
    ]
    assert [row.state for row in await store.calls_since(T0 - 1)] == ["ended"]


async def test_calls_held_before_rings_were_kept_still_show(store: Store) -> None:
    await store.record_call(call("old", T0, state="ended", ended_at=T0 + 70))
    (only,) = await store.agent_day("alice", T0 - 1, T0 + 1)
    assert (only.call_id, only.outcome, only.talk_s) == ("old", "answered", 60.0)
    assert only.customer_id is None


async def test_the_customer_picked_for_the_number_comes_with_the_call(store: Store) -> None:
    await store.record_call(call("old", T0, state="ended", ended_at=T0 + 70))
    await store.write([ring("new", "alice", T0 + 100, "missed", ended_at=T0 + 106)])
    await store.remember_choice(E164, "C-2002", "bob")
    day = await store.agent_day("alice", T0 - 1, T0 + 200)
    assert [(c.call_id, c.customer_id) for c in day] == [("new", "C-2002"), ("old", "C-2002")]


async def test_an_existing_call_log_gains_the_rings_table(store_url: tuple[str, str]) -> None:
    url, prefix = store_url
    before = Store(url, table_prefix=prefix)
    await before.start()
    await before.record_call(call("kept", T0, state="ended", ended_at=T0 + 70))
    async with before._connect("test", write=True) as conn:
        await conn.execute(text(f"DROP TABLE {before.tables.rings.name}"))  # as it was before
    await before.aclose()
    after = Store(url, table_prefix=prefix)
    await after.start()
    try:
        await after.write([ring("new", "alice", T0 + 5, "missed", ended_at=T0 + 9)])
        day = await after.agent_day("alice", T0 - 1, T0 + 100)
        assert [(c.call_id, c.outcome) for c in day] == [("new", "missed"), ("kept", "answered")]
        assert [r.call_id for r in await after.calls_since(T0 - 1)] == ["kept"]
    finally:
        await after.drop_tables()
        await after.aclose()


async def test_rings_wait_in_the_outbox_and_survive_its_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    outbox = Outbox(path, max_items=10)
    await outbox.open()
    await outbox.put([ring("c1", "alice", T0), ring("c1", "alice", T0, "missed", ended_at=T0 + 6)])
    await outbox.aclose()
    again = Outbox(path, max_items=10)
    await again.open()
    try:
        (waiting,) = await again.head(10)  # the newer record of the ring replaced the older
        assert waiting.item == ring("c1", "alice", T0, "missed", ended_at=T0 + 6)
        assert again.counts["ring"] == 1
    finally:
        await again.aclose()
