"""The French catalog follows the page text: every `t("...")` of the templates, the page scripts
and the Python page code has a French entry with the same `{placeholders}`, and every entry is
still used. The files are read when the test runs, so a new string fails it at once;
`python -m agent_ui.i18n_extract` prints what is missing, ready to paste into fr.json."""

from __future__ import annotations

from agent_ui import i18n_extract
from agent_ui.i18n import load_catalogs

# Scripts whose text is not yet written with t() and translated: their strings are neither
# required in the catalog nor counted as uses. The sweep that converts a script takes it off
# this list (and then the list is empty).
NOT_YET_SWEPT = [
    "agent.js",
    "card.js",
    "panels.js",
    "link.js",
    "supervisor.js",
    "keys.js",
    "dom.js",
]

FRENCH = load_catalogs().catalog("fr")


def test_the_scripts_not_yet_swept_are_scripts_of_the_pages() -> None:
    scripts = {path.name for path in i18n_extract.STATIC.glob("*.js")}
    assert set(NOT_YET_SWEPT) <= scripts


def test_every_page_text_has_a_french_entry() -> None:
    lacking = i18n_extract.missing(FRENCH, i18n_extract.all_uses(NOT_YET_SWEPT))
    assert lacking == {}, "add these to agent_ui/messages/fr.json"


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
