"""`python -m agent_ui.i18n_extract`: it finds the `t("...")` texts of templates, scripts and
Python modules, and says what a catalog lacks and what it holds for nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_ui import i18n_extract
from agent_ui.i18n_extract import Use, python_uses, script_uses, template_uses

SCRIPT = r"""// t("a line comment is not page text")
/* t("nor is a block comment")
   spanning lines */
import { t } from "./i18n.js";
const a = t("Saved at {time}", { time });
const b = t('It\'s "quoted"');
const c = t(
  "Spread over\nlines",
);
const d = format("not t"); const e = cat("nor this"); obj.t("nor a method");
const f = t(label); // a variable: nothing to check
"""

TEMPLATE = """{% extends "base.html" %}
{% block main %}<p title="{{ t("Hint") }}">{{ t("Hello {name}", name=agent.name) }}</p>
{{ other("not t") }}{% endblock %}
"""

MODULE = """
def page(t):
    return t("Too many tries: wait {seconds} s.", seconds=3) + t(
        "joined " "literal"
    ) + translate("not t")
"""


def test_scripts_yield_their_literal_texts_without_comments(tmp_path: Path) -> None:
    path = tmp_path / "x.js"
    path.write_text(SCRIPT, encoding="utf-8")
    uses = script_uses(path)
    assert [u.text for u in uses] == ["Saved at {time}", 'It\'s "quoted"', "Spread over\nlines"]
    assert [u.where for u in uses] == ["x.js:5", "x.js:6", "x.js:7"]


def test_templates_yield_texts_and_the_names_they_fill(tmp_path: Path) -> None:
    path = tmp_path / "p.html"
    path.write_text(TEMPLATE, encoding="utf-8")
    assert template_uses(path) == [
        Use("Hint", "p.html:2", frozenset()),
        Use("Hello {name}", "p.html:2", frozenset({"name"})),
    ]


def test_python_modules_yield_texts_and_keyword_names(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(MODULE, encoding="utf-8")
    assert [(u.text, u.names) for u in python_uses(path)] == [
        ("Too many tries: wait {seconds} s.", frozenset({"seconds"})),
        ("joined literal", frozenset()),
    ]


def test_a_text_used_without_its_placeholder_value_is_reported() -> None:
    uses = [Use("Hi {name}", "a.html:1", frozenset()), Use("Hi {name}", "b.js:1")]
    assert i18n_extract.unfilled(uses) == ["a.html:1: 'Hi {name}' given []"]


def test_the_tool_prints_what_the_catalog_lacks_ready_to_paste(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder in ("templates", "static", "messages"):
        (tmp_path / folder).mkdir()
    (tmp_path / "templates" / "p.html").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "static" / "x.js").write_text(SCRIPT, encoding="utf-8")
    catalog = {"Hint": "Astuce", "Hello {name}": "Bonjour", "Gone": "Parti"}
    (tmp_path / "messages" / "fr.json").write_text(json.dumps(catalog), encoding="utf-8")
    monkeypatch.setattr(i18n_extract, "TEMPLATES", tmp_path / "templates")
    monkeypatch.setattr(i18n_extract, "STATIC", tmp_path / "static")
    monkeypatch.setattr(i18n_extract, "HERE", tmp_path)
    monkeypatch.setattr(i18n_extract, "MESSAGES", tmp_path / "messages")

    assert i18n_extract.main(["fr"]) == 1
    out, err = capsys.readouterr()
    lacking = ["Saved at {time}", 'It\'s "quoted"', "Spread over\nlines"]
    assert json.loads(out) == dict.fromkeys(lacking, "")
    assert "missing: 'Saved at {time}' (x.js:5)" in err
    assert "unused: 'Gone'" in err
    assert "placeholders differ: 'Hello {name}'" in err

    done = {**catalog, **dict.fromkeys(lacking, "ok")}
    done.pop("Gone")
    done["Hello {name}"] = "Bonjour {name}"
    done["Saved at {time}"] = "Enregistré à {time}"
    (tmp_path / "messages" / "fr.json").write_text(json.dumps(done), encoding="utf-8")
    assert i18n_extract.main(["fr"]) == 0
    assert json.loads(capsys.readouterr().out) == {}
