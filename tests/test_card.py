"""Card merge and role redaction, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from screenpop.card import Card, Section, Status
from screenpop.settings import RoleSettings

CALLER = {"e164": "+12125551234", "kind": "number"}


def card(sections: dict[str, Section], priorities: dict[str, int] | None = None) -> Card:
    return Card("c1", CALLER, sections, priorities or {})


def ok(data: Any) -> Section:
    return Section(Status.OK, data)


MERGE_CASES = [
    (
        "best priority wins the summary",
        {
            "a": ok({"customer_id": "C-1", "name": "Jane"}),
            "b": ok({"customer_id": "C-1", "name": "J."}),
        },
        {"a": 20, "b": 10},
        {"name": "J.", "customer_id": "C-1"},
        [],
    ),
    (
        "a missing field falls to the next connector",
        {"a": ok({"customer_id": "C-1"}), "b": ok({"customer_id": "C-1", "name": "Jane"})},
        {"a": 1, "b": 2},
        {"name": "Jane", "customer_id": "C-1"},
        [],
    ),
    (
        "different customers become candidates, no guessed summary",
        {
            "a": ok({"customer_id": "C-1", "name": "Jane"}),
            "b": ok({"customer_id": "C-2", "name": "Joe"}),
        },
        {},
        {},
        ["C-1", "C-2"],
    ),
    (
        "several rows from one connector become candidates",
        {"a": ok([{"customer_id": "C-1", "name": "Jane"}, {"customer_id": "C-2", "name": "Joe"}])},
        {},
        {},
        ["C-1", "C-2"],
    ),
    (
        "not found and timeout contribute nothing",
        {"a": Section(Status.NOT_FOUND), "b": Section(Status.TIMEOUT), "c": ok({"name": "Jane"})},
        {},
        {"name": "Jane"},
        [],
    ),
]


@pytest.mark.parametrize(
    ("sections", "priorities", "summary", "candidates"),
    [case[1:] for case in MERGE_CASES],
    ids=[case[0] for case in MERGE_CASES],
)
def test_merge(
    sections: dict[str, Section],
    priorities: dict[str, int],
    summary: dict[str, Any],
    candidates: list[str],
) -> None:
    out = card(sections, priorities).to_json()
    assert out["summary"] == summary
    assert [c["customer_id"] for c in out["candidates"]] == candidates


def test_complete_only_when_every_section_is_final() -> None:
    assert card({"a": ok({}), "b": Section(Status.NOT_FOUND)}).to_json()["complete"] is True
    assert card({"a": ok({}), "b": Section(Status.TIMEOUT)}).to_json()["complete"] is False


def test_role_sees_only_its_sections_and_hidden_fields_are_gone() -> None:
    c = card(
        {
            "accounting": ok({"name": "Jane", "balance": 10}),
            "credit": ok(
                {"name": "Jane", "limit": 500, "internal_score": 712, "nested": {"x": 1, "y": 2}}
            ),
        }
    )
    support = RoleSettings(
        sections=["accounting", "credit"], hide=["credit.internal_score", "credit.nested.x"]
    )
    out = c.to_json(support)
    assert out["sections"]["credit"]["data"] == {"name": "Jane", "limit": 500, "nested": {"y": 2}}
    assert out["sections"]["accounting"]["data"] == {"name": "Jane", "balance": 10}
    sales_only = c.to_json(RoleSettings(sections=["accounting"]))
    assert set(sales_only["sections"]) == {"accounting"}
    assert "internal_score" not in str(sales_only)


def test_hidden_summary_field_is_not_leaked_through_the_summary() -> None:
    c = card({"crm": ok({"customer_id": "C-9", "name": "Secret Name"})})
    out = c.to_json(RoleSettings(hide=["crm.name"]))
    assert out["summary"] == {"customer_id": "C-9"}
    assert "Secret Name" not in str(out)


def test_hidden_name_does_not_leak_through_candidates() -> None:
    c = card(
        {
            "crm": ok(
                [{"customer_id": "C-1", "name": "Hidden"}, {"customer_id": "C-2", "name": "Also"}]
            )
        }
    )
    out = c.to_json(RoleSettings(hide=["crm.name"]))
    assert [cand["name"] for cand in out["candidates"]] == [None, None]
