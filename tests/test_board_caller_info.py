"""What the board shows of a waiting caller, per role: made once per card and role (every board
update asks it for every waiting caller), and made again as soon as the card or the role changes,
so a supervisor never sees a caller as they were before a connector answered or an agent picked."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from screenpop.agents import AgentDirectory
from screenpop.calls import Call
from screenpop.card import Card, Section, Status
from screenpop.pipeline.builds import caller_info
from screenpop.pipeline.live import LiveConfig
from screenpop.pipeline.runtime import CallRuntimes
from screenpop.settings import parse_settings
from screenpop.tasks import TaskOwner

CALLER = {"raw": "2125551234", "national": "(212) 555-1234", "kind": "number", "name": "PBX name"}
JANE = {"customer_id": "C-1", "name": "Jane Doe"}
JOHN = {"customer_id": "C-2", "name": "John Roe"}


def live(hide: list[str]) -> LiveConfig:
    raw: dict[str, Any] = {
        "connectors": [{"name": "crm", "kind": "static"}],
        "roles": {"supervisor": {"board": True, "hide": hide}},
    }
    settings = parse_settings(raw, "test")
    return LiveConfig(settings, AgentDirectory([]), lookup=None)  # type: ignore[arg-type]


def card(data: Any, chosen: str | None = None) -> Card:
    return Card("c1", CALLER, {"crm": Section(Status.OK, data)}, chosen=chosen)


def runtimes_with(first: Card) -> tuple[CallRuntimes, SimpleNamespace]:
    runtimes = CallRuntimes(TaskOwner())
    runtime = runtimes.seen(Call(call_id="c1", source="pbx"))
    build = SimpleNamespace(card=first)
    runtime.build = build  # type: ignore[assignment]
    return runtimes, build


def test_the_board_follows_the_card_and_the_role_but_renders_each_once() -> None:
    config = live(hide=[])
    runtimes, build = runtimes_with(card([JANE, JOHN]))
    first = caller_info(config, runtimes, "c1", "supervisor")
    assert first == {"caller": "(212) 555-1234", "caller_name": "PBX name", "summary": {}}
    assert caller_info(config, runtimes, "c1", "supervisor") is first  # nothing new: reused

    build.card = card([JANE, JOHN], chosen="C-2")  # an agent picked John
    assert caller_info(config, runtimes, "c1", "supervisor")["summary"] == JOHN

    config.swap(live(hide=["crm.name"]).settings, config.directory, config.lookup)
    assert caller_info(config, runtimes, "c1", "supervisor")["summary"] == {"customer_id": "C-2"}


def test_a_call_without_a_card_yet_shows_nothing() -> None:
    runtimes = CallRuntimes(TaskOwner())
    runtimes.seen(Call(call_id="c2", source="pbx"))
    info = caller_info(live(hide=[]), runtimes, "c2", None)
    assert info == {"caller": None, "caller_name": None, "summary": {}}
