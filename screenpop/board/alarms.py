"""The board's thresholds and alarms: which figure of which queue is beyond its limit.

Sans-I/O and computed once per snapshot in the daemon, never per tab. A :class:`Limit` has a
`warn` and an `alert` value (either may be absent); a figure beyond one is at that level. For the
waiting count and the longest wait, beyond means above; for the service level, below. Besides the
figures, "callers waiting, nobody available": callers wait in a queue, none of them is ringing
an agent, and no agent who takes that queue is available. The board knows who takes a queue only
from its calls (an agent a call of the queue rang or reached, since the daemon started); for a
queue whose calls have reached nobody yet, every agent counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT = "default"  # the thresholds of every queue without its own
WARN, ALERT = "warn", "alert"
FIGURES = ("waiting", "longest_wait_s", "service_level")
_RANK = {None: 0, WARN: 1, ALERT: 2}


@dataclass(frozen=True, slots=True)
class Limit:
    """A figure's warn and alert values; `lower_is_worse` for the service level."""

    warn: float | None = None
    alert: float | None = None
    lower_is_worse: bool = False

    def level(self, value: float | None) -> str | None:
        """`alert`, `warn` or None for `value` (None: no figure, no level)."""
        if value is None:
            return None
        if self.alert is not None and self._beyond(value, self.alert):
            return ALERT
        if self.warn is not None and self._beyond(value, self.warn):
            return WARN
        return None

    def limit(self, level: str) -> float | None:
        return self.alert if level == ALERT else self.warn

    def _beyond(self, value: float, limit: float) -> bool:
        return value < limit if self.lower_is_worse else value > limit


def _service_level() -> Limit:
    return Limit(warn=0.8, alert=0.6, lower_is_worse=True)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """One queue's limits. The defaults: service level amber below 80 %, red below 60 %; no
    limit on the waiting count or the longest wait; "nobody available" on."""

    waiting: Limit = field(default_factory=Limit)
    longest_wait_s: Limit = field(default_factory=Limit)
    service_level: Limit = field(default_factory=_service_level)
    nobody_available: bool = True


def thresholds_for(table: Mapping[str, Thresholds], queue: str) -> Thresholds:
    """The queue's own thresholds, else the default ones, else the built-in defaults."""
    found = table.get(queue) or table.get(DEFAULT)
    return found if found is not None else Thresholds()


@dataclass(frozen=True, slots=True)
class QueueNow:
    """What the alarms look at in one queue at one moment."""

    name: str
    waiting: int
    unrung: int  # callers waiting that ring nobody
    longest_wait_s: float
    service_level: float | None
    anyone_available: bool


def levels(th: Thresholds, q: QueueNow) -> dict[str, str | None]:
    """Each figure's level: `{"waiting", "longest_wait_s", "service_level"}`."""
    return {
        "waiting": th.waiting.level(q.waiting),
        "longest_wait_s": th.longest_wait_s.level(q.longest_wait_s if q.waiting else None),
        "service_level": th.service_level.level(q.service_level),
    }


def alarms(th: Thresholds, q: QueueNow, found: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """The queue's alarms: one per figure beyond a limit, and "nobody available"."""
    out = []
    for kind in FIGURES:
        level = found.get(kind)
        if level is not None:
            limit = getattr(th, kind).limit(level)
            out.append(_alarm(q.name, kind, level, getattr(q, kind), limit))
    if th.nobody_available and q.unrung and not q.anyone_available:
        out.append(_alarm(q.name, "nobody_available", ALERT, q.unrung, None))
    return out


def _alarm(queue: str, kind: str, level: str, value: Any, limit: float | None) -> dict[str, Any]:
    return {
        "queue": queue,
        "kind": kind,
        "level": level,
        "value": value,
        "limit": limit,
        "text": _text(queue, kind, value, limit),
    }


def _text(queue: str, kind: str, value: Any, limit: float | None) -> str:
    if kind == "waiting":
        return f"{queue}: {value} waiting (limit {limit:g})"
    if kind == "longest_wait_s":
        return f"{queue}: a caller has waited {value:.0f} s (limit {limit:g} s)"
    if kind == "service_level":
        return f"{queue}: service level {value:.0%} (limit {limit or 0:.0%})"
    return f"{queue}: nobody available, {value} waiting"


def worst(found: Iterable[Mapping[str, str | None]]) -> dict[str, str | None]:
    """Per figure, the worst level among the queues (the headline's colours)."""
    out: dict[str, str | None] = dict.fromkeys(FIGURES)
    for one in found:
        for kind in FIGURES:
            if _RANK[one.get(kind)] > _RANK[out[kind]]:
                out[kind] = one.get(kind)
    return out


def ordered(found: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts first, then warnings; by queue within each."""
    return sorted(found, key=lambda a: (-_RANK[a["level"]], a["queue"], a["kind"]))


def next_crossing(th: Thresholds, oldest_since: float, now: float) -> float | None:
    """When the longest wait of callers waiting since `oldest_since` next crosses a limit."""
    due = [
        oldest_since + limit
        for limit in (th.longest_wait_s.warn, th.longest_wait_s.alert)
        if limit is not None and now - oldest_since <= limit
    ]
    return min(due) if due else None
