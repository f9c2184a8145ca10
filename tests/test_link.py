"""The PBX link's health: logged when it changes, not on every retry."""

from __future__ import annotations

import logging

import pytest

from screenpop.telephony.link import LinkHealth


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "screenpop.telephony.link"]


def test_health_is_logged_on_change_and_on_a_new_reason(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="screenpop.telephony.link")
    health = LinkHealth("pbx", "AMI message")
    health.down("connection refused; retrying in 0.5s", "connection refused")
    health.down("connection refused; retrying in 1.0s", "connection refused")
    health.down("login failed: bad secret; retrying in 2.0s", "login failed: bad secret")
    health.up("logged in")
    health.up("logged in")
    health.down("connection refused; retrying in 0.5s", "connection refused")
    assert _lines(caplog) == [
        "telephony pbx: connection refused; retrying in 0.5s",
        "telephony pbx: login failed: bad secret; retrying in 2.0s",
        "telephony pbx: logged in",
        "telephony pbx: connection refused; retrying in 0.5s",
    ]
    assert health.status.logged_in is False
    assert health.status.detail == "connection refused; retrying in 0.5s"


def test_the_first_up_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="screenpop.telephony.link")
    health = LinkHealth("pbx", "ESL frame")
    health.up("connected, subscribed")
    assert _lines(caplog) == ["telephony pbx: connected, subscribed"]
    assert health.status.connected and health.status.logged_in
