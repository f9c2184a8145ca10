"""A back-office connector for the web tests, loaded by import path.

`kind = "tests.fakes.web_connectors:StaticConnector"`; it answers from its `records` option
(e164 -> one record or a list of records), optionally after `sleep_ms`, like a real connector.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from screenpop.connectors.contract import ConnectorContext, LookupQuery, LookupResult

KIND = "tests.fakes.web_connectors:StaticConnector"


class StaticSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: dict[str, Any] = {}
    sleep_ms: int = 0


class StaticConnector:
    """Answers from `records`; `None` (not found) for any other number."""

    Settings: ClassVar[type[BaseModel]] = StaticSettings

    def __init__(self, name: str, settings: StaticSettings, context: ConnectorContext) -> None:
        self.name = name
        self.settings = settings

    async def start(self) -> None:
        return None

    async def lookup(self, query: LookupQuery) -> LookupResult:
        if self.settings.sleep_ms:
            await asyncio.sleep(self.settings.sleep_ms / 1000)
        result: LookupResult = self.settings.records.get(query.e164)
        return result

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


JANE = "+12125551234"
SCRIPT_NAME = "<script>alert(1)</script> O'Brien & Co"
SCRIPT_CALLER = "+13125550100"

BACK_OFFICE: dict[str, dict[str, Any]] = {
    "accounting": {
        JANE: {
            "customer_id": "C-1042",
            "name": "Jane Doe",
            "balance": 120.5,
            "currency": "USD",
            "last_payment": {"date": "2026-11-02", "amount": 80.0},
        },
        SCRIPT_CALLER: {"customer_id": "C-666", "name": SCRIPT_NAME, "balance": 1.0},
    },
    "sales": {
        JANE: {
            "customer_id": "C-1042",
            "recent_purchases": [
                {"item": "Widget Pro", "date": "2026-10-01", "amount": 49.0},
                {"item": "Gadget", "date": "2026-09-12", "amount": 19.5},
            ],
            "next_offer": "Widget Pro care plan",
        },
        SCRIPT_CALLER: {"next_offer": "<img src=x onerror=alert(2)>"},
    },
    "credit": {
        JANE: {"terms": "net 30", "limit": 5000, "internal_score": 712},
    },
}


def web_settings_raw(tmp_path: Any, port: int = 0, origin: str | None = None) -> dict[str, Any]:
    """A complete config for the web tests: three connectors, agents of three roles."""
    return {
        "server": {
            "port": port,
            "public_origin": origin or f"http://127.0.0.1:{port}",
            "session_secret": "test-secret",
        },
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"},
        "connectors": [
            {"name": name, "kind": KIND, "records": records, "priority": i}
            for i, (name, records) in enumerate(BACK_OFFICE.items())
        ],
        "agents": [
            {"id": "alice", "name": "Alice Moreau", "extensions": ["1001"], "token": "alice-t"},
            {"id": "bob", "name": "Bob", "extensions": ["1002"], "token": "bob-t"},
            {"id": "sam", "name": "Sam", "role": "supervisor", "token": "sam-t"},
            {"id": "sid", "name": "Sid", "role": "sales", "extensions": ["1003"], "token": "sid-t"},
        ],
        "roles": {
            "agent": {
                "sections": ["accounting", "sales", "credit"],
                "hide": ["credit.internal_score"],
            },
            "supervisor": {"board": True},
            "sales": {"sections": ["sales"]},
        },
        "base_dir": tmp_path,
    }
