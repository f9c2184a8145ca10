"""The simulator's caller pool: the file of callers it makes calls from, dealt in rounds."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from screenpop.errors import ConfigError


@dataclass(frozen=True, slots=True)
class PoolCaller:
    """One line of the caller pool."""

    raw: str
    name: str | None = None


def parse_pool(text: str) -> list[PoolCaller]:
    """The callers in a pool file's text; blank lines and `#` comments are skipped."""
    callers = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        raw, _, name = line.partition("|")
        callers.append(PoolCaller(raw.strip(), name.strip() or None))
    return callers


def load_pool(path: Path) -> list[PoolCaller]:
    """Read the pool file. Raises ConfigError when it is missing, unreadable or empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: caller pool file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: caller pool unreadable: {exc}") from None
    callers = parse_pool(text)
    if not callers:
        raise ConfigError(f"{path}: caller pool has no callers")
    return callers


class Deck:
    """Deals the pool's callers in shuffled rounds, so every caller comes up in turn."""

    def __init__(self, callers: Sequence[PoolCaller], rng: random.Random) -> None:
        self._callers = list(callers)
        self._rng = rng
        self._left: list[PoolCaller] = []

    def deal(self) -> PoolCaller:
        if not self._left:
            self._left = list(self._callers)
            self._rng.shuffle(self._left)
        return self._left.pop()
