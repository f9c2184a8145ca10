"""The README's write-back walkthrough, run as written: the config snippet between its
`writeback-example:config` markers, pointed at a fake HTTP CRM on loopback, passes `screenpop
check` with a dry run, and a note saved through the running daemon reaches the CRM once, with
its `Idempotency-Key` and exactly the JSON fields the README's `writeback-example:json` shows."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from screenpop.cli import main
from screenpop.events import CallEvent, EventKind
from screenpop.settings import load_settings
from tests.fakes.crm_http import FakeCrm, crm_in_thread
from tests.harness import agent_tab, running
from tests.test_writeback_daemon import next_of, post_note

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLE_HOST = "https://crm.example.com"
JANE = "+12125551234"
TOKEN = "readme-token"
BASE = """
[server]
port = 0
public_origin = "http://127.0.0.1"

[store]
url = "sqlite+aiosqlite:///store.db"

[[agents]]
id = "alice"
extensions = ["1001"]
token = "ta"
"""


def readme_block(name: str, language: str) -> str:
    """The fenced block of `language` between the README's `<!-- name -->` markers."""
    text = README.read_text(encoding="utf-8")
    found = re.search(
        rf"<!-- {name} -->\s*```{language}\n(.*?)\n\s*```\s*<!-- /{name} -->", text, re.S
    )
    assert found is not None, f"README.md has no {language} block between <!-- {name} --> markers"
    lines = found.group(1).splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines)


@pytest.fixture
def crm() -> Iterator[FakeCrm]:
    """The fake CRM on a loop of its own thread, so `screenpop check` (which runs its own
    event loop) and the daemon both reach it."""
    server = FakeCrm("/v1/activities", {JANE: {"customer_id": "C-1042", "name": "Jane Doe"}})
    with crm_in_thread(server):
        yield server


def test_the_readme_example_config_writes_a_note_back_once(
    crm: FakeCrm,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    snippet = readme_block("writeback-example:config", "toml")
    assert snippet.count(EXAMPLE_HOST) == 2, "the test points the snippet's host at the fake"
    config = tmp_path / "screenpop.toml"
    local = snippet.replace(EXAMPLE_HOST, f"http://127.0.0.1:{crm.port}")
    config.write_text(BASE + "\n" + local + "\n", encoding="utf-8")
    monkeypatch.setenv("CRM_TOKEN", TOKEN)

    assert main(["check", "--config", str(config)]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    crm_row = next(line for line in out.splitlines() if " crm " in line)
    assert "connection ok, write-back dry run ok" in crm_row
    assert (crm.dry_runs, crm.applied) == (1, [])

    asyncio.run(save_a_note(load_settings(config), crm))
    assert len(crm.applied) == 1, crm.applied
    assert crm.attempts == 2, "one dry run, then the note once"
    (body,), (headers,) = crm.applied, crm.headers
    assert headers["Idempotency-Key"] == "readme-note-1" == body["record_id"]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    shown: dict[str, Any] = json.loads(readme_block("writeback-example:json", "json"))
    assert list(body) == list(shown), "the README shows the fields the CRM receives, in order"
    assert (body["kind"], body["text"], body["disposition"]) == (
        "note",
        "refund please",
        "callback",
    )
    assert (body["customer_id"], body["e164"], body["agent"]) == ("C-1042", JANE, "alice")
    assert (body["direction"], body["queue"], body["talk_s"]) == ("inbound", "support", None)
    assert datetime.fromisoformat(body["at"]).utcoffset() is not None
    assert all(type(body[key]) is type(value) for key, value in shown.items()), (
        "each field has the type the README shows"
    )


async def save_a_note(settings: Any, crm: FakeCrm) -> None:
    async with running(settings) as (daemon, port), agent_tab(port, "ta") as tab:
        await tab.recv_type("hello")
        for kind in (EventKind.RINGING, EventKind.ANSWERED):
            daemon.emit(CallEvent("t", "c1", kind, JANE, None, "1001", queue="support"))
        pop = await next_of(tab, "pop")
        assert pop["call_id"] == "c1"
        note = {"disposition": "callback", "text": "refund please", "id": "readme-note-1"}
        status, saved = await post_note(port, "c1", note["text"], note["id"], note["disposition"])
        assert status == 201, saved
        record = await next_of(tab, "record")
        assert (record["note_id"], record["connector"], record["state"]) == (
            "readme-note-1",
            "crm",
            "synced",
        )
