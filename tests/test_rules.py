"""The highlight rules' language: what parses, and which records raise a rule."""

from __future__ import annotations

from typing import Any

import pytest

from screenpop.rules import Rule, RuleError, parse_rule

RECORD: dict[str, Any] = {
    "balance": 120.5,
    "overdue": 0,
    "text_amount": " 42.10 ",
    "risk_band": "E",
    "status": "past_due",
    "vip": True,
    "closed": False,
    "note": None,
    "due": "2026-11-01",
    "address": {"country": "FR", "zip": 75001},
    "tags": ["a", "b"],
}


@pytest.mark.parametrize(
    ("rule", "raised"),
    [
        ("balance > 100", True),
        ("balance > 120.5", False),
        ("balance >= 120.5", True),
        ("balance < 0", False),
        ("balance <= 120.5", True),
        ("balance == 120.5", True),
        ("balance != 120.5", False),
        ("overdue > 0", False),
        ("overdue == 0", True),
        ("overdue >= -1", True),
        ("text_amount > 42", True),  # a number sent as text still compares as a number
        ("text_amount == 42.1", True),
        ('risk_band in ["D", "E"]', True),
        ("risk_band in ['A','B',]", False),
        ('risk_band not in ["D", "E"]', False),
        ('risk_band not in ["A"]', True),
        ("risk_band in []", False),
        ('status == "past_due"', True),
        ("status == 'past_due'", True),
        ('status != "active"', True),
        ('risk_band > "D"', True),  # texts order as texts (ISO dates too)
        ('due < "2026-12-01"', True),
        ('due >= "2026-11-02"', False),
        ("risk_band > 3", False),  # a text that is no number never orders against one
        ('balance > "100"', False),  # nor a number against a text
        ("vip == true", True),
        ("vip == 1", False),  # a boolean is not a number
        ("closed == false", True),
        ("closed != true", True),
        ("note == null", True),
        ("note != null", False),
        ("note > 0", False),
        ("balance == null", False),
        ("address.country == 'FR'", True),
        ("address.zip in [75001, 75002]", True),
        ("address.city == 'Paris'", False),
        ("missing > 0", False),  # a missing field: never raised
        ("missing != 1", False),
        ("missing not in [1]", False),
        ("missing == null", False),
        ("tags == 'a'", False),
        ("balance > 1e2", True),
    ],
)
def test_rule_evaluation(rule: str, raised: bool) -> None:
    assert parse_rule(rule).raised(RECORD) is raised


@pytest.mark.parametrize(
    ("rule", "parsed"),
    [
        ("balance_overdue > 0", Rule("balance_overdue", ">", 0)),
        ("  x>=-2.5 ", Rule("x", ">=", -2.5)),
        ('x == "say \\"hi\\""', Rule("x", "==", 'say "hi"')),
        ("a.b not in [1, 'two', null, true]", Rule("a.b", "not in", (1, "two", None, True))),
    ],
)
def test_rules_parse(rule: str, parsed: Rule) -> None:
    assert parse_rule(rule) == parsed


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("", "expected a field name, found the end of the rule"),
        ("0 > x", "expected a field name, found '0' at character 1"),
        ("true == x", "expected a field name, found 'true'"),
        ("balance", "expected an operator"),
        ("balance = 1", "unexpected '=' at character 9"),
        ("balance > ", "expected a number, a quoted text, true, false or null, found the end"),
        ("balance > 1 2", "expected the end of the rule, found '2' at character 13"),
        ("balance > 1 and x < 2", "expected the end of the rule, found 'and'"),
        ("balance > x", "expected a number, a quoted text, true, false or null, found 'x'"),
        ("balance > true", "> compares with a number or a text, not true"),
        ("balance not 3", 'expected "in" after "not", found \'3\''),
        ("band in 'D'", "expected a list such as"),
        ("band in ['D' 'E']", 'expected "," or "]", found "\'E\'"'),
        ("band in ['D'", 'expected "," or "]", found the end of the rule'),
        ('band == "open', "unexpected '\"' at character 9"),
        ("__import__('os')", "unexpected '(' at character 11"),
        ("x == 1; drop", "unexpected ';'"),
    ],
)
def test_bad_rules_say_what_was_expected(rule: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(rule)
    assert message in str(caught.value)
