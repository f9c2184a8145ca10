"""A started connector with its common settings and its guard rails, as the fan-out uses it."""

from __future__ import annotations

from dataclasses import dataclass, field

from screenpop.connectors.contract import Connector
from screenpop.connectors.guard import ConnectorGuard
from screenpop.settings import ConnectorSettings


@dataclass(frozen=True, slots=True)
class ConnectorRuntime:
    """A started connector with the common settings and the guard rails the fan-out needs.

    The guard (breaker, concurrency limit) is built from the settings and lives as long as the
    runtime: a reload that keeps a runtime keeps its breaker state.
    """

    connector: Connector
    settings: ConnectorSettings
    guard: ConnectorGuard = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        s = self.settings
        guard = ConnectorGuard(
            s.name,
            max_concurrency=s.max_concurrency,
            breaker_failures=s.breaker_failures,
            breaker_cooloff_s=s.breaker_cooloff_s,
        )
        object.__setattr__(self, "guard", guard)

    @property
    def name(self) -> str:
        return self.settings.name
