"""A test connector that also searches (the optional `search()` of the connector contract)."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from screenpop.errors import ConnectorError
from tests.fakes.connectors import StaticConnector, StaticSettings


class SearchingSettings(StaticSettings):
    model_config = ConfigDict(extra="forbid")
    search_sleep_ms: int = 0  # search answers this late
    search_fail: str | None = None  # search raises ConnectorError with this message


class SearchingConnector(StaticConnector):
    """Looks up like StaticConnector; searches its records by name or customer id."""

    Settings: ClassVar[type[BaseModel]] = SearchingSettings

    async def search(self, q: str) -> list[dict[str, Any]]:
        settings = self.settings
        assert isinstance(settings, SearchingSettings)
        if settings.search_sleep_ms:
            await asyncio.sleep(settings.search_sleep_ms / 1000)
        if settings.search_fail is not None:
            raise ConnectorError(settings.search_fail)
        needle = q.casefold()
        found = []
        for number, value in settings.records.items():
            for record in value if isinstance(value, list) else [value]:
                text = f"{record.get('name', '')} {record.get('customer_id', '')}".casefold()
                if needle in text:
                    found.append({**record, "numbers": [number]})
        return found
