"""The production files in deploy/ work as written: the unit verifies, the config starts only
with its secrets, the image gets every package, the compose file wires what it says."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from screenpop.errors import ConfigError
from screenpop.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SECRETS = {
    "SCREENPOP__SERVER__SESSION_SECRET": "a-long-random-test-secret",
    "SCREENPOP__TELEPHONY__PBX__SECRET": "webhook-test-secret",
}


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (Debian: systemd)")
    unit = (DEPLOY / "screenpop.service").read_text(encoding="utf-8")
    assert (
        "ExecStart=/opt/screenpop/bin/screenpop run --config /etc/screenpop/screenpop.toml" in unit
    )
    screenpop = Path(sys.executable).with_name("screenpop")
    here = tmp_path / "screenpop.service"
    here.write_text(unit.replace("/opt/screenpop/bin/screenpop", str(screenpop)), encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", str(here)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "screenpop.service" not in done.stderr  # no warning about our unit


def test_the_unit_runs_as_its_own_user_with_the_hardening_on() -> None:
    unit = (DEPLOY / "screenpop.service").read_text(encoding="utf-8")
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")
    )
    assert settings["User"] == "screenpop"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "CapabilityBoundingSet": "",
        "StateDirectory": "screenpop",
    }.items():
        assert settings[key] == value, key
    sysusers = (DEPLOY / "screenpop.sysusers").read_text(encoding="utf-8")
    assert re.search(r"^u screenpop ", sysusers, re.MULTILINE)


def test_the_production_config_starts_only_with_its_secrets() -> None:
    settings = load_settings(DEPLOY / "screenpop.toml", SECRETS)
    assert settings.server.host == "0.0.0.0"
    assert settings.cache.url.startswith("redis://")
    assert settings.store.url.startswith("postgresql+asyncpg://")
    without = {k: v for k, v in SECRETS.items() if "SESSION" not in k}
    with pytest.raises(ConfigError, match="session_secret"):
        load_settings(DEPLOY / "screenpop.toml", without)


def test_the_image_gets_every_package_the_project_ships() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\S+) \./\1$", dockerfile, re.MULTILINE))
    assert shipped <= copied
    for source in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.MULTILINE):
        assert (ROOT / source).exists(), source


def test_the_compose_file_runs_the_daemon_on_redis_and_postgres() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"screenpop", "redis", "postgres"}
    daemon = services["screenpop"]
    assert daemon["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / daemon["build"]["context"] / daemon["build"]["dockerfile"]).is_file()
    env = daemon["environment"]
    assert env["SCREENPOP__CACHE__URL"].startswith("redis://redis:")
    assert "@postgres:5432/" in env["SCREENPOP__STORE__URL"]
    assert ":?" in env["SCREENPOP__SERVER__SESSION_SECRET"]  # compose refuses to start without it
    mount = daemon["volumes"][0].split(":")[0]
    assert (DEPLOY / mount).is_file()
    for dependency in ("redis", "postgres"):
        assert daemon["depends_on"][dependency]["condition"] == "service_healthy"
        assert "healthcheck" in services[dependency]
