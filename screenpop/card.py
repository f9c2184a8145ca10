"""The caller card: sections from each connector, merged into one view, redacted per role.

Cards are plain JSON-able dicts on the wire (see DESIGN.md, "Card"); inside the daemon a card is
built from frozen :class:`Section` values so a late connector answer produces a new card rather
than mutating one that is already on its way to a browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from screenpop.layout import SectionLayout, flags, resolve_link
from screenpop.settings import RoleSettings

SUMMARY_FIELDS = ("name", "customer_id")


class Status(StrEnum):
    PENDING = "pending"  # still loading (only inside the daemon; never cached)
    OK = "ok"
    NOT_FOUND = "not_found"
    TIMEOUT = "timeout"
    ERROR = "error"


FINAL = frozenset({Status.OK, Status.NOT_FOUND, Status.ERROR})


@dataclass(frozen=True, slots=True)
class Section:
    """One connector's answer for one number."""

    status: Status
    data: Any = None  # a dict for one match, a list of dicts for several, None otherwise
    ms: float = 0.0
    cached: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": str(self.status),
            "ms": round(self.ms, 1),
            "cached": self.cached,
            "data": self.data,
        }
        if self.error is not None:
            out["error"] = self.error
        return out

    def records(self) -> list[Mapping[str, Any]]:
        if isinstance(self.data, Mapping):
            return [self.data]
        if isinstance(self.data, list):
            return [r for r in self.data if isinstance(r, Mapping)]
        return []


@dataclass(frozen=True, slots=True)
class Card:
    call_id: str
    caller: Mapping[str, Any]
    sections: Mapping[str, Section]
    priorities: Mapping[str, int] = field(default_factory=dict)
    history: Sequence[Mapping[str, Any]] = ()
    chosen: str | None = None  # customer_id the agent picked among candidates
    # what found the customer: the lookup keys a keyed connector was asked ({"account": "12345"}),
    # "number" when only the caller's number did; None while nothing is found
    matched_by: Mapping[str, str] | str | None = None
    matched_in: tuple[str, ...] = ()  # the sections that found a record with the lookup keys

    @property
    def complete(self) -> bool:
        return all(s.status in FINAL for s in self.sections.values())

    def with_section(self, name: str, section: Section) -> Card:
        return replace(self, sections={**self.sections, name: section})

    def to_json(
        self,
        role: RoleSettings | None = None,
        layouts: Mapping[str, SectionLayout] | None = None,
    ) -> dict[str, Any]:
        """The wire form, with the role's sections and hidden fields removed; with `layouts`
        (`[sections]`), the flags their rules raise and each section's resolved `link`, both
        from the data the role may see."""
        sections = {
            name: redact_section(name, sec.to_json(), role)
            for name, sec in self.sections.items()
            if role is None or role.sections is None or name in role.sections
        }
        visible = {n: replace(self.sections[n], data=s["data"]) for n, s in sections.items()}
        candidates = find_candidates(visible, self.priorities)
        raised = apply_layouts(sections, visible, layouts or {}, self.chosen, candidates)
        return {
            "call_id": self.call_id,
            "caller": dict(self.caller),
            "summary": summarize(visible, self.priorities, self.chosen, candidates),
            "sections": sections,
            "candidates": candidates,
            "history": list(self.history),
            "chosen": self.chosen,
            "matched_by": self._matched_for(visible),
            "complete": self.complete,
            "flags": raised,
        }

    def _matched_for(self, visible: Mapping[str, Section]) -> dict[str, str] | str | None:
        """`matched_by` as a role sees it: the keys only if it sees a section they found."""
        found = any(s.status is Status.OK for s in visible.values())
        if isinstance(self.matched_by, Mapping) and any(n in visible for n in self.matched_in):
            return dict(self.matched_by)
        return "number" if found and self.matched_by is not None else None


def nobody_found(card: Card) -> bool:
    """No connector knows the caller: every answer is in, none found them, one said not found
    (as the agent page's "No customer found" notice)."""
    statuses = {s.status for s in card.sections.values()}
    return Status.NOT_FOUND in statuses and not statuses & {Status.OK, Status.PENDING}


def _ordered(sections: Mapping[str, Section], priorities: Mapping[str, int]) -> list[str]:
    return sorted(sections, key=lambda n: (priorities.get(n, 100), n))


def summarize(
    sections: Mapping[str, Section],
    priorities: Mapping[str, int],
    chosen: str | None,
    candidates: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Summary fields taken from the connector with the best (lowest) priority that has them.

    With several candidate customers and none chosen, the summary stays empty rather than guess.
    """
    if len(candidates) > 1 and chosen is None:
        return {}
    summary: dict[str, Any] = {}
    for name in _ordered(sections, priorities):
        for record in sections[name].records():
            if chosen is not None and record.get("customer_id") not in (chosen, None):
                continue
            for key in SUMMARY_FIELDS:
                if key not in summary and record.get(key) not in (None, ""):
                    summary[key] = record[key]
            break
    if chosen is not None and "customer_id" not in summary:
        summary["customer_id"] = chosen  # linked by search: no connector has it for the number
    return summary


def find_candidates(
    sections: Mapping[str, Section], priorities: Mapping[str, int]
) -> list[dict[str, Any]]:
    """The distinct customers the connectors matched, when there is more than one."""
    found: dict[str, dict[str, Any]] = {}
    for name in _ordered(sections, priorities):
        for record in sections[name].records():
            cid = record.get("customer_id")
            if cid in (None, ""):
                continue
            blank: dict[str, Any] = {"customer_id": str(cid), "name": None, "sources": []}
            entry = found.setdefault(str(cid), blank)
            if entry["name"] is None and record.get("name"):
                entry["name"] = record["name"]
            if name not in entry["sources"]:
                entry["sources"].append(name)
    return list(found.values()) if len(found) > 1 else []


def customer_records(
    section: Section, chosen: str | None, candidates: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The section's records about the card's customer: with several candidates and one chosen,
    the rows of that customer (and rows that name no customer); otherwise every row."""
    records = section.records()
    if len(candidates) > 1 and chosen is not None:
        return [r for r in records if r.get("customer_id") in (chosen, None, "")]
    return records


def apply_layouts(
    wire: dict[str, dict[str, Any]],
    visible: Mapping[str, Section],
    layouts: Mapping[str, SectionLayout],
    chosen: str | None,
    candidates: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Raise the layouts' rules (section order, then rule order) and put each section's link
    on its wire form (`wire`, changed in place) when one record, about the card's customer,
    resolves it (with several customers and none picked yet, no section has a link)."""
    raised: list[dict[str, Any]] = []
    several = len(candidates) > 1 and chosen is None
    for name, section in visible.items():
        layout = layouts.get(name)
        if layout is None:
            continue
        records = customer_records(section, chosen, candidates)
        raised.extend(flags(name, layout, records, several))
        one = len(records) == 1 and not several  # the row is about the card's customer
        link = resolve_link(layout.link, records[0]) if one else None
        if link is not None:
            wire[name] = {**wire[name], "link": link}
    return raised


def redact_section(name: str, section: dict[str, Any], role: RoleSettings | None) -> dict[str, Any]:
    """Remove the role's `hide` paths (`section.field`, `section.field.sub`) from the data."""
    if role is None or not role.hide or section.get("data") is None:
        return section
    paths = [p.split(".")[1:] for p in role.hide if p.split(".")[0] == name]
    if not paths:
        return section
    return {**section, "data": _strip(section["data"], paths)}


def _strip(data: Any, paths: Iterable[list[str]]) -> Any:
    paths = list(paths)
    if isinstance(data, list):
        return [_strip(item, paths) for item in data]
    if not isinstance(data, Mapping):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        below = [p[1:] for p in paths if p and p[0] == key]
        if any(not p for p in below):
            continue
        out[key] = _strip(value, below) if below else value
    return out
