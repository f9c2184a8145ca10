"""Config that would let somebody in is refused at load time: the default session secret beyond a
plain-http loopback setup, empty tokens, and role sections or hide paths naming no connector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent_ui.sessions import SessionCodec
from screenpop.daemon import Daemon
from screenpop.errors import ConfigError
from screenpop.settings import DEFAULT_SESSION_SECRET, load_settings, parse_settings
from tests.fakes.web_connectors import web_settings_raw

CONFIG = """
[server]
host = "{host}"
public_origin = "{origin}"
{secret}

[[connectors]]
name = "credit"
kind = "http"
url = "http://127.0.0.1:9/{{e164}}"

[[agents]]
id = "alice"
token = "alice-t"
role = "agent"

[[agents]]
id = "sam"
token = "sam-t"
role = "supervisor"

[roles.agent]
sections = ["credit"]
hide = ["credit.internal_score"]

[roles.supervisor]
board = true
"""


def config(tmp_path: Path, host: str, origin: str, secret: str | None = None, **edits: str) -> Path:
    text = CONFIG.format(
        host=host, origin=origin, secret=f'session_secret = "{secret}"' if secret else ""
    )
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "screenpop.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- item 1: the default session secret -------------------------------------------------------

REFUSED_SETUPS = [
    ("127.0.0.1", "https://pops.example.com"),  # behind a TLS proxy: the case that was open
    ("127.0.0.1", "http://pops.example.com"),
    ("0.0.0.0", "http://127.0.0.1:8080"),
    ("10.1.2.3", "https://10.1.2.3"),
    ("localhost", "https://localhost:8443"),
    ("::1", "http://[2001:db8::1]:8080"),
]


@pytest.mark.parametrize(("host", "origin"), REFUSED_SETUPS)
def test_the_default_secret_serves_only_plain_http_loopback(
    tmp_path: Path, host: str, origin: str
) -> None:
    for secret in (None, DEFAULT_SESSION_SECRET):  # left out, or written out
        with pytest.raises(ConfigError) as caught:
            load_settings(config(tmp_path, host, origin, secret), environ={})
        message = str(caught.value)
        assert "server.session_secret" in message
        assert "SCREENPOP__SERVER__SESSION_SECRET" in message and "token_urlsafe" in message
    env = {"SCREENPOP__SERVER__SESSION_SECRET": "a-long-random-secret"}
    assert load_settings(config(tmp_path, host, origin), environ=env).server.host == host


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("localhost", "http://localhost:8080"),
        ("::1", "http://[::1]:8080"),
    ],
)
def test_the_default_secret_still_starts_a_machine_local_trial(
    tmp_path: Path, host: str, origin: str
) -> None:
    settings = load_settings(config(tmp_path, host, origin), environ={})
    assert settings.server.session_secret == DEFAULT_SESSION_SECRET


def test_a_blank_session_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="session_secret is empty"):
        load_settings(config(tmp_path, "127.0.0.1", "http://127.0.0.1:8080", "  "), environ={})


@pytest.mark.parametrize("token", ['""', '"   "', '"\\t"'])
@pytest.mark.parametrize("key", ["token", "token_sha256"])
def test_an_empty_token_is_refused_naming_the_agent(tmp_path: Path, token: str, key: str) -> None:
    path = config(
        tmp_path,
        "127.0.0.1",
        "http://127.0.0.1:8080",
        "s",
        **{'token = "sam-t"': f"{key} = {token}"},
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert "'sam'" in str(caught.value) and f"empty `{key}`" in str(caught.value)


async def test_a_default_secret_cookie_never_opens_the_board_off_loopback_http(
    tmp_path: Path,
) -> None:
    """Through the real web app: the TLS-proxy setup cannot start on the default secret, and
    once it has a secret of its own, a cookie signed with the default one is no session."""
    raw: dict[str, Any] = web_settings_raw(tmp_path, origin="https://pops.example.com")
    del raw["server"]["session_secret"]
    with pytest.raises(ConfigError, match=r"server\.session_secret"):
        parse_settings(raw, "test")

    raw["server"]["session_secret"] = "this-deployment's-own-secret"
    forged = SessionCodec(DEFAULT_SESSION_SECRET, 3600).issue("sam")
    async with Daemon(parse_settings(raw, "test")) as daemon, daemon.web() as port:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(base) as http:
            cookies = {"screenpop_session": forged}
            for path in ("/supervisor", "/agent"):
                async with http.get(path, cookies=cookies, allow_redirects=False) as page:
                    assert page.status == 303 and page.headers["Location"] == "/"
            async with http.post("/admin/reload", cookies=cookies) as reload:
                assert reload.status == 401


# -- item 5: role sections and hide paths ------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "role", "path"),
    [
        (
            {'hide = ["credit.internal_score"]': 'hide = ["credits.internal_score"]'},
            "agent",
            "credits.internal_score",
        ),
        ({'sections = ["credit"]': 'sections = ["credit", "loyalty"]'}, "agent", "loyalty"),
        ({"board = true": 'board = true\nhide = ["erp.margin"]'}, "supervisor", "erp.margin"),
        ({'hide = ["credit.internal_score"]': 'hide = ["credit"]'}, "agent", "credit"),
        ({'hide = ["credit.internal_score"]': 'hide = ["credit."]'}, "agent", "credit."),
    ],
)
def test_a_role_naming_no_connector_is_a_config_error(
    tmp_path: Path, edit: dict[str, str], role: str, path: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config(tmp_path, "127.0.0.1", "http://127.0.0.1:8080", "s", **edit), {})
    message = str(caught.value)
    assert f"role {role!r}" in message and repr(path) in message and "credit" in message


def test_a_role_naming_known_sections_loads(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, "127.0.0.1", "http://127.0.0.1:8080", "s"), {})
    assert settings.roles["agent"].hide == ["credit.internal_score"]
    deeper = {'hide = ["credit.internal_score"]': 'hide = ["credit.limits.internal"]'}
    load_settings(config(tmp_path, "127.0.0.1", "http://127.0.0.1:8080", "s", **deeper), {})
