"""Which language a page is shown in, the catalogs, and `t()` on the Python side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_ui.i18n import (
    CatalogError,
    Choice,
    accepted_languages,
    catalog_json,
    choose,
    load_catalogs,
    translator,
)
from screenpop.agents import AgentDirectory
from screenpop.errors import ConfigError
from screenpop.settings import parse_settings

LANGUAGES = ("en", "fr")


def pick(
    accept: str = "", cookie: str | None = None, agent: str = "", default: str = "en"
) -> Choice:
    return choose(
        LANGUAGES, cookie=cookie, agent_locale=agent, accept_language=accept, default=default
    )


def test_the_browser_language_with_the_best_quality_wins() -> None:
    assert pick("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7") == Choice("fr", "fr-FR")
    assert pick("en-US,en;q=0.9,fr;q=0.8") == Choice("en", "en-US")
    assert pick("en;q=0.3, fr;q=0.8") == Choice("fr", "fr")
    assert pick("de-DE, fr-ca;q=0.5") == Choice("fr", "fr-CA")  # no German: the next one


def test_refused_and_malformed_browser_languages_are_skipped() -> None:
    assert pick("fr;q=0, en;q=0.1") == Choice("en", "en")
    assert pick("*, fr;q=2, fr;level=1, 12345, ;q=1", default="en") == Choice("en", "en")
    assert pick("x" * 5000, default="fr") == Choice("fr", "fr")
    assert accepted_languages("fr;q=abc, en-gb ;q=0.4, de") == ["de", "en-GB"]


def test_without_a_usable_browser_language_the_center_default_applies() -> None:
    assert pick("", default="fr-CA") == Choice("fr", "fr-CA")
    assert pick("de, ja", default="fr") == Choice("fr", "fr")


def test_unknown_languages_fall_back_to_english() -> None:
    assert pick("de", default="de-AT") == Choice("en", "en")
    assert pick(cookie="xx", agent="it", accept="pt-BR", default="es") == Choice("en", "en")


def test_the_agent_setting_wins_over_the_browser_and_the_cookie_over_both() -> None:
    assert pick("en-US", agent="fr") == Choice("fr", "fr")
    assert pick("en-US", agent="fr-BE") == Choice("fr", "fr-BE")
    assert pick("fr", agent="fr", cookie="en") == Choice("en", "en")
    assert pick("en", cookie="fr") == Choice("fr", "fr")


def test_the_chosen_language_keeps_a_region_the_center_or_the_browser_names() -> None:
    assert pick("fr", default="fr-CA") == Choice("fr", "fr-CA")  # [ui] locale's region
    assert pick("fr-FR", default="fr-CA") == Choice("fr", "fr-FR")  # the browser's is the agent's
    assert pick(cookie="fr", accept="en-GB", default="fr-ca") == Choice("fr", "fr-CA")
    assert pick(cookie="en", default="fr-CA") == Choice("en", "en")  # no English region given


def test_t_translates_and_fills_placeholders_and_shows_english_otherwise() -> None:
    t = translator({"Wait {seconds} s.": "Attendez {seconds} s.", "Log in": "Se connecter"})
    assert t("Log in") == "Se connecter"
    assert t("Wait {seconds} s.", seconds=30) == "Attendez 30 s."
    assert t("Not in the catalog {x}", x="<b>") == "Not in the catalog <b>"
    assert t("Missing {value} stays") == "Missing {value} stays"  # as the page script does


def test_the_catalog_for_a_script_element_cannot_close_it() -> None:
    text = str(catalog_json({"a </script><b>": "x & </SCRIPT>"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a </script><b>": "x & </SCRIPT>"}


def test_catalogs_are_named_after_their_language_and_hold_text_only(tmp_path: Path) -> None:
    (tmp_path / "fr.json").write_text('{"Log in": "Se connecter"}', encoding="utf-8")
    catalogs = load_catalogs(tmp_path)
    assert catalogs.languages == ("en", "fr")
    assert catalogs.catalog("fr") == {"Log in": "Se connecter"}
    assert catalogs.catalog("de") == {}
    (tmp_path / "de.json").write_text('{"Log in": 3}', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"de\.json"):
        load_catalogs(tmp_path)
    (tmp_path / "de.json").unlink()
    (tmp_path / "French.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"French\.json"):
        load_catalogs(tmp_path)


def test_the_shipped_catalogs_load() -> None:
    assert "fr" in load_catalogs().languages


def _agents(**extra: object) -> dict[str, object]:
    return {"agents": [{"id": "zoe", "token": "zoe-t", **extra}]}


def test_an_agent_may_have_a_locale_and_a_bad_one_is_an_error_naming_it() -> None:
    settings = parse_settings(_agents(locale="fr-CA"), "x.toml")
    agent = AgentDirectory(settings.agents).get("zoe")
    assert agent is not None and agent.locale == "fr-CA"
    default = AgentDirectory(parse_settings(_agents(), "x.toml").agents).get("zoe")
    assert default is not None and default.locale == ""
    with pytest.raises(ConfigError, match=r"agents.*locale"):
        parse_settings(_agents(locale="French please"), "x.toml")
