"""The French catalog follows the page text: every `t("...")` of the templates, the page scripts
and the Python page code has a French entry with the same `{placeholders}`, and every entry is
still used. The files are read when the test runs, so a new string fails it at once;
`python -m agent_ui.i18n_extract` prints what is missing, ready to paste into fr.json."""

from __future__ import annotations

import re

from agent_ui import i18n_extract
from agent_ui.i18n import load_catalogs

FRENCH = load_catalogs().catalog("fr")

# A string literal a script shows as it is: element text, a title, a placeholder, a label, or
# text set on a node. Letters there (outside `${...}`) are English the catalog never sees.
_SHOWN_LITERAL = re.compile(
    r"""(?:\b(?:text|title|placeholder)|"aria-label")\s*:\s*(["'`])((?:(?!\1).)*)\1"""
    r"""|\bsetText\([^,()]+,\s*(["'`])((?:(?!\3).)*)\3"""
)
_INTERPOLATION = re.compile(r"\$\{[^}]*\}")


def test_every_page_text_has_a_french_entry() -> None:
    lacking = i18n_extract.missing(FRENCH, i18n_extract.all_uses())
    assert lacking == {}, "add these to agent_ui/messages/fr.json"


def test_no_script_shows_text_that_is_not_written_with_t() -> None:
    bare = []
    for script in sorted(i18n_extract.STATIC.glob("*.js")):
        for number, line in enumerate(script.read_text("utf-8").splitlines(), 1):
            for match in _SHOWN_LITERAL.finditer(line):
                literal = match.group(2) if match.group(2) is not None else match.group(4)
                if re.search("[A-Za-z]", _INTERPOLATION.sub("", literal)):
                    bare.append(f"{script.name}:{number}: {literal!r}")
    assert bare == [], 'write these as t("...") and add them to fr.json'


def test_every_french_entry_is_still_used() -> None:
    assert i18n_extract.unused(FRENCH, i18n_extract.all_uses()) == []


def test_translations_keep_the_placeholders_of_the_english_text() -> None:
    assert i18n_extract.mismatched(FRENCH) == []


def test_every_placeholder_is_given_a_value_where_the_text_is_used() -> None:
    assert i18n_extract.unfilled(i18n_extract.all_uses()) == []


def test_the_french_catalog_translates_something_on_every_page() -> None:
    pages = {use.where.split(":")[0] for use in i18n_extract.all_uses() if use.text in FRENCH}
    assert {"login.html", "agent.html", "supervisor.html", "forbidden.html"} <= pages
    assert {"pages.py", "logout.html", "language.html"} <= pages
