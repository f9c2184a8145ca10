"""The HTTP connector's text templates: `{field}` placeholders filled per request (URL-quoted in
URLs), `${VAR}` filled from the environment once, at start."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from screenpop.errors import ConfigError

FIELDS = ("e164", "national", "digits", "national_digits")
_TOKEN = re.compile(r"\$\{(?P<env>[A-Za-z_][A-Za-z0-9_]*)\}|\{(?P<field>[^{}]*)\}")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def check_http_url(text: str) -> None:
    """ValueError unless `text` is an http:// or https:// URL."""
    if urlsplit(text).scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")


def check_fields(text: str, keys: tuple[str, ...] = ()) -> None:
    known = (*FIELDS, *keys)
    for match in _TOKEN.finditer(text):
        name = match.group("field")
        if name is not None and name not in known:
            raise ValueError(f"unknown placeholder {{{name}}} (known: {', '.join(known)})")


def used_fields(*texts: str) -> frozenset[str]:
    """The `{field}` placeholders the texts use."""
    return frozenset(
        m.group("field") for t in texts for m in _TOKEN.finditer(t) if m.group("field")
    )


class Template:
    """A string with `{field}` placeholders (filled per lookup) and `${VAR}` (filled at start)."""

    def __init__(self, text: str, environ: Mapping[str, str], where: str) -> None:
        self.parts: list[tuple[bool, str]] = []  # (is_field, literal text or field name)
        pos = 0
        for match in _TOKEN.finditer(text):
            self._literal(text[pos : match.start()])
            if match.group("env") is not None:
                self._literal(_env(match.group("env"), environ, where))
            else:
                self.parts.append((True, match.group("field")))
            pos = match.end()
        self._literal(text[pos:])

    def _literal(self, text: str) -> None:
        if text:
            self.parts.append((False, text))

    def render(self, values: Mapping[str, str], *, url_quote: bool) -> str:
        """The text with each field's value (URL-quoted when `url_quote`)."""
        out = []
        for is_field, text in self.parts:
            if is_field:
                value = values[text]
                out.append(quote(value, safe="") if url_quote else value)
            else:
                out.append(text)
        return "".join(out)


def _env(name: str, environ: Mapping[str, str], where: str) -> str:
    try:
        return environ[name]
    except KeyError:
        raise ConfigError(f"{where}: environment variable {name} is not set") from None


def substitute_env(text: str, environ: Mapping[str, str], where: str) -> str:
    """`text` with every `${VAR}` replaced from `environ` (other braces are left alone)."""
    return _ENV.sub(lambda m: _env(m.group(1), environ, where), text)
