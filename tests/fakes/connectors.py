"""Back-office connectors for tests, loaded by import path (`kind = "tests.fakes.connectors:..."`).

They follow the connector contract (screenpop/connectors/contract.py) like any real connector;
what they answer comes from their options, so each test says in its config what the back office
knows.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from screenpop.connectors.contract import ConnectorContext, LookupQuery, LookupResult
from screenpop.errors import ConnectorError


class StaticSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: dict[str, Any] = {}  # e164 -> one record or a list of records
    sleep_ms: int = 0  # answer this late
    fail: str | None = None  # raise ConnectorError with this message
    crash: bool = False  # raise a non-connector exception (a bug in the connector)


class StaticConnector:
    """Answers from `records`, after `sleep_ms`, or fails as told. Counts its lookups."""

    Settings: ClassVar[type[BaseModel]] = StaticSettings

    def __init__(self, name: str, settings: StaticSettings, context: ConnectorContext) -> None:
        self.name = name
        self.settings = settings
        self.lookups = 0
        self.closed = False

    async def start(self) -> None:
        return None

    async def lookup(self, query: LookupQuery) -> LookupResult:
        self.lookups += 1
        if self.settings.sleep_ms:
            await asyncio.sleep(self.settings.sleep_ms / 1000)
        if self.settings.crash:
            raise RuntimeError("connector bug")
        if self.settings.fail is not None:
            raise ConnectorError(self.settings.fail)
        result: LookupResult = self.settings.records.get(query.e164)
        return result

    async def check(self) -> None:
        if self.settings.fail is not None:
            raise ConnectorError(self.settings.fail)

    async def aclose(self) -> None:
        self.closed = True
