"""Building, starting and closing the configured connectors as one unit.

Used by the daemon at start-up and on reload (a new set is started completely before it replaces
the old one, so an invalid config never leaves the daemon half-swapped), and by `screenpop check`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from screenpop.connectors.contract import Connector, ConnectorContext, find_kind
from screenpop.connectors.runtime import ConnectorRuntime
from screenpop.errors import ConfigError, ScreenpopError
from screenpop.settings import ConnectorSettings, validate_options

log = logging.getLogger(__name__)


def build_connector(
    entry: ConnectorSettings, base_dir: Path, keys: Sequence[str] = ()
) -> Connector:
    """Validate one `[[connectors]]` entry with its kind's own settings model and build it;
    `keys` are the `[lookup] keys` its query may use."""
    where = f"connectors.{entry.name}"
    factory = find_kind(entry.kind, where)
    fields = tuple(f.name for f in entry.create_fields)
    validation = {"keys": tuple(keys), "create_fields": fields}
    options = validate_options(factory.Settings, entry.options(), where, validation)
    context = ConnectorContext(
        base_dir=base_dir, deadline_ms=entry.late_ms, keys=tuple(keys), create_fields=fields
    )
    return factory(entry.name, options, context)


class ConnectorSet:
    """The started connectors of one configuration."""

    def __init__(self, runtimes: Sequence[ConnectorRuntime]) -> None:
        self.runtimes = list(runtimes)

    @classmethod
    async def start(
        cls, entries: Sequence[ConnectorSettings], base_dir: Path, keys: Sequence[str] = ()
    ) -> ConnectorSet:
        """Build and start every connector, or none: on any failure the started ones are closed
        and a ConfigError names the connector."""
        started = cls([])
        try:
            for entry in entries:
                connector = build_connector(entry, base_dir, keys)
                try:
                    await connector.start()
                except (ScreenpopError, OSError) as exc:
                    raise ConfigError(f"connectors.{entry.name}: cannot start: {exc}") from None
                started.runtimes.append(ConnectorRuntime(connector, entry))
        except BaseException:
            await started.aclose()
            raise
        return started

    async def aclose(self) -> None:
        """Close every connector; one failing to close does not keep the others open."""
        results = await asyncio.gather(
            *(r.connector.aclose() for r in self.runtimes), return_exceptions=True
        )
        for runtime, result in zip(self.runtimes, results, strict=True):
            if isinstance(result, Exception):
                log.warning("connector %s: close failed: %s", runtime.name, result)
        self.runtimes = []
