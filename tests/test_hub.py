"""Per-agent ordered delivery: seq numbering, every tab, resume, slow tabs closed."""

from __future__ import annotations

import asyncio

from screenpop.delivery.hub import Hub, Subscription
from screenpop.delivery.log import MemoryDeliveryLog


async def drain(sub: Subscription) -> list[int]:
    out = []
    while sub.outbox:
        message = await sub.next()
        assert message is not None
        out.append(message["seq"])
    return out


async def test_seq_increases_per_agent_and_every_tab_gets_the_same_stream() -> None:
    hub = Hub(MemoryDeliveryLog())
    tab1, tab2 = hub.subscribe("alice"), hub.subscribe("alice")
    other = hub.subscribe("bob")
    for n in range(3):
        await hub.publish("alice", {"type": "pop", "n": n})
    assert await drain(tab1) == [1, 2, 3]
    assert await drain(tab2) == [1, 2, 3]
    assert await drain(other) == []
    assert (await hub.publish("bob", {"type": "pop"}))["seq"] == 1


async def test_resume_replays_missed_without_duplicates() -> None:
    hub = Hub(MemoryDeliveryLog())
    tab = hub.subscribe("alice")
    await hub.publish("alice", {"type": "pop"})
    assert await drain(tab) == [1]
    hub.unsubscribe(tab)
    await hub.publish("alice", {"type": "call"})  # missed while disconnected
    await hub.publish("alice", {"type": "card"})
    again = hub.subscribe("alice")
    await hub.publish("alice", {"type": "call"})  # arrives after reconnect, before resume
    assert await hub.resume(again, last_seq=1)
    assert await drain(again) == [2, 3, 4]


async def test_resume_past_the_buffer_says_so() -> None:
    hub = Hub(MemoryDeliveryLog(buffer_size=2))
    for _ in range(5):
        await hub.publish("alice", {"type": "pop"})
    tab = hub.subscribe("alice")
    assert not await hub.resume(tab, last_seq=1)
    assert await hub.resume(tab, last_seq=3)
    assert await drain(tab) == [4, 5]


async def test_a_slow_tab_is_closed_and_others_keep_receiving() -> None:
    hub = Hub(MemoryDeliveryLog(), outbox_limit=3)
    slow, fast = hub.subscribe("alice"), hub.subscribe("alice")
    for _ in range(5):
        await hub.publish("alice", {"type": "pop"})
        await drain(fast)
    assert slow.closed and "too slow" in slow.close_reason
    assert await slow.next() is None
    assert hub.tabs("alice") == 1
    assert hub.slow_closed == 1


async def test_next_waits_for_a_message() -> None:
    hub = Hub(MemoryDeliveryLog())
    tab = hub.subscribe("alice")
    waiter = asyncio.ensure_future(tab.next())
    await asyncio.sleep(0)
    assert not waiter.done()
    await hub.publish("alice", {"type": "pop"})
    message = await asyncio.wait_for(waiter, 1)
    assert message is not None and message["seq"] == 1


async def test_ack_measures_pop_to_render_once() -> None:
    hub = Hub(MemoryDeliveryLog())
    hub.subscribe("alice")
    seq = (await hub.publish("alice", {"type": "pop"}))["seq"]
    latency = hub.ack("alice", seq)
    assert latency is not None and latency >= 0
    assert hub.ack("alice", seq) is None
    assert hub.ack("bob", seq) is None


async def test_the_replay_buffer_is_bounded_in_bytes_as_well_as_messages() -> None:
    log = MemoryDeliveryLog(buffer_size=512, buffer_bytes=2 * 1024 * 1024)
    hub = Hub(log)
    card = {"notes": "x" * 200_000}  # a 200 KB card
    for n in range(600):
        await hub.publish("alice", {"type": "pop", "n": n, "card": card})
    assert log.buffered_bytes("alice") <= 2 * 1024 * 1024  # not 600 x 200 KB = 120 MB
    tab = hub.subscribe("alice")
    assert not await hub.resume(tab, last_seq=500)  # long gone: the caller pops calls again
    assert await hub.resume(tab, last_seq=595)  # the newest ones are kept
    assert await drain(tab) == [596, 597, 598, 599, 600]


async def test_a_message_bigger_than_the_whole_byte_budget_is_numbered_but_not_kept() -> None:
    log = MemoryDeliveryLog(buffer_bytes=1000)
    hub = Hub(log)
    assert (await hub.publish("alice", {"type": "pop", "card": "x" * 2000}))["seq"] == 1
    assert log.buffered_bytes("alice") == 0
    assert await hub.resume(hub.subscribe("alice"), last_seq=0) is False


async def test_a_held_tab_gets_nothing_until_its_resume_then_each_missed_frame_once() -> None:
    hub = Hub(MemoryDeliveryLog())
    for _ in range(3):
        await hub.publish("alice", {"type": "pop"})  # 1-3: the tab had 1 and 2 on another node
    tab = hub.subscribe("alice")
    tab.hold()
    await hub.publish("alice", {"type": "call"})  # 4: live, between its hello and its resume
    waiting = asyncio.create_task(tab.next())
    await asyncio.sleep(0.01)
    assert not waiting.done()  # nothing goes out ahead of the frames the tab missed
    assert await hub.resume(tab, last_seq=2)
    first = await waiting
    assert first is not None and first.seq == 3
    assert await drain(tab) == [4]


async def test_a_tab_resuming_before_it_had_anything_skips_what_it_already_saw() -> None:
    hub = Hub(MemoryDeliveryLog())
    tab = hub.subscribe("alice")
    tab.hold()
    for _ in range(3):
        await hub.publish("alice", {"type": "pop"})  # queued while held; it saw 1 and 2 before
    assert await hub.resume(tab, last_seq=2)
    assert await drain(tab) == [3]


async def test_a_held_tab_that_never_resumes_starts_once_released() -> None:
    hub = Hub(MemoryDeliveryLog())
    tab = hub.subscribe("alice")
    tab.hold()
    await hub.publish("alice", {"type": "pop"})
    tab.release()
    assert await drain(tab) == [1]
