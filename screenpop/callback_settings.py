"""`[callbacks]` in the config: which ended calls become callback items."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CallbackSettings(BaseModel):
    """`[callbacks]`: a caller who gave up waiting (or whom nobody answered) becomes an item an
    agent of the queue takes and calls back (README, "Callbacks")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True  # false: no new items (the existing ones stay in the store)
    min_wait_s: float = Field(default=10, ge=0)  # an abandon after waiting at least this long
    missed: bool = True  # a queue call that rang agents and ended unanswered, not abandoned
