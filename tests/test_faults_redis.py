"""The card cache's Redis dies and comes back while calls keep ringing (issue 12, "Faults").

A Redis of the test's own (tests/fakes/faults.py: never the shared one) is the daemon's cache; a
call from the same customer rings Alice every 200 ms throughout. What an agent and an ops engineer
notice: the pops keep coming with the right card, served by the connectors while the cache is
away; `/readyz` says 503 and names the cache; `/metrics` counts the cache's failures; once Redis
is back the daemon uses it again by itself (ready, a repeat caller's card comes from the cache
again, no more failures); no call is lost and the daemon stops cleanly.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.fakes.faults import EmitTraffic, Inbox, PrivateRedis, Seen, metric, wait_readiness
from tests.harness import agent_tab, make_settings, running

JANE = "+12125551234"
ERRORS = "screenpop_cache_errors_total"


def right_card(seen: Seen) -> bool:
    """Jane's card as the connectors know her: every section final, her name on top."""
    card = seen.pops[0]["card"]
    statuses = {name: s["status"] for name, s in card["sections"].items()}
    return card["summary"].get("name") == "Jane Doe" and statuses == {
        "accounting": "ok",
        "sales": "ok",
        "credit": "not_found",
    }


def from_cache(inbox: Inbox, call_ids: list[str]) -> bool:
    """Whether one of these calls popped with its card served from the cache."""
    return any(
        inbox.pops_of(c) and inbox.calls[c].pops[0]["card"]["sections"]["accounting"]["cached"]
        for c in call_ids
    )


async def test_redis_dies_and_returns_under_traffic(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="screenpop.cache")
    async with PrivateRedis(tmp_path / "redis") as redis:
        # a generous timeout: a loaded machine must not look like a failing Redis
        cache = {"url": redis.url, "timeout_ms": 1000, "key_prefix": "faults:"}
        settings = make_settings(tmp_path, cache=cache)
        async with (
            running(settings) as (daemon, port),
            agent_tab(port, "ta") as tab,
            Inbox(tab) as alice,
        ):
            async with EmitTraffic(daemon.emit, "1001", JANE) as traffic:
                # Redis up: from the second call on, the repeat caller is served from the cache.
                await alice.until(lambda: from_cache(alice, traffic.started), "a cached card")
                assert (await wait_readiness(port, True))["checks"]["cache"]["ok"] is True

                await redis.kill()
                checks = (await wait_readiness(port, False))["checks"]
                assert checks["cache"]["ok"] is False
                assert f"127.0.0.1:{redis.port}" in checks["cache"]["detail"]
                assert all(c["ok"] for name, c in checks.items() if name != "cache")
                down = len(traffic.started)
                # ten calls: two seconds, past the cool-off, so the dead Redis is tried again
                await alice.until(
                    lambda: sum(alice.pops_of(c) for c in traffic.since(down)) >= 10,
                    "ten pops with the cache down",
                )
                assert await metric(port, ERRORS) > 0
                popped = [c for c in traffic.since(down) if alice.pops_of(c)]
                assert all(right_card(alice.calls[c]) for c in popped)
                assert not from_cache(alice, popped)  # the connectors answered every one

                await redis.start()  # on the same port, empty
                assert (await wait_readiness(port, True))["checks"]["cache"]["ok"] is True
                errors = await metric(port, ERRORS)
                back = len(traffic.started)
                await alice.until(
                    lambda: from_cache(alice, traffic.since(back)), "a cached card again"
                )
                # back for good: no connection left over from before the outage fails now
                assert await metric(port, ERRORS) == errors
            await alice.until(
                lambda: all(c in alice.calls and alice.calls[c].over for c in traffic.started),
                "every call over on Alice's screen",
            )
            for call_id in traffic.started:  # each rang once, with Jane's card, and ended
                seen = alice.calls[call_id]
                assert len(seen.pops) == 1, call_id
                assert right_card(seen), seen.pops[0]
                assert seen.states == ["answered", "ended"], call_id
            assert alice.errors == []
    messages = [r.getMessage() for r in caplog.records if r.name == "screenpop.cache"]
    assert sum("is down, serving without it" in m for m in messages) == 1, messages
    assert sum("recovered" in m for m in messages) == 1, messages
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
