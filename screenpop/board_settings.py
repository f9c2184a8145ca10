"""`[board]` in the config: the board's timings and its alarm thresholds per queue.

```toml
[board.thresholds.default]            # every queue without a table of its own
waiting = 5                           # more callers waiting than this: alert
longest_wait_s = { warn = 30, alert = 60 }
service_level = { warn = 0.8, alert = 0.6 }
nobody_available = true               # callers waiting and no agent of the queue available

[board.thresholds.support]            # only what differs from `default`
waiting = { warn = 2, alert = 4 }
```

A plain number is the alert limit; a table gives `warn` and/or `alert`; `false` (or `{}`) is no
limit. Waiting and longest wait are beyond a limit above it, the service level below it. A
queue's table overrides `default` key by key, and `default` the built-in defaults
(:class:`screenpop.board.alarms.Thresholds`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from screenpop.board.alarms import DEFAULT, Limit, Thresholds


class _Table(BaseModel):
    """Unknown keys are an error (as every config table, see `settings.Strict`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitSettings(_Table):
    """A figure's limits; neither given: no limit."""

    warn: float | None = Field(default=None, ge=0, strict=True)
    alert: float | None = Field(default=None, ge=0, strict=True)


class QueueThresholdSettings(_Table):
    """`[board.thresholds.<queue>]` (or `.default`): a key not given is inherited."""

    waiting: LimitSettings | None = None
    longest_wait_s: LimitSettings | None = None
    service_level: LimitSettings | None = None
    nobody_available: bool | None = Field(default=None, strict=True)

    @field_validator("waiting", "longest_wait_s", "service_level", mode="before")
    @classmethod
    def _plain_number(cls, value: Any) -> Any:
        if value is False:
            return {}
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"alert": value}
        return value

    @model_validator(mode="after")
    def _in_order(self) -> QueueThresholdSettings:
        sl = self.service_level
        if sl is not None and any(v is not None and v > 1 for v in (sl.warn, sl.alert)):
            raise ValueError("service_level: a share between 0 and 1 (0.8 = 80 %)")
        for key, worse in (("waiting", "above"), ("longest_wait_s", "above")):
            _check_order(key, getattr(self, key), worse)
        _check_order("service_level", sl, "below")
        return self


def _check_order(key: str, limit: LimitSettings | None, worse: str) -> None:
    """The warn limit comes before the alert one: below it when more is worse, else above."""
    if limit is None or limit.warn is None or limit.alert is None:
        return
    wrong = limit.warn > limit.alert if worse == "above" else limit.warn < limit.alert
    if wrong:
        raise ValueError(
            f"{key}: warn ({limit.warn:g}) must come before alert ({limit.alert:g}); "
            f"the figure is worse {worse} its limit"
        )


def _limit(settings: LimitSettings | None, inherited: Limit) -> Limit:
    if settings is None:
        return inherited
    return Limit(settings.warn, settings.alert, inherited.lower_is_worse)


def _merged(settings: QueueThresholdSettings, base: Thresholds) -> Thresholds:
    return dataclasses.replace(
        base,
        waiting=_limit(settings.waiting, base.waiting),
        longest_wait_s=_limit(settings.longest_wait_s, base.longest_wait_s),
        service_level=_limit(settings.service_level, base.service_level),
        nobody_available=(
            base.nobody_available
            if settings.nobody_available is None
            else settings.nobody_available
        ),
    )


class BoardSettings(_Table):
    """`[board]`: the supervisor board."""

    service_level_s: float = Field(default=20, gt=0)  # "answered within" threshold
    wrap_up_s: float = Field(default=60, ge=0)  # after a call, until the agent closes its card
    max_call_age_s: float = Field(default=4 * 3600, gt=0)  # a call never ended leaves after this
    thresholds: dict[str, QueueThresholdSettings] = {}  # per queue name, and "default"

    def threshold_table(self) -> dict[str, Thresholds]:
        """Complete thresholds per queue named in the config, and under "default" the rest's."""
        default = Thresholds()
        if DEFAULT in self.thresholds:
            default = _merged(self.thresholds[DEFAULT], default)
        table = {DEFAULT: default}
        for queue, settings in self.thresholds.items():
            if queue != DEFAULT:
                table[queue] = _merged(settings, default)
        return table
