"""Reload without a restart: connectors and agents swap in place, agents stay connected."""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from screenpop import cli
from screenpop.daemon import Daemon
from screenpop.errors import ConfigError
from screenpop.events import CallEvent, EventKind
from screenpop.logs import LogSetup, configure_logging
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


# -- [logging] on reload --------------------------------------------------------------------------

LOGGING = """
[[agents]]
id = "sam"
role = "supervisor"
token = "ts"

[logging]
level = "{level}"
format = "{fmt}"
"""


def write_logging(path: Path, level: str, fmt: str, extra: str = "") -> None:
    write(path, "accounting", "Jane Doe", LOGGING.format(level=level, fmt=fmt) + extra)


@contextmanager
def screenpop_owns_logging(setup: LogSetup, config: Path) -> Iterator[None]:
    """The root logger as `screenpop run` leaves it (pytest's handlers set aside meanwhile)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    for handler in handlers:
        root.removeHandler(handler)
    try:
        configured = load_settings(config).logging
        assert configure_logging(*setup.choose(configured.level, configured.format))
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


async def admin_reload(port: int) -> tuple[int, str]:
    url = f"http://127.0.0.1:{port}/admin/reload"
    headers = {"Authorization": "Bearer ts"}
    async with aiohttp.ClientSession() as http, http.post(url, headers=headers) as response:
        return response.status, (await response.json())["message"]


async def test_a_reload_applies_a_new_logging_level_and_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "screenpop.toml"
    write_logging(path, "INFO", "text")
    with screenpop_owns_logging(LogSetup(), path):
        async with (
            Daemon(load_settings(path), path, LogSetup()) as daemon,
            daemon.web() as port,
            agent_tab(port, "ta") as alice,
        ):
            await alice.recv_type("hello")
            daemon.emit(ring("c1"))
            await alice.recv_type("pop")
            assert "INFO screenpop.pipeline.builds: call c1: caller" in capsys.readouterr().err

            write_logging(path, "WARNING", "json")
            status, message = await admin_reload(port)
            assert status == 200
            assert message.endswith("; [logging] applied: level WARNING, format json")
            daemon.emit(ring("c2"))
            await alice.recv_type("pop")
            write_logging(path, "WARNING", "json", extra="\n[cache]\nttl_s = 7\n")
            assert (await admin_reload(port))[0] == 200
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["level"] for line in lines] == ["WARNING"]  # no INFO line about c2 or requests
    assert lines[0]["message"] == "reload: [cache] changed; it takes effect after a restart"


async def test_a_level_chosen_on_the_command_line_still_wins_after_a_reload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "screenpop.toml"
    write_logging(path, "WARNING", "text")
    args = cli.build_parser().parse_args(["run", "--log-level", "DEBUG"])
    setup = cli.log_setup(args, {})
    assert setup == LogSetup("DEBUG", None)
    with screenpop_owns_logging(setup, path):
        async with Daemon(load_settings(path), path, setup) as daemon:
            write_logging(path, "ERROR", "json")
            summary = await daemon.reload()
            assert summary.endswith(
                "; [logging] applied: level DEBUG, format json"
                " (the level set on the command line or environment wins)"
            )
            assert logging.getLogger().level == logging.DEBUG
            capsys.readouterr()
            logging.getLogger("screenpop.test").debug("still shown")
            (line,) = [ln for ln in capsys.readouterr().err.splitlines() if "still shown" in ln]
    assert {"level": "DEBUG", "message": "still shown"}.items() <= json.loads(line).items()


async def test_logging_set_up_by_the_host_program_is_left_alone_and_said_so(
    tmp_path: Path,
) -> None:
    path = tmp_path / "screenpop.toml"
    write_logging(path, "INFO", "text")
    root = logging.getLogger()
    before = list(root.handlers)  # pytest's: it owns logging here
    async with Daemon(load_settings(path), path) as daemon:
        write_logging(path, "ERROR", "json")
        summary = await daemon.reload()
        write_logging(path, "ERROR", "json", extra="\n[cache]\nttl_s = 7\n")
        unchanged = await daemon.reload()
    assert summary.endswith("; [logging] changed: logging is set up by the program running "
                            "screenpop, kept")  # fmt: skip
    assert "[logging]" not in unchanged
    assert root.handlers == before
