"""How a card section is shown (`[sections.NAME]`): its fields in order, with labels and formats,
the highlight rules that raise flags on the card, and a link to the record in its own system.

The models are validated at config load (unknown keys, formats, rule syntax, fields a rule or a
link cannot know); :func:`flags` and :func:`resolve_link` are pure and run in the daemon when a
card is built for a role, so every client (websocket, API, CLI) gets the same answer.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from screenpop.rules import PATH, Rule, RuleError, lookup, parse_rule

Format = Literal["money", "date", "datetime", "percent", "number", "text", "list"]
ColumnFormat = Literal["money", "date", "datetime", "percent", "number", "text"]
Level = Literal["alert", "warn", "info"]
_CURRENCY = re.compile(r"[A-Z]{3}")
_FORMATTER = string.Formatter()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_path(path: str) -> str:
    if not PATH.fullmatch(path):
        raise ValueError(f"{path!r} is not a field name (letters, digits, _; a.b: b of a)")
    return path


def _check_money(fmt: str, currency: str | None, currency_path: str | None) -> None:
    if fmt == "money":
        if currency is None and currency_path is None:
            raise ValueError('a money field needs `currency` (e.g. "USD") or `currency_path`')
    elif currency is not None or currency_path is not None:
        raise ValueError(f"`currency` and `currency_path` are for money fields, not {fmt}")
    if currency is not None and not _CURRENCY.fullmatch(currency):
        raise ValueError(f'currency {currency!r} is not an ISO 4217 code such as "USD"')
    if currency_path is not None:
        _check_path(currency_path)


class Column(_Strict):
    """One column of a `list` field's table: a field of each row."""

    path: str
    label: str = ""
    format: ColumnFormat = "text"
    currency: str | None = None
    currency_path: str | None = None  # a field of the same row

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        _check_path(self.path)
        _check_money(self.format, self.currency, self.currency_path)
        return self


class FieldLayout(_Strict):
    """One field shown in a section, in the order listed."""

    path: str
    label: str = ""
    format: Format = "text"
    currency: str | None = None  # a fixed currency for money
    currency_path: str | None = None  # or the record's field that holds it
    columns: list[Column] = []  # for `list`: the table's columns

    @model_validator(mode="after")
    def _consistent(self) -> FieldLayout:
        _check_path(self.path)
        _check_money(self.format, self.currency, self.currency_path)
        if self.format == "list" and not self.columns:
            raise ValueError("a list field needs `columns` (each { path, label, format })")
        if self.format != "list" and self.columns:
            raise ValueError(f"`columns` are for list fields, not {self.format}")
        return self


class Highlight(_Strict):
    """A rule on the section's data; when it holds, the card carries a flag."""

    when: str
    level: Level = "warn"
    text: str

    @field_validator("when")
    @classmethod
    def _parses(cls, when: str) -> str:
        try:
            parse_rule(when)
        except RuleError as exc:
            raise ValueError(f"{when!r}: {exc}") from None
        return when

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("a highlight needs a `text` to show")
        return text.strip()

    @property
    def rule(self) -> Rule:
        return parse_rule(self.when)


class SectionLayout(_Strict):
    """`[sections.NAME]`: how the section of connector NAME is shown."""

    fields: list[FieldLayout] = []
    highlight: list[Highlight] = []
    link: str = ""  # "https://crm.example/customers/{customer_id}"; placeholders: fields

    @field_validator("link")
    @classmethod
    def _link(cls, link: str) -> str:
        if not link:
            return link
        if urlsplit(link).scheme not in ("http", "https"):
            raise ValueError(f"{link!r} is not an http(s) URL")
        names = placeholders(link)
        for name in names:
            _check_path(name)
        return link

    @model_validator(mode="after")
    def _fields_known(self) -> SectionLayout:
        paths = [f.path for f in self.fields]
        dupes = sorted({p for p in paths if paths.count(p) > 1})
        if dupes:
            raise ValueError(f"fields lists {', '.join(dupes)} more than once")
        return self

    def problems(self) -> Iterable[tuple[str, str]]:
        """(where, what) for every rule or link placeholder naming a field the layout says is
        a list (a rule compares one value; a link needs one): such a field cannot be known."""
        lists = {f.path for f in self.fields if f.format == "list"}
        formats = {f.path: f.format for f in self.fields}

        def in_list(path: str) -> str | None:
            return next((p for p in lists if path == p or path.startswith(p + ".")), None)

        for i, item in enumerate(self.highlight):
            rule, where = item.rule, f"highlight[{i}].when"
            found = in_list(rule.field)
            if found is not None:
                yield where, f"{rule.field!r}: {found} is a list field"
            mismatch = _mismatch(formats.get(rule.field), rule)
            if mismatch is not None:
                yield where, f"{rule.field!r} is a {formats[rule.field]} field: {mismatch}"
        for name in placeholders(self.link):
            found = in_list(name)
            if found is not None:
                yield "link", f"{{{name}}}: {found} is a list field"

    def to_page(self, hidden: Sequence[str]) -> dict[str, Any]:
        """What the agent page needs to show the section, without the role's hidden fields."""

        def seen(path: str) -> bool:
            return not any(path == h or path.startswith(h + ".") for h in hidden)

        fields = []
        for f in self.fields:
            if not seen(f.path):
                continue
            data = f.model_dump(exclude_defaults=True)
            if f.columns:
                columns = [c for c in f.columns if seen(f"{f.path}.{c.path}")]
                data["columns"] = [c.model_dump(exclude_defaults=True) for c in columns]
            fields.append(data)
        return {"fields": fields}


_NUMERIC = frozenset({"money", "number", "percent"})


def _mismatch(fmt: str | None, rule: Rule) -> str | None:
    """Why `rule` can never hold for a field of format `fmt` (None: it may)."""
    values = rule.value if isinstance(rule.value, tuple) else (rule.value,)
    texts = [v for v in values if isinstance(v, str)]
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if fmt in _NUMERIC and texts:
        return f"it is compared with the text {texts[0]!r}, not a number"
    if fmt in ("date", "datetime") and numbers:
        return f'it is compared with the number {numbers[0]!r}; write the date as "2026-11-01"'
    return None


def placeholders(template: str) -> list[str]:
    """The `{name}` placeholders of a link template; ValueError for a malformed one."""
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValueError(f"{template!r}: {exc} (write a literal brace as {{{{ or }}}})") from None
    names = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"{{{name}}}: no format spec or conversion in a link placeholder")
        names.append(name)
    return names


def check_layouts(layouts: Mapping[str, SectionLayout], sections: set[str]) -> None:
    """Every `[sections.NAME]` names a connector, and its rules and links know their fields.
    ValueError naming the section and the field."""
    known = ", ".join(sorted(sections)) or "none configured"
    for name, layout in layouts.items():
        if name not in sections:
            raise ValueError(f"sections.{name}: not a connector (connectors: {known})")
        for where, what in layout.problems():
            raise ValueError(f"sections.{name}.{where}: {what}")


def resolve_link(template: str, record: Mapping[str, Any]) -> str | None:
    """The link with its placeholders filled from `record` (each value URL-quoted); None when
    the template is empty or a placeholder's field is missing, empty or not a plain value."""
    if not template:
        return None
    out = []
    for text, name, _, _ in _FORMATTER.parse(template):
        out.append(text)
        if name is None:
            continue
        found, value = lookup(record, name)
        if not found or value is None or value == "" or isinstance(value, Mapping | list):
            return None
        out.append(quote(str(value).lower() if isinstance(value, bool) else str(value), safe=""))
    return "".join(out)


def flags(
    section: str, layout: SectionLayout, records: Sequence[Mapping[str, Any]], tag: bool
) -> list[dict[str, Any]]:
    """The flags `layout`'s rules raise on `records`, in rule order then record order, each
    once. With `tag`, each carries the record's `customer_id` (several customers on the card)."""
    out: list[dict[str, Any]] = []
    for item in layout.highlight:
        rule = item.rule
        for record in records:
            if not rule.raised(record):
                continue
            flag: dict[str, Any] = {
                "section": section,
                "field": rule.field,
                "level": item.level,
                "text": item.text,
            }
            cid = record.get("customer_id")
            if tag and cid not in (None, ""):
                flag["customer_id"] = str(cid)
            if flag not in out:
                out.append(flag)
    return out


def page_layouts(
    layouts: Mapping[str, SectionLayout], sections: Sequence[str] | None, hide: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The layouts of the sections a role sees (`sections`, None: all), without the fields its
    `hide` paths (`section.field`) remove: what the agent page is given to show cards with."""
    out = {}
    for name, layout in layouts.items():
        if sections is not None and name not in sections:
            continue
        hidden = [p.partition(".")[2] for p in hide if p.partition(".")[0] == name]
        out[name] = {**layout.to_page(hidden), "link": bool(layout.link)}
    return out
