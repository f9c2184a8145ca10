"""Which asyncio event loop `screenpop run` and `screenpop demo` run on: `[server] event_loop`.

"auto" takes uvloop (libuv underneath: cheaper socket reads and writes, less loop overhead per
callback) when it can be imported, else the standard asyncio loop; "uvloop" insists on it and
refuses to start without it; "asyncio" is the standard loop always.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import platform
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from screenpop.errors import ConfigError

EventLoopChoice = Literal["auto", "uvloop", "asyncio"]
EVENT_LOOPS: tuple[EventLoopChoice, ...] = ("auto", "uvloop", "asyncio")


@dataclass(frozen=True)
class EventLoop:
    """The loop chosen: its name and version for the log, and the factory for asyncio.Runner
    (None: asyncio's own)."""

    name: str
    version: str
    factory: Callable[[], asyncio.AbstractEventLoop] | None

    def describe(self) -> str:
        return f"{self.name} {self.version}"


def choose_event_loop(choice: EventLoopChoice) -> EventLoop:
    """The loop `choice` means here; "uvloop" without uvloop installed is a ConfigError."""
    if choice != "asyncio":
        uvloop = _import_uvloop()
        if uvloop is not None:
            factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
            return EventLoop("uvloop", _version("uvloop"), factory)
        if choice == "uvloop":
            raise ConfigError(
                'server.event_loop = "uvloop" but uvloop cannot be imported here (it is built '
                'for Linux and macOS: `pip install uvloop`), or set event_loop = "auto"'
            )
    return EventLoop("asyncio", _python_version(), None)


def _import_uvloop() -> ModuleType | None:
    try:
        return importlib.import_module("uvloop")
    except ImportError:
        return None


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def _python_version() -> str:
    return f"(Python {platform.python_version()})"
