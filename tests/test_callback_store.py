"""Callback items in the store, on SQLite and on the real PostgreSQL: made through the writer's
records (twice is once), taken by exactly one of two agents racing, released, closed, closed by
the caller's return, counted for reports, purged and forgotten."""

from __future__ import annotations

import asyncio

import pytest

from screenpop.store import Store
from screenpop.store.callback_table import CallbackRecord, CallbackReturn
from screenpop.store.callbacks import CallbackStore, Refused

T0 = 1_795_000_000.0
E164 = "+12125551234"
OTHER = "+442079460958"


@pytest.fixture
def stores(store: Store) -> tuple[Store, CallbackStore]:
    """The conftest's call log on each database, and the callbacks over it."""
    return store, CallbackStore(store)


def item(call_id: str, at: float, e164: str = E164, queue: str = "support") -> CallbackRecord:
    return CallbackRecord("pbx1", call_id, queue, e164, "abandoned", 12.0, at, "Jane Doe", "C-1")


async def test_an_item_written_twice_is_one_open_item_with_its_card_summary(
    stores: tuple[Store, CallbackStore],
) -> None:
    store, callbacks = stores
    await store.write([item("c1", T0)])
    await store.write([item("c1", T0)])  # the outbox may deliver it again
    (found,) = await callbacks.open_items()
    assert (found.state, found.queue, found.e164, found.call_id) == ("open", "support", E164, "c1")
    shown = found.to_json()
    assert shown["summary"] == {"name": "Jane Doe", "customer_id": "C-1"}
    assert shown["created_at"] == "2026-11-18T11:06:40Z"


async def test_two_agents_taking_one_item_at_once_one_wins(
    stores: tuple[Store, CallbackStore],
) -> None:
    store, callbacks = stores
    await store.write([item("c1", T0)])
    (open_item,) = await callbacks.open_items()
    for _ in range(5):  # every round: both ask at the same moment
        results = await asyncio.gather(
            callbacks.take(open_item.id, "alice", T0 + 1),
            callbacks.take(open_item.id, "bob", T0 + 1),
            return_exceptions=True,
        )
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, Refused)]
        assert len(won) == 1 and len(lost) == 1, results
        winner = won[0].taken_by
        assert str(lost[0]) == f"already taken by {winner}"
        assert (await callbacks.get(open_item.id)).taken_by == winner  # type: ignore[union-attr]
        await callbacks.release(open_item.id, str(winner))


async def test_release_close_and_refusals(stores: tuple[Store, CallbackStore]) -> None:
    store, callbacks = stores
    await store.write([item("c1", T0)])
    (it,) = await callbacks.open_items()
    with pytest.raises(Refused, match="unknown callback"):
        await callbacks.take(it.id + 100, "alice", T0)
    with pytest.raises(Refused, match="take this callback first"):
        await callbacks.release(it.id, "alice")
    await callbacks.take(it.id, "alice", T0 + 5)
    with pytest.raises(Refused, match="already taken by alice"):
        await callbacks.close(it.id, "bob", "resolved", T0 + 6)
    linked = await callbacks.called_back(it.id, "alice", "out-1", T0 + 30)
    assert linked.call_back_call_id == "out-1"
    closed = await callbacks.close(it.id, "alice", "resolved", T0 + 60)
    assert (closed.state, closed.closed_by, closed.disposition) == ("closed", "agent", "resolved")
    assert await callbacks.open_items() == []
    with pytest.raises(Refused, match="closed already"):
        await callbacks.take(it.id, "bob", T0 + 70)


async def test_the_callers_answered_return_closes_their_items_made_before_it(
    stores: tuple[Store, CallbackStore],
) -> None:
    store, callbacks = stores
    await store.write([item("c1", T0), item("c2", T0 + 10), item("c3", T0, e164=OTHER)])
    (first, *_) = await callbacks.open_items()
    await callbacks.take(first.id, "alice", T0 + 1)
    returned = CallbackReturn(E164, "back-1", T0 + 5)
    await store.write([returned, CallbackReturn("+15550000000", "x", T0)])  # one executemany
    await store.write([returned])  # twice changes nothing
    left = {(i.call_id, i.state) for i in await callbacks.open_items()}
    assert left == {("c2", "open"), ("c3", "open")}  # c2 came after the return
    closed = await callbacks.get(first.id)
    assert closed is not None
    assert (closed.closed_by, closed.call_back_call_id) == ("returned", "back-1")


async def test_figures_per_queue(stores: tuple[Store, CallbackStore]) -> None:
    store, callbacks = stores
    await store.write([item(f"s{n}", T0 + n) for n in range(10)])
    await store.write([item("x1", T0, e164=OTHER, queue="sales")])
    await store.write([item("old", T0 - 86_400)])  # before the period
    by_call = {i.call_id: i for i in await callbacks.open_items()}
    for n in range(4):  # called back after 100, 200, 300, 400 s
        it = by_call[f"s{n}"]
        await callbacks.take(it.id, "alice", T0 + n)
        await callbacks.called_back(it.id, "alice", f"out{n}", T0 + n + 100 * (n + 1))
        await callbacks.close(it.id, "alice", "resolved", T0 + 1000)
    await callbacks.close(by_call["s4"].id, "bob", "no_action", T0 + 1000)  # no call back
    await store.write([CallbackReturn(OTHER, "back", T0 + 50)])
    figures = {f.queue: f.to_json() for f in await callbacks.figures(T0, T0 + 3600)}
    assert figures["support"] == {
        "queue": "support",
        "created": 10,
        "called_back": 4,
        "returned": 0,
        "open": 5,
        "median_s": 250.0,
        "p90_s": 400.0,
    }
    assert figures["sales"]["returned"] == 1 and figures["sales"]["median_s"] is None
    only = await callbacks.figures(T0, T0 + 3600, queue="sales")
    assert [f.queue for f in only] == ["sales"]


async def test_purge_before_a_date_and_forget_a_number(
    stores: tuple[Store, CallbackStore],
) -> None:
    store, callbacks = stores
    await store.write([item("old", T0 - 100), item("new", T0), item("other", T0, e164=OTHER)])
    assert await callbacks.purge_before(T0) == 1
    assert await callbacks.forget(OTHER) == 1
    assert [i.call_id for i in await callbacks.open_items()] == ["new"]
