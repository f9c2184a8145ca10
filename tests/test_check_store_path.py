"""The store's default path: the state folder or the working directory, never the config's."""

from __future__ import annotations

from pathlib import Path

import pytest

from screenpop.paths import resolve_url
from screenpop.settings import StoreSettings, load_settings

PREFIX = "sqlite+aiosqlite:///"


def config_in(folder: Path, store: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "screenpop.toml"
    path.write_text(store, encoding="utf-8")
    return path


def test_the_default_store_is_in_the_state_directory(tmp_path: Path) -> None:
    etc, state = tmp_path / "etc", tmp_path / "var-lib"
    settings = load_settings(config_in(etc), environ={"STATE_DIRECTORY": f"{state}:/other"})
    url = resolve_url(settings.store.url, settings.base_dir)
    assert url == f"{PREFIX}{state / 'screenpop.db'}"


def test_without_a_state_directory_the_default_is_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    settings = load_settings(config_in(tmp_path / "etc"), environ={})
    assert resolve_url(settings.store.url, settings.base_dir) == f"{PREFIX}{work / 'screenpop.db'}"
    assert StoreSettings().url == f"{PREFIX}{work / 'screenpop.db'}"


def test_a_relative_path_in_the_config_still_resolves_from_its_folder(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    path = config_in(etc, f'[store]\nurl = "{PREFIX}calls.db"\n')
    settings = load_settings(path, environ={"STATE_DIRECTORY": str(tmp_path / "state")})
    assert resolve_url(settings.store.url, settings.base_dir) == f"{PREFIX}{etc / 'calls.db'}"
