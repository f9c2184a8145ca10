"""Where a cache-hit pop's time goes: the steps of the daemon's hot path timed one by one on a
warm daemon (calling the same objects the pipeline calls, in the same order), so the distance
between the floor and the pop can be read step by step."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence

from bench.stats import Figure, summarize
from screenpop.callerid import normalize
from screenpop.card import Card
from screenpop.daemon import Daemon
from screenpop.lookup import CardBuild

GROUP = "pop steps"
HISTORY_SIZE = 5


async def hot_path(daemon: Daemon, callers: Sequence[str], label: str) -> list[Figure]:
    """Time, per caller: the call-log read a card build starts with (history and remembered
    choice), the cache-only fan-out, and encoding the pop message. Needs a warm cache."""
    store, lookup = daemon.store, daemon.lookup
    assert store is not None and lookup is not None
    region = daemon.settings.phone.default_region
    role = daemon.role("agent")
    cards: list[Card] = []

    async def call_log(e164: str) -> None:
        await store.history(e164, HISTORY_SIZE)
        await store.chosen_customer(e164)

    async def cached_lookup(e164: str) -> None:
        caller = normalize(e164, region)
        card = Card("bench", {**caller.to_json(), "name": None}, {}, lookup.priorities)
        build = CardBuild(card, lambda updated: None)
        await build.run(lookup, caller.query())
        cards.append(await build.first)

    async def encode(e164: str) -> None:
        card = cards[len(cards) - 1]
        message = {"type": "pop", "seq": 1, "call_id": "bench", "card": card.to_json(role)}
        json.dumps(message)

    return [
        await _timed(f"call log read (history + choice), {label}", callers, call_log),
        await _timed(f"fan-out, every section cached, {label}", callers, cached_lookup),
        await _timed(f"pop message to JSON, {label}", callers, encode),
    ]


async def _timed(
    name: str, callers: Sequence[str], step: Callable[[str], Awaitable[None]]
) -> Figure:
    samples: list[float] = []
    start = time.perf_counter()
    for caller in callers:
        t0 = time.perf_counter()
        await step(caller)
        samples.append(time.perf_counter() - t0)
    return summarize(GROUP, name, samples, time.perf_counter() - start)
