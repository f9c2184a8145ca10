"""`[reports]` in the config: how the reports from the call log count calls."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ReportSettings(BaseModel):
    """`[reports]`: a call abandoned after waiting less than `short_abandon_s` is a short
    abandon, counted apart and left out of the service level (the service level threshold is
    `[board] service_level_s`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    short_abandon_s: float = Field(default=5.0, ge=0)
