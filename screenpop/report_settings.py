"""`[reports]` in the config: how the reports from the call log count calls."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from screenpop.report_schedule import ReportSchedule, unique_schedules


class ReportSettings(BaseModel):
    """`[reports]`: a call abandoned after waiting less than `short_abandon_s` is a short
    abandon, counted apart and left out of the service level (the service level threshold is
    `[board] service_level_s`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    short_abandon_s: float = Field(default=5.0, ge=0)
    schedule: list[ReportSchedule] = []  # `[[reports.schedule]]`: reports mailed on a timetable

    @field_validator("schedule")
    @classmethod
    def _unique(cls, entries: list[ReportSchedule]) -> list[ReportSchedule]:
        return unique_schedules(entries)
