"""`screenpop check` as an ops engineer reads it: a row for the store, the cache, every connector
and every source; slow lookups flagged; connection errors naming where they tried."""

from __future__ import annotations

from pathlib import Path

import pytest

from screenpop.cli import main
from tests.harness import free_port


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "screenpop.toml"
    path.write_text(
        f"""
[store]
url = "sqlite+aiosqlite:///calls.db"

{body}

[[agents]]
id = "alice"
extensions = ["1001"]
token = "alice-t"
""",
        encoding="utf-8",
    )
    return path


def rows(out: str) -> dict[str, list[str]]:
    """WHAT/NAME -> the row's cells, from the printed table."""
    table: dict[str, list[str]] = {}
    for line in out.splitlines()[1:]:
        cells = line.split()
        if len(cells) >= 3:
            table[f"{cells[0]} {cells[1]}"] = cells
    return table


def run_check(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str]:
    code = main(["check", "--config", str(config), *args])
    return code, capsys.readouterr().out


def test_store_and_cache_have_their_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_check(capsys, write_config(tmp_path, ""))
    table = rows(out)
    assert table["store sqlite:calls.db"][2] == "ok"
    assert table["cache memory:"][2] == "ok"
    assert code == 0 and "all checks passed" in out


def test_an_unreachable_cache_fails_and_names_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    config = write_config(tmp_path, f'[cache]\nurl = "redis://127.0.0.1:{port}/15"')
    code, out = run_check(capsys, config)
    row = rows(out)[f"cache redis://127.0.0.1:{port}"]
    assert row[2] == "FAIL"
    assert f"127.0.0.1:{port}" in " ".join(row[4:])
    assert code == 1


def test_a_lookup_slower_than_its_deadline_is_slow_not_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = """
[[connectors]]
name = "crm"
kind = "tests.fakes.connectors:StaticConnector"
deadline_ms = 50
late_ms = 2000
sleep_ms = 200
records = { "+12125551234" = { name = "Jane Doe" } }
"""
    code, out = run_check(capsys, write_config(tmp_path, body), "--number", "+12125551234")
    row = rows(out)["connector crm"]
    assert row[2] == "slow"
    assert "deadline" in out
    assert code == 1


def test_a_webhook_source_is_listening_and_an_unreachable_pbx_names_its_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    body = f"""
[[telephony]]
name = "hook"
kind = "webhook"
flavor = "json"
secret = "s3cret"

[[telephony]]
name = "pbx"
kind = "ami"
host = "127.0.0.1"
port = {port}
username = "screenpop"
secret = "x"
connect_timeout_s = 1
"""
    code, out = run_check(capsys, write_config(tmp_path, body))
    table = rows(out)
    hook = " ".join(table["telephony:webhook hook"])
    assert "listening" in hook and "logged in" not in hook
    pbx = table["telephony:ami pbx"]
    assert pbx[2] == "FAIL"
    assert f"127.0.0.1:{port}" in " ".join(pbx)
    assert code == 1
