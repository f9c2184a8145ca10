"""`[server] event_loop` / `--event-loop`: which event loop `screenpop run` runs on.

The end-to-end test starts `screenpop run` as its own process on each loop, with the fake
Asterisk as its PBX, the real Redis as its cache and the call log in SQLite or a scratch
PostgreSQL database: a call pops at the agent's websocket, a SIGHUP reload swaps the connector's
records (the next caller pops with the new name), SIGTERM stops it cleanly, and the log's first
lines say which loop it ran on.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from screenpop.cli import main
from screenpop.errors import ConfigError
from screenpop.event_loop import choose_event_loop
from screenpop.settings import load_settings
from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.faults import Inbox, wait_readiness
from tests.fakes.pbx_traffic import ALICE, AmiPhones, caller
from tests.fakes.postgres import scratch_database
from tests.harness import agent_tab, free_port, screenpop_run, until

UVLOOP_VERSION = importlib.metadata.version("uvloop")


@pytest.fixture
def no_uvloop(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a platform without uvloop: importing it fails."""
    monkeypatch.setitem(sys.modules, "uvloop", None)
    yield


def test_auto_and_uvloop_take_uvloop_when_it_is_installed() -> None:
    for choice in ("auto", "uvloop"):
        chosen = choose_event_loop(choice)
        assert chosen.describe() == f"uvloop {UVLOOP_VERSION}"
        assert chosen.factory is not None
        with asyncio.Runner(loop_factory=chosen.factory) as runner:
            assert type(runner.get_loop()).__module__.startswith("uvloop")


def test_asyncio_is_the_standard_loop() -> None:
    chosen = choose_event_loop("asyncio")
    assert chosen.name == "asyncio" and chosen.factory is None
    with asyncio.Runner(loop_factory=chosen.factory) as runner:
        assert isinstance(runner.get_loop(), asyncio.BaseEventLoop)


@pytest.mark.usefixtures("no_uvloop")
def test_without_uvloop_auto_falls_back_and_uvloop_refuses() -> None:
    assert choose_event_loop("auto").name == "asyncio"
    with pytest.raises(ConfigError, match='event_loop = "uvloop" but uvloop cannot be imported'):
        choose_event_loop("uvloop")


@pytest.mark.usefixtures("no_uvloop")
def test_run_without_uvloop_says_why_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "screenpop.toml"
    path.write_text('[server]\nport = 0\nevent_loop = "uvloop"\n', encoding="utf-8")
    assert main(["run", "--config", str(path)]) == 2
    assert "uvloop cannot be imported" in capsys.readouterr().err


def test_an_unknown_event_loop_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "screenpop.toml"
    path.write_text('[server]\nevent_loop = "tokio"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"server\.event_loop"):
        load_settings(path)


def write_config(
    folder: Path, port: int, ami_port: int, store: str, cache: tuple[str, str], names: int
) -> Path:
    """The daemon's config; the connector knows the first `names` callers (Customer 0, 1, ...)."""
    records = "\n".join(
        f'"{caller(n)}" = {{ customer_id = "C{n}", name = "Customer {n}" }}' for n in range(names)
    )
    path, (redis, prefix) = folder / "screenpop.toml", cache
    path.write_text(
        f"""
[server]
port = {port}
public_origin = "http://127.0.0.1:{port}"
event_loop = "uvloop"

[cache]
url = "{redis}"
key_prefix = "{prefix}"

[store]
url = "{store}"

[[telephony]]
name = "pbx1"
kind = "ami"
port = {ami_port}
username = "screenpop"
secret = "s3cret"

[[connectors]]
name = "accounting"
kind = "tests.fakes.connectors:StaticConnector"

[connectors.records]
{records}

[[agents]]
id = "alice"
extensions = ["PJSIP/1001"]
token = "ta"
""",
        encoding="utf-8",
    )
    return path


def log_of(config: Path) -> str:
    return (config.parent / "daemon.log").read_text(encoding="utf-8", errors="replace")


@contextlib.asynccontextmanager
async def store_url(kind: str, folder: Path, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'calls.db'}"
        return
    async with scratch_database(request.getfixturevalue("postgres_url")) as (host, port, name):
        yield f"postgresql+asyncpg://postgres@{host}:{port}/{name}"


@pytest.mark.parametrize(
    ("database", "options", "loop"),
    [
        ("sqlite", (), f"uvloop {UVLOOP_VERSION}"),
        ("postgresql", (), f"uvloop {UVLOOP_VERSION}"),
        ("sqlite", ("--event-loop", "asyncio"), "asyncio (Python"),
    ],
    ids=["uvloop-sqlite", "uvloop-postgresql", "flag-asyncio-sqlite"],
)
async def test_run_pops_reloads_and_stops_on_the_chosen_loop(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    redis_cleanup: str,
    database: str,
    options: tuple[str, ...],
    loop: str,
) -> None:
    folder = tmp_path
    server = FakeAsterisk()
    ami_port = await server.start()
    port = free_port()
    phones = AmiPhones(server)
    cache = (request.getfixturevalue("redis_url"), redis_cleanup)
    try:
        async with store_url(database, folder, request) as url:
            config = write_config(folder, port, ami_port, url, cache, names=1)
            async with (
                screenpop_run(config, folder / "daemon.log", *options) as proc,
                agent_tab(port, "ta") as tab,
                Inbox(tab) as alice,
            ):
                await wait_readiness(port, True)
                first = await phones.ring(ALICE, caller(0))
                await until(lambda: bool(alice.pops_of(first)), "the first call pops")
                assert alice.calls[first].pops[0]["card"]["summary"]["name"] == "Customer 0"

                write_config(folder, port, ami_port, url, cache, names=2)
                proc.send_signal(signal.SIGHUP)
                await until(lambda: "reloaded " in log_of(config), "the reload is logged")
                second = await phones.ring(ALICE, caller(1))
                await until(lambda: bool(alice.pops_of(second)), "the second call pops")
                assert alice.calls[second].pops[0]["card"]["summary"]["name"] == "Customer 1"

                proc.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        await server.stop()
    text = log_of(config)
    assert f"event loop: {loop}" in text, text
    assert "stopped cleanly" in text, text
    assert "Traceback" not in text and " ERROR " not in text, text
    assert "[server] changed" not in text, text  # --event-loop is not taken for a config change
