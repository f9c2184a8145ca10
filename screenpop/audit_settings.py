"""`[audit]` in the config: whether the daemon keeps the audit trail, and for how long."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AuditSettings(BaseModel):
    """`[audit]`: who saw which customer (pops, card API reads, searches, reports with caller
    data, erasures) goes to the call log's append-only `audit` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    retention_days: int = Field(default=365, ge=0)  # rows older than this are purged; 0 = never
