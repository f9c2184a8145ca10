"""`[sections.NAME]` layouts: what a wrong one says at config load, and what the card carries
(the flags its rules raise, the section's resolved link) for each role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from screenpop.card import Card, Section, Status
from screenpop.errors import ConfigError
from screenpop.layout import page_layouts, resolve_link
from screenpop.settings import RoleSettings, Settings, load_settings, parse_settings

CONNECTORS = [{"name": n, "kind": "sql", "url": "sqlite://"} for n in ("accounting", "credit")]


def settings(sections: dict[str, Any]) -> Settings:
    return parse_settings({"connectors": CONNECTORS, "sections": sections}, "test.toml")


GOOD: dict[str, Any] = {
    "fields": [
        {"path": "balance", "label": "Balance", "format": "money", "currency_path": "currency"},
        {"path": "last_payment_at", "label": "Last payment", "format": "date"},
        {
            "path": "invoices",
            "format": "list",
            "columns": [
                {"path": "due", "format": "date"},
                {"path": "amount", "format": "money", "currency": "EUR"},
            ],
        },
    ],
    "highlight": [{"when": "balance_overdue > 0", "level": "alert", "text": "overdue"}],
    "link": "https://erp.example/accounts/{customer_id}",
}


def test_a_full_layout_loads() -> None:
    layout = settings({"accounting": GOOD}).sections["accounting"]
    assert [f.path for f in layout.fields] == ["balance", "last_payment_at", "invoices"]
    assert layout.highlight[0].rule.field == "balance_overdue"


def with_(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def field(**options: Any) -> dict[str, Any]:
    return with_(fields=[{"path": "balance", **options}])


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ({"billing": GOOD}, "sections.billing: not a connector (connectors: accounting, credit)"),
        (
            {"accounting": with_(colour="red")},
            "sections.accounting.colour: unknown key",
        ),
        (
            {"accounting": field(format="money", currency="USD", size=3)},
            "sections.accounting.fields[0].size: unknown key",
        ),
        (
            {"accounting": field(format="euro")},
            "sections.accounting.fields[0].format: Input should be 'money', 'date'",
        ),
        (
            {"accounting": field(format="money")},
            "sections.accounting.fields[0]: a money field needs `currency`",
        ),
        (
            {"accounting": field(format="money", currency="dollars")},
            "sections.accounting.fields[0]: currency 'dollars' is not an ISO 4217 code",
        ),
        (
            {"accounting": field(format="date", currency="USD")},
            "sections.accounting.fields[0]: `currency` and `currency_path` are for money",
        ),
        (
            {"accounting": field(format="list")},
            "sections.accounting.fields[0]: a list field needs `columns`",
        ),
        (
            {"accounting": field(format="list", columns=[{"label": "Due"}])},
            "sections.accounting.fields[0].columns[0].path: Field required",
        ),
        (
            {"accounting": field(format="list", columns=[{"path": "x", "format": "list"}])},
            "sections.accounting.fields[0].columns[0].format: Input should be",
        ),
        (
            {"accounting": field(path="bal ance")},
            "sections.accounting.fields[0]: 'bal ance' is not a field name",
        ),
        (
            {"accounting": with_(fields=[{"path": "a"}, {"path": "a"}])},
            "sections.accounting: fields lists a more than once",
        ),
        (
            {"accounting": with_(highlight=[{"when": "balance >", "text": "x"}])},
            "sections.accounting.highlight[0].when: 'balance >': expected a number, a quoted "
            "text, true, false or null, found the end of the rule",
        ),
        (
            {"accounting": with_(highlight=[{"when": "balance ~ 3", "text": "x"}])},
            "sections.accounting.highlight[0].when: 'balance ~ 3': unexpected '~' at character 9",
        ),
        (
            {"accounting": with_(highlight=[{"when": "risk in D", "text": "x"}])},
            "sections.accounting.highlight[0].when: 'risk in D': expected a list such as",
        ),
        (
            {"accounting": with_(highlight=[{"when": "balance > null", "text": "x"}])},
            "sections.accounting.highlight[0].when: 'balance > null': > compares with a number",
        ),
        (
            {"accounting": with_(highlight=[{"when": "x == 1", "level": "red", "text": "x"}])},
            "sections.accounting.highlight[0].level: Input should be 'alert', 'warn' or 'info'",
        ),
        (
            {"accounting": with_(highlight=[{"when": "x == 1", "text": " "}])},
            "sections.accounting.highlight[0].text: a highlight needs a `text`",
        ),
        (
            {"accounting": with_(highlight=[{"when": "invoices.due > 0", "text": "x"}])},
            "sections.accounting.highlight[0].when: 'invoices.due': invoices is a list field",
        ),
        (
            {"accounting": with_(highlight=[{"when": 'balance > "high"', "text": "x"}])},
            "sections.accounting.highlight[0].when: 'balance' is a money field: it is compared "
            "with the text 'high', not a number",
        ),
        (
            {"accounting": with_(highlight=[{"when": "last_payment_at < 2026", "text": "x"}])},
            "sections.accounting.highlight[0].when: 'last_payment_at' is a date field",
        ),
        (
            {"accounting": with_(link="ftp://erp.example/{customer_id}")},
            "sections.accounting.link: 'ftp://erp.example/{customer_id}' is not an http(s) URL",
        ),
        (
            {"accounting": with_(link="https://erp.example/{customer id}")},
            "sections.accounting.link: 'customer id' is not a field name",
        ),
        (
            {"accounting": with_(link="https://erp.example/{customer_id!r}")},
            "sections.accounting.link: {customer_id}: no format spec or conversion",
        ),
        (
            {"accounting": with_(link="https://erp.example/{customer_id")},
            "sections.accounting.link: 'https://erp.example/{customer_id': expected '}'",
        ),
        (
            {"accounting": with_(link="https://erp.example/{invoices}")},
            "sections.accounting.link: {invoices}: invoices is a list field",
        ),
    ],
)
def test_a_wrong_layout_is_an_error_naming_the_section_and_the_field(
    sections: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(sections)
    assert expected in str(caught.value)


def test_the_toml_table_form_loads_and_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[[connectors]]\nname = "credit"\nkind = "sql"\nurl = "sqlite://"\n'
        "[sections.credit]\n"
        'fields = [{ path = "credit_limit", label = "Credit limit", format = "money",'
        ' currency = "USD" }]\n'
        'highlight = [{ when = \'risk_band in ["D", "E"]\', level = "warn", text = "risky" }]\n',
        encoding="utf-8",
    )
    assert load_settings(path, {}).sections["credit"].fields[0].label == "Credit limit"
    path.write_text(path.read_text() + 'link = "{customer_id}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.toml.*\n.*sections\.credit\.link: "):
        load_settings(path, {})


ROWS = {
    "customer_id": "C-1",
    "balance": 120.5,
    "balance_overdue": 20,
    "risk_band": "E",
    "credit_limit": 0,
    "internal_score": 420,
    "name": "Jane",
}
LAYOUTS: dict[str, Any] = {
    "accounting": {
        "fields": [{"path": "balance", "format": "money", "currency": "USD"}],
        "highlight": [
            {"when": "balance_overdue > 0", "level": "alert", "text": "overdue"},
            {"when": "balance > 1000", "level": "warn", "text": "large balance"},
        ],
        "link": "https://erp.example/accounts/{customer_id}?who={name}",
    },
    "credit": {
        "highlight": [
            {"when": 'risk_band in ["D", "E"]', "level": "warn", "text": "risky"},
            {"when": "credit_limit <= 0", "level": "alert", "text": "no credit"},
            {"when": "internal_score < 500", "level": "info", "text": "low score"},
        ],
        "link": "https://crm.example/{customer_id}/{missing}",
    },
}


def layout_settings() -> Settings:
    return settings(LAYOUTS)


def card_of(accounting: Any, credit: Any = None, chosen: str | None = None) -> Card:
    credit_section = Section(Status.OK, credit) if credit is not None else Section(Status.NOT_FOUND)
    return Card(
        "c1",
        {"e164": "+12125551234"},
        {"accounting": Section(Status.OK, accounting), "credit": credit_section},
        {"accounting": 10, "credit": 30},
        chosen=chosen,
    )


def test_flags_come_in_section_then_rule_order_with_the_resolved_link() -> None:
    out = card_of(ROWS, ROWS).to_json(None, layout_settings().sections)
    assert out["flags"] == [
        {"section": "accounting", "field": "balance_overdue", "level": "alert", "text": "overdue"},
        {"section": "credit", "field": "risk_band", "level": "warn", "text": "risky"},
        {"section": "credit", "field": "credit_limit", "level": "alert", "text": "no credit"},
        {"section": "credit", "field": "internal_score", "level": "info", "text": "low score"},
    ]
    assert out["sections"]["accounting"]["link"] == "https://erp.example/accounts/C-1?who=Jane"
    assert "link" not in out["sections"]["credit"]  # {missing} is not in the data


def test_a_field_the_role_may_not_see_raises_no_flag() -> None:
    role = RoleSettings(sections=["credit"], hide=["credit.internal_score"])
    out = card_of(ROWS, ROWS).to_json(role, layout_settings().sections)
    assert [f["text"] for f in out["flags"]] == ["risky", "no credit"]
    assert set(out["sections"]) == {"credit"}


def test_without_layouts_the_card_has_no_flags_and_no_links() -> None:
    out = card_of(ROWS, ROWS).to_json()
    assert out["flags"] == []
    assert "link" not in out["sections"]["accounting"]


SHARED = [
    {**ROWS, "customer_id": "C-1", "balance_overdue": 0},
    {**ROWS, "customer_id": "C-2", "name": "Bob"},
]


def test_several_customers_flags_carry_the_customer_until_one_is_chosen() -> None:
    layouts = layout_settings().sections
    out = card_of(SHARED).to_json(None, layouts)
    assert out["flags"] == [
        {
            "section": "accounting",
            "field": "balance_overdue",
            "level": "alert",
            "text": "overdue",
            "customer_id": "C-2",
        }
    ]
    assert "link" not in out["sections"]["accounting"]  # two rows: which one?
    one_row = card_of({**ROWS, "customer_id": "C-1"}, SHARED).to_json(None, layouts)
    assert len(one_row["candidates"]) == 2
    assert "link" not in one_row["sections"]["accounting"]  # one row, but is it the caller's?
    chosen = card_of(SHARED, chosen="C-2").to_json(None, layouts)
    assert [f["text"] for f in chosen["flags"]] == ["overdue"]
    assert "customer_id" not in chosen["flags"][0]
    assert chosen["sections"]["accounting"]["link"].endswith("/C-2?who=Bob")
    other = card_of(SHARED, chosen="C-1").to_json(None, layouts)
    assert other["flags"] == []
    assert other["sections"]["accounting"]["link"].endswith("/C-1?who=Jane")


@pytest.mark.parametrize(
    ("template", "record", "expected"),
    [
        ("https://x.example/{id}", {"id": "C 1/2"}, "https://x.example/C%201%2F2"),
        ("https://x.example/{a.b}", {"a": {"b": 7}}, "https://x.example/7"),
        ("https://x.example/{id}?v={flag}", {"id": 1, "flag": True}, "https://x.example/1?v=true"),
        ("https://x.example/{id}", {}, None),
        ("https://x.example/{id}", {"id": None}, None),
        ("https://x.example/{id}", {"id": ""}, None),
        ("https://x.example/{id}", {"id": [1]}, None),
        ("https://x.example/{{id}}", {}, "https://x.example/{id}"),
        ("", {"id": 1}, None),
    ],
)
def test_link_resolution(template: str, record: dict[str, Any], expected: str | None) -> None:
    assert resolve_link(template, record) == expected


def test_the_page_gets_the_role_s_layouts_without_its_hidden_fields() -> None:
    layouts = settings(
        {
            "credit": {
                "fields": [
                    {
                        "path": "credit_limit",
                        "label": "Limit",
                        "format": "money",
                        "currency": "USD",
                    },
                    {"path": "internal_score", "format": "number"},
                    {
                        "path": "history",
                        "format": "list",
                        "columns": [{"path": "when", "format": "date"}, {"path": "secret"}],
                    },
                ],
                "link": "https://crm.example/{customer_id}",
            },
            "accounting": {"fields": [{"path": "balance", "format": "number"}]},
        }
    ).sections
    hide = ["credit.internal_score", "credit.history.secret"]
    assert page_layouts(layouts, ["credit"], hide) == {
        "credit": {
            "fields": [
                {"path": "credit_limit", "label": "Limit", "format": "money", "currency": "USD"},
                {
                    "path": "history",
                    "format": "list",
                    "columns": [{"path": "when", "format": "date"}],
                },
            ],
            "link": True,
        }
    }
    assert set(page_layouts(layouts, None, [])) == {"credit", "accounting"}
