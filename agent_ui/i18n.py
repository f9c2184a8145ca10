"""The pages' language: the message catalogs, which language a request gets, and `t()`.

Page text is written in English, `t("English text", name=value)`; the English text is the key of
each catalog (`agent_ui/messages/<language>.json`, English text -> translated text), so English
needs no catalog and text a catalog lacks shows in English. A page is shown in the first of these
that has a catalog (or is English):

1. the `screenpop_lang` cookie (the language picker on every page),
2. the agent's `[[agents]] locale`,
3. the browser's `Accept-Language`, best quality first (`fr-CA` matches `fr`),
4. `[ui] locale`,

and in English when none has. The page's locale tag (`<html lang>`, Intl formats of dates and
numbers) keeps a region when one of the agent's setting, the browser's languages or `[ui] locale`
names one for the chosen language (`fr` chosen, `[ui] locale = "fr-CA"`: `fr-CA`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from markupsafe import Markup

MESSAGES = Path(__file__).parent / "messages"
ENGLISH = "en"
COOKIE = "screenpop_lang"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
# Each language offered by the picker, in its own words; a catalog missing here shows its code.
NATIVE_NAMES = {"en": "English", "fr": "Français"}

_LANGUAGE = re.compile(r"[a-z]{2,3}")
_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_MAX_ACCEPT_CHARS = 1000

Translate = Callable[..., str]


class CatalogError(ValueError):
    """A catalog file that is not a JSON object of text to text (a bug in the shipped files)."""


@dataclass(frozen=True, slots=True)
class Catalogs:
    """The translations by language (`"fr"`: English text -> French text)."""

    by_language: Mapping[str, Mapping[str, str]]

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language a page can be shown in: English, then the catalogs'."""
        return (ENGLISH, *sorted(k for k in self.by_language if k != ENGLISH))

    def catalog(self, language: str) -> Mapping[str, str]:
        """The translations of `language` (empty for English and unknown languages)."""
        return self.by_language.get(language, {})


@dataclass(frozen=True, slots=True)
class Choice:
    """The language a page is shown in: `language` names its catalog, `tag` is the BCP 47
    locale for `<html lang>` and number and date formats (`fr` and `fr-CA`)."""

    language: str
    tag: str


def load_catalogs(folder: Path = MESSAGES) -> Catalogs:
    """Read every `<language>.json` in `folder`. CatalogError names a file that is no catalog."""
    found: dict[str, Mapping[str, str]] = {}
    for path in sorted(folder.glob("*.json")):
        if not _LANGUAGE.fullmatch(path.stem):
            raise CatalogError(f"{path}: a catalog is named after its language, e.g. fr.json")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CatalogError(f"{path}: {exc}") from exc
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise CatalogError(f"{path}: a catalog is a JSON object of English text to text")
        found[path.stem] = data
    return Catalogs(found)


def fill(template: str, params: Mapping[str, Any]) -> str:
    """`template` with its `{name}` placeholders replaced by `params[name]`; a placeholder
    without a value stays as written (as in static/i18n.js)."""
    return _PLACEHOLDER.sub(lambda m: str(params[m[1]]) if m[1] in params else m[0], template)


def translator(catalog: Mapping[str, str]) -> Translate:
    """`t(text, **params)`: `text` in the catalog's language (English when it lacks it)."""

    def t(text: str, **params: Any) -> str:
        return fill(catalog.get(text, text), params)

    return t


def normalize_tag(tag: str) -> str:
    """`fr-ca` -> `fr-CA`, `zh-hant-tw` -> `zh-Hant-TW`: the usual case of each subtag."""
    first, *rest = tag.split("-")
    parts = [first.lower()]
    for part in rest:
        if len(part) == 2 and part.isalpha():
            parts.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            parts.append(part.title())
        else:
            parts.append(part.lower())
    return "-".join(parts)


def accepted_languages(header: str) -> list[str]:
    """The tags of an `Accept-Language` header, highest quality first (header order among
    equals); `q=0`, `*` and malformed entries are left out."""
    ranked: list[tuple[float, str]] = []
    for entry in header[:_MAX_ACCEPT_CHARS].split(","):
        tag, _, params = entry.strip().partition(";")
        quality = _quality(params)
        if quality is not None and quality > 0 and _TAG.fullmatch(tag.strip()):
            ranked.append((quality, normalize_tag(tag.strip())))
    ranked.sort(key=lambda pair: -pair[0])  # stable: equal qualities keep the header's order
    return [tag for _, tag in ranked]


def _quality(params: str) -> float | None:
    params = params.strip()
    if not params:
        return 1.0
    name, _, value = params.partition("=")
    if name.strip().lower() != "q":
        return None
    try:
        quality = float(value.strip())
    except ValueError:
        return None
    return quality if 0 <= quality <= 1 else None


def primary(tag: str) -> str:
    """The language of a tag: `fr-CA` -> `fr`."""
    return tag.split("-", 1)[0].lower()


def choose(
    languages: Sequence[str],
    *,
    cookie: str | None,
    agent_locale: str,
    accept_language: str,
    default: str,
) -> Choice:
    """The language of a page (see the module's docstring for the order), sans I/O."""
    browser = accepted_languages(accept_language)
    regional = [t for t in (agent_locale, *browser, default) if t and _TAG.fullmatch(t)]
    wanted = [cookie or "", *regional]
    language = next((primary(t) for t in wanted if t and primary(t) in languages), ENGLISH)
    tag = next((t for t in regional if primary(t) == language and "-" in t), language)
    return Choice(language, normalize_tag(tag))


def catalog_json(catalog: Mapping[str, str]) -> Markup:
    """The catalog as JSON for a `<script type="application/json">` element: `<`, `>` and `&`
    are escaped so no text can close the element."""
    text = json.dumps(dict(catalog), ensure_ascii=False, sort_keys=True)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


CATALOGS: web.AppKey[Catalogs] = web.AppKey("catalogs", Catalogs)
