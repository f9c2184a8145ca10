"""The flags and links of `[sections]` layouts are worked out in the daemon, per role: the
websocket card, `GET /api/cards/{number}` and `screenpop lookup` carry the same ones, and the
agent page is given its role's layouts (its hidden fields left out)."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from screenpop import commands
from screenpop.daemon import Daemon
from screenpop.events import CallEvent, EventKind
from screenpop.settings import Settings, parse_settings
from tests.fakes.web_connectors import JANE, web_settings_raw

SECTIONS: dict[str, Any] = {
    "accounting": {
        "fields": [
            {"path": "balance", "label": "Balance", "format": "money", "currency_path": "currency"}
        ],
        "highlight": [{"when": "balance > 100", "level": "alert", "text": "large balance"}],
        "link": "https://erp.example/accounts/{customer_id}",
    },
    "credit": {
        "fields": [
            {"path": "limit", "label": "Limit", "format": "money", "currency": "USD"},
            {"path": "internal_score", "label": "Score", "format": "number"},
        ],
        "highlight": [
            {"when": 'terms == "net 30"', "level": "info", "text": "standard terms"},
            {"when": "internal_score > 700", "level": "info", "text": "good score"},
        ],
    },
}
ALICE = [  # the agent role does not see the internal score: its rule raises nothing
    {"section": "accounting", "field": "balance", "level": "alert", "text": "large balance"},
    {"section": "credit", "field": "terms", "level": "info", "text": "standard terms"},
]


def settings(tmp_path: Path) -> Settings:
    raw = copy.deepcopy(web_settings_raw(tmp_path))
    raw["sections"] = SECTIONS
    return parse_settings(raw, "test")


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Daemon, str]]:
    async with Daemon(settings(tmp_path)) as daemon, daemon.web() as port:
        yield daemon, f"http://127.0.0.1:{port}"


async def pop_card(session: aiohttp.ClientSession, daemon: Daemon) -> dict[str, Any]:
    headers = {"Authorization": "Bearer alice-t"}
    async with session.ws_connect("/ws", headers=headers) as ws:
        await ws.receive_json()  # hello
        daemon.emit(CallEvent("t", "c1", EventKind.RINGING, JANE, None, "1001", "support"))
        async with asyncio.timeout(10):
            while True:
                message = await ws.receive_json()
                if message["type"] == "pop":
                    card: dict[str, Any] = message["card"]
                    return card


async def test_the_websocket_the_api_and_the_cli_carry_the_same_flags_and_link(
    served: tuple[Daemon, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon, base = served
    async with aiohttp.ClientSession(base) as session:
        popped = await pop_card(session, daemon)
        headers = {"Authorization": "Bearer alice-t"}
        async with session.get(f"/api/cards/{JANE}", headers=headers) as response:
            assert response.status == 200
            api = await response.json()
    assert popped["flags"] == api["flags"] == ALICE
    link = "https://erp.example/accounts/C-1042"
    assert popped["sections"]["accounting"]["link"] == api["sections"]["accounting"]["link"] == link
    assert "link" not in api["sections"]["credit"]

    assert await commands.lookup(settings(tmp_path), JANE, "agent") == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["flags"] == ALICE
    assert cli["sections"]["accounting"]["link"] == link
    assert await commands.lookup(settings(tmp_path), JANE, None) == 0  # no role: everything
    texts = [f["text"] for f in json.loads(capsys.readouterr().out)["flags"]]
    assert texts == ["large balance", "standard terms", "good score"]


LAYOUTS = re.compile(r'<script type="application/json" id="layouts">(.*?)</script>', re.S)


@pytest.mark.parametrize(
    ("who", "token", "expected"),
    [
        ("alice", "alice-t", {"accounting": ["balance"], "credit": ["limit"]}),
        ("sam", "sam-t", {"accounting": ["balance"], "credit": ["limit", "internal_score"]}),
        ("sid", "sid-t", {}),  # sales only: no layout for it
    ],
)
async def test_the_agent_page_gets_its_role_s_layouts(
    served: tuple[Daemon, str], who: str, token: str, expected: dict[str, list[str]]
) -> None:
    _, base = served
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base, cookie_jar=jar) as session:
        form = {"agent_id": who, "token": token}
        async with session.post("/", data=form, allow_redirects=False) as response:
            assert response.status == 303
        async with session.get("/agent") as response:
            page = await response.text()
    found = LAYOUTS.search(page)
    assert found is not None
    layouts = json.loads(found.group(1))
    assert {name: [f["path"] for f in lay["fields"]] for name, lay in layouts.items()} == expected
    if "accounting" in layouts:
        assert layouts["accounting"]["link"] is True
        assert layouts["accounting"]["fields"][0] == {
            "path": "balance",
            "label": "Balance",
            "format": "money",
            "currency_path": "currency",
        }
