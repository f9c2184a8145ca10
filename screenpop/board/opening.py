"""The board as the daemon opens it: built from `[board]` and `[ui]`, configured with the agents
who have phones, and refilled with today's calls from the call log (the center's midnight in
`[ui] timezone`), so a restart does not zero the day's figures."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from screenpop import localday
from screenpop.board.model import Board
from screenpop.board.state import BoardState
from screenpop.board_settings import BoardSettings
from screenpop.errors import ScreenpopError
from screenpop.store import Store
from screenpop.ui_settings import UiSettings

log = logging.getLogger(__name__)


def board_for(
    board: BoardSettings, ui: UiSettings, info: Callable[[str, str | None], dict[str, Any]]
) -> Board:
    """An empty board with the configured service level, wrap-up, thresholds and day."""
    return Board(
        board.service_level_s,
        board.wrap_up_s,
        info,
        tz=localday.zone(ui.timezone),
        thresholds=board.threshold_table(),
        max_call_age_s=board.max_call_age_s,
    )


async def configure_board(
    state: BoardState, board: BoardSettings, ui: UiSettings, agents: list[tuple[str, str]]
) -> None:
    """Apply `[board]` and the agents ``(id, name)`` to `state` (at start and on reload)."""
    await state.configure(
        board.service_level_s,
        board.wrap_up_s,
        agents,
        max_call_age_s=board.max_call_age_s,
        thresholds=board.threshold_table(),
        zone=ui.timezone,
    )


async def refill_today(state: BoardState, store: Store, tz: tzinfo | None) -> None:
    """Rebuild `state` from the calls that started since the center's midnight; a call log that
    does not answer leaves the board empty, with a warning, and the daemon starts anyway."""
    now = time.time()
    try:
        records = await store.calls_since(localday.day_start(now, tz))
    except ScreenpopError as exc:
        log.warning("board: today's calls could not be read from the call log: %s", exc)
        return
    await state.rebuild((dataclasses.asdict(r) for r in records), now)
