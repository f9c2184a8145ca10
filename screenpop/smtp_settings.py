"""`[smtp]` in the config: the mail server scheduled reports are sent through."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SmtpSettings(BaseModel):
    """`[smtp]`: where scheduled reports are mailed from. An empty `host` (the default) sends
    nothing: a `[[reports.schedule]]` entry then fails its sends, logged and counted.

    `security`: ``starttls`` upgrades a plain connection (port 587), ``tls`` is TLS from the first
    byte (port 465), ``none`` sends in the clear (a relay on this machine). The password belongs
    in ``SCREENPOP__SMTP__PASSWORD`` rather than in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    username: str = ""
    password: str = ""
    security: Literal["starttls", "tls", "none"] = "starttls"
    from_addr: str = "screenpop@localhost"
    timeout_s: float = Field(default=30, gt=0)

    @model_validator(mode="after")
    def _login_needs_both(self) -> SmtpSettings:
        if bool(self.username) != bool(self.password):
            raise ValueError("smtp: username and password go together (set both or neither)")
        if "@" not in self.from_addr:
            raise ValueError(f"smtp: from_addr {self.from_addr!r} is not a mail address")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.host.strip())
