"""`[board.thresholds]` in the config: per queue alarm limits with a default, validated with an
error naming the key, and shown in config/example.toml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from screenpop.board.alarms import Limit, Thresholds
from screenpop.board.model import Board
from screenpop.board.state import MemoryBoardState
from screenpop.board_settings import QueueThresholdSettings
from screenpop.errors import ConfigError
from screenpop.settings import load_settings, parse_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "example.toml"


def board_table(thresholds: dict[str, Any]) -> dict[str, Thresholds]:
    raw = {"board": {"thresholds": thresholds}, "base_dir": Path(".")}
    return parse_settings(raw, "test.toml").board.threshold_table()


def test_without_thresholds_the_built_in_defaults_apply() -> None:
    assert board_table({}) == {"default": Thresholds()}
    assert Thresholds().service_level == Limit(0.8, 0.6, lower_is_worse=True)
    assert Thresholds().nobody_available is True


def test_a_queue_overrides_the_default_key_by_key() -> None:
    table = board_table(
        {
            "default": {"waiting": 5, "longest_wait_s": {"warn": 30, "alert": 60}},
            "support": {"waiting": {"warn": 2, "alert": 4}, "service_level": False},
            "sales": {"nobody_available": False},
        }
    )
    assert table["default"].waiting == Limit(alert=5)  # a plain number is the alert limit
    assert table["support"].waiting == Limit(warn=2, alert=4)
    assert table["support"].longest_wait_s == Limit(warn=30, alert=60)  # from default
    assert table["support"].service_level == Limit(lower_is_worse=True)  # false: no limit
    assert table["sales"].waiting == Limit(alert=5)
    assert table["sales"].nobody_available is False


@pytest.mark.parametrize(
    ("thresholds", "named"),
    [
        ({"default": {"wating": 5}}, "board.thresholds.default.wating: unknown key"),
        ({"support": {"waiting": {"warn": 2, "alrt": 4}}}, "board.thresholds.support.waiting.alrt"),
        ({"support": {"waiting": -1}}, "board.thresholds.support.waiting.alert"),
        ({"support": {"longest_wait_s": "a minute"}}, "board.thresholds.support.longest_wait_s"),
        ({"support": {"waiting": {"warn": 6, "alert": 5}}}, "waiting: warn (6) must come before"),
        ({"sales": {"service_level": 80}}, "service_level: a share between 0 and 1"),
        ({"sales": {"service_level": {"warn": 0.5, "alert": 0.8}}}, "service_level: warn (0.5)"),
        ({"sales": {"nobody_available": "yes"}}, "board.thresholds.sales.nobody_available"),
    ],
)
def test_bad_thresholds_are_refused_naming_the_key(thresholds: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        board_table(thresholds)
    assert named in str(refused.value)


def test_the_example_shows_every_threshold_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    default = text.split("[board.thresholds.default]", 1)[1].split("\n[", 1)[0]
    shown = set(re.findall(r"^([a-z_]+)\s*=", default, flags=re.MULTILINE))
    assert shown == set(QueueThresholdSettings.model_fields)
    table = load_settings(EXAMPLE, environ={}).board.threshold_table()
    assert set(table) >= {"default", "support"}


async def test_a_reload_hands_the_board_new_thresholds_and_zone() -> None:
    board = Board(20, 30, lambda call_id, role: {})
    state = MemoryBoardState(board)
    table = board_table({"default": {"waiting": 1}})
    await state.configure(20, 30, [("alice", "Alice")], thresholds=table, zone="Europe/Paris")
    assert board.thresholds["default"].waiting == Limit(alert=1)
    assert board.tz == ZoneInfo("Europe/Paris")
    await state.configure(20, 30, [("alice", "Alice")])  # neither given: both kept
    assert board.thresholds["default"].waiting == Limit(alert=1)
    assert board.tz == ZoneInfo("Europe/Paris")
