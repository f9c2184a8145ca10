"""The health latch: one log line when something goes down, one when it comes back."""

from __future__ import annotations

import logging

import pytest

from screenpop.health import HealthLatch


def test_a_flapping_failure_is_logged_once_each_way(caplog: pytest.LogCaptureFixture) -> None:
    latch = HealthLatch(logging.getLogger("test.health"))
    with caplog.at_level(logging.INFO, logger="test.health"):
        changes = [latch.down("x is down: %s", "refused") for _ in range(5)]
        changes += [latch.up("x recovered") for _ in range(3)]
    assert changes == [True, False, False, False, False, True, False, False]
    assert [r.getMessage() for r in caplog.records] == ["x is down: refused", "x recovered"]
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]


def test_a_latch_that_starts_down_logs_its_first_recovery() -> None:
    latch = HealthLatch(logging.getLogger("test.health"), healthy=False)
    assert latch.up("back") is True
    assert latch.healthy
