"""A third-party connector plugin, found through its entry point and used in a real pop.

The plugin is the installed package in tests/plugins/example_connector (`make test` installs it
with ``pip install -e tests/plugins/example_connector``); nothing here imports it directly.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from screenpop.connectors.contract import ENTRY_POINT_GROUP, find_kind
from screenpop.daemon import Daemon
from screenpop.delivery.hub import Message, Subscription
from screenpop.errors import ConfigError
from screenpop.events import CallEvent, EventKind
from screenpop.settings import Settings, parse_settings, validate_options

JANE = "+12125551234"


@pytest.fixture
def tiers(tmp_path: Path) -> Path:
    (tmp_path / "tiers.csv").write_text(
        "number,tier,points\n(212) 555-1234,gold,1200\n", encoding="utf-8"
    )
    return tmp_path


def settings(base_dir: Path, **loyalty: Any) -> Settings:
    raw: dict[str, Any] = {
        "store": {"url": f"sqlite+aiosqlite:///{base_dir / 'store.db'}"},
        "connectors": [{"name": "loyalty", "kind": "example", **loyalty}],
        "agents": [{"id": "alice", "extensions": ["PJSIP/1001"], "token": "ta"}],
        "base_dir": base_dir,
    }
    return parse_settings(raw, "test.toml")


def ring(call_id: str, caller: str) -> CallEvent:
    return CallEvent("pbx", call_id, EventKind.RINGING, caller=caller, endpoint="PJSIP/1001")


async def next_message(sub: Subscription) -> Message:
    message = await sub.next()
    assert message is not None
    return message


def test_the_plugin_is_found_through_its_entry_point() -> None:
    (entry,) = entry_points(group=ENTRY_POINT_GROUP, name="example")
    assert entry.dist is not None and entry.dist.name == "screenpop-example-connector"
    factory = find_kind("example", "connectors.loyalty")
    assert factory is entry.load()
    assert factory.__name__ == "LoyaltyConnector"
    assert "example" in {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"file": "tiers.csv", "colour": "gold"}, "  colour: unknown key"),
        ({}, "  file: Field required"),
        ({"file": "tiers.csv", "default_region": "USA"}, "  default_region: String should have"),
        ({"file": "tiers.csv", "recheck_s": -1}, "  recheck_s: Input should be greater than"),
    ],
)
def test_the_plugin_validates_its_options_with_its_own_model(
    options: dict[str, Any], complaint: str
) -> None:
    factory = find_kind("example", "connectors.loyalty")
    with pytest.raises(ConfigError) as caught:
        validate_options(factory.Settings, options, "connectors.loyalty")
    message = str(caught.value)
    assert message.startswith("connectors.loyalty: invalid configuration\n")
    assert complaint in message


async def test_the_daemon_refuses_to_start_with_a_bad_plugin_option(tiers: Path) -> None:
    with pytest.raises(ConfigError, match=r"connectors\.loyalty: .*\n  colour: unknown key"):
        async with Daemon(settings(tiers, file="tiers.csv", colour="gold")):
            pass


async def test_the_plugin_fills_its_section_of_a_real_pop(tiers: Path) -> None:
    async with Daemon(settings(tiers, file="tiers.csv")) as daemon:
        alice = daemon.hub.subscribe("alice")
        daemon.emit(ring("c1", "(212) 555-1234"))
        pop = await next_message(alice)
        assert (pop["type"], pop["call_id"], pop["state"]) == ("pop", "c1", "ringing")
        section = pop["card"]["sections"]["loyalty"]
        assert section["status"] == "ok"
        assert section["data"] == {"tier": "gold", "points": "1200"}

        daemon.emit(ring("c2", "+44 20 7946 0018"))
        stranger = await next_message(alice)
        assert stranger["call_id"] == "c2"
        assert stranger["card"]["sections"]["loyalty"]["status"] == "not_found"

        text = daemon.metrics_text().decode()
        assert 'screenpop_connector_outcomes_total{connector="loyalty",outcome="ok"} 1.0' in text


async def test_a_missing_file_is_an_error_section_not_a_failed_daemon(tmp_path: Path) -> None:
    async with Daemon(settings(tmp_path, file="nowhere.csv")) as daemon:
        alice = daemon.hub.subscribe("alice")
        daemon.emit(ring("c1", JANE))
        section = (await next_message(alice))["card"]["sections"]["loyalty"]
        assert section["status"] == "error"
        assert section["error"] == "loyalty file nowhere.csv cannot be read"
