"""Through the daemon: a caller id the dialplan rewrites before the ring, and a withheld caller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from tests.fakes.connectors import StaticConnector
from tests.harness import agent_tab, make_settings, running, static, until

JANE = {"+12125551234": {"name": "Jane Doe", "customer_id": "C-1"}}


def event(kind: EventKind, caller: str | None, endpoint: str | None = None, **kw: Any) -> CallEvent:
    return CallEvent("pbx", "c1", kind, caller=caller, endpoint=endpoint, **kw)


def lookups(daemon: Daemon) -> int:
    lookup = daemon.lookup
    assert lookup is not None
    connector = lookup.connectors[0].connector
    assert isinstance(connector, StaticConnector)
    return connector.lookups


async def test_the_pop_shows_the_caller_the_phone_shows_not_the_trunk_number(
    tmp_path: Path,
) -> None:
    # The first lookup (the trunk's number) is slow: it is cancelled, never shown.
    settings = make_settings(
        tmp_path, connectors=[static("accounting", records=JANE, sleep_ms=300, deadline_ms=2000)]
    )
    async with running(settings) as (daemon, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        daemon.emit(event(EventKind.QUEUED, "+12125550000"))
        await until(lambda: lookups(daemon) == 1, "the trunk number's lookup under way")
        daemon.emit(event(EventKind.RINGING, "(212) 555-1234", "1001"))
        pop = await alice.recv_type("pop")
        assert pop["card"]["caller"]["e164"] == "+12125551234"
        assert pop["card"]["summary"]["name"] == "Jane Doe"
        assert lookups(daemon) == 2
        assert await alice.silent(0.5)  # no late card for the number it no longer is


async def test_two_spellings_of_one_number_are_looked_up_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, connectors=[static("accounting", records=JANE)])
    async with running(settings) as (daemon, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        daemon.emit(event(EventKind.QUEUED, "+1 212 555 1234"))
        daemon.emit(event(EventKind.RINGING, "2125551234", "1001"))
        pop = await alice.recv_type("pop")
        assert pop["card"]["summary"]["name"] == "Jane Doe"
        assert lookups(daemon) == 1


async def test_withheld_after_the_pop_replaces_the_card_and_the_number_is_never_logged(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, connectors=[static("accounting", records=JANE)])
    async with running(settings) as (daemon, port), agent_tab(port, "ta") as alice:
        await alice.recv_type("hello")
        daemon.emit(event(EventKind.RINGING, "+12125551234", "1001", caller_name="Jane"))
        assert (await alice.recv_type("pop"))["card"]["caller"]["e164"] == "+12125551234"
        daemon.emit(event(EventKind.ANSWERED, "+12125551234", "1001", withheld=True))
        first, second = await alice.recv(), await alice.recv()
        by_type = {first["type"]: first, second["type"]: second}
        assert by_type["call"]["state"] == "answered"
        card = by_type["card"]["card"]
        assert card["caller"]["kind"] == "withheld"
        assert card["caller"]["name"] is None
        assert "555" not in str(card)
        daemon.emit(event(EventKind.ENDED, "+12125551234"))
        assert (await alice.recv_type("call"))["state"] == "ended"
        store = daemon.store
        assert store is not None
        assert await store.history("+12125551234", 10) == []
