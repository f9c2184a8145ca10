"""Stopping without dropping what agents are owed.

On SIGTERM the daemon stops listening and stops its sources first; then :func:`settle` waits,
for a bounded time, until the events already taken are applied, every call's courier has handed
its pops and messages to the hub (a pop still waits for its card, up to the connectors'
deadline), and every tab's writer has taken what the hub gave it. Only then are the tabs closed
as going away (1001): the pop of a call that rang just before the signal still reaches its agent.
"""

from __future__ import annotations

import asyncio
import logging

from screenpop.delivery.hub import Hub
from screenpop.pipeline.intake import EventIntake
from screenpop.pipeline.runtime import CallRuntimes

log = logging.getLogger(__name__)

POLL_S = 0.01


def nothing_owed(intake: EventIntake, runtimes: CallRuntimes, hub: Hub) -> bool:
    """Every event taken is applied, every courier has handed its messages to the hub and every
    tab's writer has taken what the hub gave it."""
    return intake.idle and runtimes.backlog.jobs == 0 and hub.unsent == 0


async def settle(intake: EventIntake, runtimes: CallRuntimes, hub: Hub, within_s: float) -> bool:
    """Wait until nothing taken is still owed to a tab, for at most `within_s` seconds. True when
    all of it went; False (logged, with what is left) when the time ran out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not nothing_owed(intake, runtimes, hub):
        if loop.time() >= deadline:
            log.warning(
                "stopping with deliveries still owed after %gs: %d queued for calls, %d for tabs",
                within_s,
                runtimes.backlog.jobs,
                hub.unsent,
            )
            return False
        await asyncio.sleep(POLL_S)
    return True
