"""`[cluster]` in the config: several nodes on one Redis."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from screenpop.keys import DEFAULT_PREFIX


class ClusterSettings(BaseModel):
    """`[cluster]`: several nodes on one Redis act as one. An empty `url` (the default) is one
    node on its own, exactly as without the table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = ""  # redis://...; setting it turns cluster mode on (the store must be shared)
    node_id: str = ""  # "" = the server's host:port; per node via SCREENPOP__CLUSTER__NODE_ID
    lease_s: float = Field(default=5, gt=0)  # a PBX link's lease; a survivor takes over after it
    key_prefix: str = DEFAULT_PREFIX  # every cluster key in Redis starts with this

    @property
    def enabled(self) -> bool:
        return bool(self.url.strip())
