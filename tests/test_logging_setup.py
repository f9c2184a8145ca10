"""Logging setup: the options before or after the command, `[logging]`, JSON lines, the
startup line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from screenpop import __version__, cli
from screenpop.errors import ConfigError
from screenpop.logs import JsonFormatter, configure_logging
from screenpop.settings import load_settings, parse_settings

CONFIG = """
[logging]
level = "warning"
format = "json"

[[telephony]]
name = "pbx1"
kind = "simulator"

[[agents]]
id = "alice"
token = "alice-t"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "screenpop.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def options(argv: list[str], config: Path | None, environ: dict[str, str]) -> tuple[str, str]:
    args = cli.build_parser().parse_args(argv)
    settings = load_settings(config, environ={}) if config is not None else None
    return cli.log_options(args, settings, environ)


def test_log_options_before_or_after_the_command(config: Path) -> None:
    before = ["--log-level", "debug", "--log-format", "json", "check", "--config", str(config)]
    after = ["check", "--config", str(config), "--log-level", "DEBUG", "--log-format", "json"]
    assert options(before, None, {}) == ("DEBUG", "json")
    assert options(after, None, {}) == ("DEBUG", "json")
    both = ["--log-level", "ERROR", "check", "--log-level", "INFO"]
    assert options(both, None, {}) == ("INFO", "text")


def test_the_command_line_wins_over_the_environment_and_the_config(config: Path) -> None:
    check = ["check", "--config", str(config)]
    assert options(check, None, {}) == ("INFO", "text")
    assert options(check, config, {}) == ("WARNING", "json")
    assert options(check, config, {"SCREENPOP_LOG_LEVEL": "error"}) == ("ERROR", "json")
    flags = [*check, "--log-level", "DEBUG", "--log-format", "text"]
    assert options(flags, config, {"SCREENPOP_LOG_LEVEL": "error"}) == ("DEBUG", "text")
    with pytest.raises(ConfigError, match="SCREENPOP_LOG_FORMAT"):
        options(check, None, {"SCREENPOP_LOG_FORMAT": "xml"})


def test_an_unknown_level_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["check", "--log-level", "LOUD"])
    assert "LOUD" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"logging\.level"):
        parse_settings({"logging": {"level": "LOUD"}}, "test")


@contextmanager
def bare_root() -> Iterator[None]:
    """The root logger without pytest's handlers, restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    for handler in handlers:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def test_json_lines_for_log_shippers() -> None:
    with bare_root():
        configure_logging("INFO", "json")
        configure_logging("WARNING", "json")  # replaces the first, does not add a second
        root = logging.getLogger()
        assert len(root.handlers) == 1 and root.level == logging.WARNING
        handler = root.handlers[0]
        out = io.StringIO()
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(out)
        logging.getLogger("screenpop.pipeline").warning("call %s: not logged: %s", "c-9", "down")
        logging.getLogger("screenpop.x").info("below the level")
        logging.getLogger("screenpop.x").error("no call here")
    assert isinstance(handler.formatter, JsonFormatter)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert set(first) == {"time", "level", "logger", "message", "call_id"}
    assert first["level"] == "WARNING" and first["logger"] == "screenpop.pipeline"
    assert first["message"] == "call c-9: not logged: down" and first["call_id"] == "c-9"
    assert first["time"].endswith("+00:00")
    assert "call_id" not in second


def test_text_lines_by_default_and_a_foreign_handler_left_alone() -> None:
    with bare_root():
        configure_logging("INFO", "text")
        (handler,) = logging.getLogger().handlers
        assert not isinstance(handler.formatter, JsonFormatter)
    root = logging.getLogger()
    before = list(root.handlers)
    configure_logging("DEBUG", "json")  # pytest's handlers are on the root: nothing changes
    assert root.handlers == before


def test_the_startup_line_names_version_config_and_what_started(
    config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(config, environ={})
    caplog.set_level(logging.INFO, logger="screenpop")
    cli._announce(settings, config, 8080, demo=False)
    (line,) = [r.getMessage() for r in caplog.records if "started" in r.getMessage()]
    assert f"screenpop {__version__} started" in line
    assert f"config {config.resolve()}" in line
    assert "sources: pbx1 (simulator)" in line
    assert "connectors: none" in line and "1 agents" in line


def test_the_example_config_shows_the_logging_table() -> None:
    example = Path(__file__).resolve().parent.parent / "config" / "example.toml"
    text = example.read_text(encoding="utf-8")
    table = text[text.index("\n[logging]") :].split("\n[", 2)[1]
    assert "level =" in table and "format =" in table
    assert load_settings(example, environ={}).logging.format == "text"
