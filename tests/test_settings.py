"""Config loading: errors name the key and the file, environment overrides, consistency checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from screenpop.errors import ConfigError
from screenpop.settings import load_settings

BASE = """
[server]
host = "{host}"

[[connectors]]
name = "crm"
kind = "http"
url = "http://127.0.0.1:9/{{e164}}"
token = "abc"

[[agents]]
id = "alice"
extensions = ["PJSIP/1001"]
token = "ta"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "screenpop.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.format(host="127.0.0.1") + "[cache]\nttl = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(path) in str(caught.value) and "cache.ttl: unknown key" in str(caught.value)


def test_environment_overrides_sections_and_named_entries(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.format(host="127.0.0.1"))
    env = {
        "SCREENPOP__SERVER__PORT": "9090",
        "SCREENPOP__CONNECTORS__CRM__TOKEN": "0123456789",  # digits, but the file has text
        "SCREENPOP__CONNECTORS__CRM__DEADLINE_MS": "250",
        "SCREENPOP__AGENTS__ALICE__TOKEN": "1e5",
    }
    settings = load_settings(path, env)
    assert settings.server.port == 9090
    crm = settings.connectors[0]
    assert crm.options()["token"] == "0123456789" and crm.deadline_ms == 250
    assert settings.agents[0].token == "1e5"
    with pytest.raises(ConfigError, match="'nobody'"):
        load_settings(path, {"SCREENPOP__CONNECTORS__NOBODY__URL": "x"})


def test_an_extension_rings_for_one_agent_only(tmp_path: Path) -> None:
    extra = '[[agents]]\nid = "bob"\nextensions = ["pjsip/1001"]\ntoken = "tb"\n'
    path = write(tmp_path, BASE.format(host="127.0.0.1") + extra)
    with pytest.raises(ConfigError, match=r"'alice'.*'bob'"):
        load_settings(path)


def test_the_default_session_secret_is_refused_off_loopback(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.format(host="0.0.0.0"))
    with pytest.raises(ConfigError, match="SCREENPOP__SERVER__SESSION_SECRET"):
        load_settings(path)
    settings = load_settings(path, {"SCREENPOP__SERVER__SESSION_SECRET": "long and random"})
    assert settings.server.host == "0.0.0.0"
    assert load_settings(write(tmp_path, BASE.format(host="127.0.0.1"))).server.port == 8080


def test_two_agents_may_not_share_a_token(tmp_path: Path) -> None:
    digest = "bcc0f7d3a3cf4ce4ed4e0ecf0e30c4b4e2f0e6f5c5d4d1c6de0b8d7b3a9f8a11"
    extra = f'[[agents]]\nid = "bob"\ntoken_sha256 = "{digest}"\n'
    extra += '[[agents]]\nid = "carol"\ntoken = "ta"\n'
    path = write(tmp_path, BASE.format(host="127.0.0.1") + extra)
    with pytest.raises(ConfigError, match="'alice' and 'carol' have the same token"):
        load_settings(path)
