"""Reload without a restart: connectors and agents swap in place, agents stay connected."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from screenpop.daemon import Daemon
from screenpop.errors import ConfigError
from screenpop.events import CallEvent, EventKind
from screenpop.settings import load_settings
from tests.harness import agent_tab

CONFIG = """
[server]
port = 0
public_origin = "http://127.0.0.1"

[store]
url = "sqlite+aiosqlite:///store.db"

[[connectors]]
name = "{name}"
kind = "tests.fakes.connectors:StaticConnector"
records = {{ "+12125551234" = {{ name = "{customer}" }} }}

[[agents]]
id = "alice"
extensions = ["1001"]
token = "ta"
"""


def write(path: Path, name: str, customer: str, extra: str = "") -> None:
    path.write_text(CONFIG.format(name=name, customer=customer) + extra, encoding="utf-8")


def ring(call_id: str) -> CallEvent:
    return CallEvent("pbx", call_id, EventKind.RINGING, caller="+12125551234", endpoint="1001")


async def test_reload_swaps_connectors_while_the_agent_stays_connected(tmp_path: Path) -> None:
    path = tmp_path / "screenpop.toml"
    write(path, "accounting", "Jane Doe")
    async with Daemon(load_settings(path), path) as daemon, daemon.web() as port:
        async with agent_tab(port, "ta") as alice:
            await alice.recv_type("hello")
            daemon.emit(ring("c1"))
            first = await alice.recv_type("pop")
            assert first["card"]["summary"]["name"] == "Jane Doe"
            assert list(first["card"]["sections"]) == ["accounting"]
            old = daemon.lookup.connectors[0].connector if daemon.lookup else None

            write(path, "crm", "Jane Q. Doe")
            summary = await daemon.reload()
            assert "1 connectors" in summary

            daemon.emit(ring("c2"))
            second = await alice.recv_type("pop")
            assert second["seq"] == first["seq"] + 1
            assert list(second["card"]["sections"]) == ["crm"]
            assert second["card"]["summary"]["name"] == "Jane Q. Doe"
            # the call that was ringing before the reload is still known
            daemon.emit(CallEvent("pbx", "c1", EventKind.ANSWERED, endpoint="1001"))
            answered = await alice.recv_type("call")
            assert (answered["call_id"], answered["state"]) == ("c1", "answered")
        assert old is not None and getattr(old, "closed", None) is False  # closed after a grace


async def test_an_invalid_config_is_refused_and_the_old_one_keeps_running(tmp_path: Path) -> None:
    path = tmp_path / "screenpop.toml"
    write(path, "accounting", "Jane Doe")
    async with Daemon(load_settings(path), path) as daemon, daemon.web() as port:
        write(path, "accounting", "Jane Doe", extra="\n[cache]\nttl = 5\n")
        with pytest.raises(ConfigError, match=r"cache\.ttl: unknown key"):
            await daemon.reload()
        write(path, "accounting", "Jane Doe", extra='\n[[connectors]]\nname = "x"\nkind = "nope"\n')
        with pytest.raises(ConfigError, match="unknown connector kind 'nope'"):
            await daemon.reload()
        async with agent_tab(port, "ta") as alice:
            await alice.recv_type("hello")
            daemon.emit(ring("c3"))
            pop = await alice.recv_type("pop")
            assert pop["card"]["summary"]["name"] == "Jane Doe"


async def test_sighup_reloads_the_running_daemon(tmp_path: Path) -> None:
    path = tmp_path / "screenpop.toml"
    write(path, "accounting", "Jane Doe")
    async with Daemon(load_settings(path), path) as daemon:
        import asyncio

        served = asyncio.create_task(daemon.serve())
        try:
            for _ in range(100):
                if daemon.web_port:
                    break
                await asyncio.sleep(0.02)
            write(path, "billing", "Jane Doe")
            os.kill(os.getpid(), signal.SIGHUP)
            for _ in range(100):
                if daemon.lookup and daemon.lookup.connectors[0].name == "billing":
                    break
                await asyncio.sleep(0.02)
            assert daemon.lookup is not None and daemon.lookup.connectors[0].name == "billing"
        finally:
            served.cancel()
            await asyncio.gather(served, return_exceptions=True)
