"""`[logging]` in the config: the level and format of the daemon's log."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from screenpop.logs import check_level


class LoggingSettings(BaseModel):
    """`[logging]`: the command line's ``--log-level`` / ``--log-format`` win over these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: str = "INFO"
    format: Literal["text", "json"] = "text"

    @field_validator("level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        return check_level(level)
