"""`[ui]` in the config: what the pages offer (dispositions, pause reasons) and how they show
times, dates and numbers (the center's time zone, the default locale)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator

from screenpop.localday import check_zone

LOCALE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
"""A BCP 47 language tag as the config takes it: ``en``, ``fr-FR``."""


class UiSettings(BaseModel):
    """`[ui]`: what the pages offer and how they show times, dates and numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dispositions: list[str] = ["resolved", "callback", "escalated", "sale", "no_action"]
    timezone: str = ""  # IANA zone of the center ("" = the server's): day boundaries, dates shown
    locale: str = "en"  # the pages' default language and number format (BCP 47, e.g. "fr-FR")
    pause_reasons: list[str] = ["break", "lunch", "training", "after-call work"]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        check_zone(value)
        return value

    @field_validator("locale")
    @classmethod
    def _locale_tag(cls, value: str) -> str:
        if not LOCALE_TAG.fullmatch(value):
            raise ValueError(f"{value!r} is not a language tag such as 'en' or 'fr-FR'")
        return value

    @field_validator("pause_reasons", "dispositions")
    @classmethod
    def _distinct_words(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if not cleaned or any(not v for v in cleaned) or len(set(cleaned)) != len(cleaned):
            raise ValueError("must be a non-empty list of distinct, non-blank names")
        return cleaned
