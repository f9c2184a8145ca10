"""mod_callcenter agent statuses to PBX-neutral :class:`AgentStatusEvent` values, free of I/O.

`callcenter_config agent set status <agent> <status>` (from us, a phone feature code or another
tool) makes mod_callcenter fire `CUSTOM callcenter::info` with `CC-Action: agent-status-change`,
`CC-Agent` (the agent's name) and `CC-Agent-Status`: `Available` or `Available (On Demand)`
(offered calls), `On Break` (paused) or `Logged Out` (paused, out of service).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from screenpop.events import AgentStatusEvent

CALLCENTER_SUBCLASS = "callcenter::info"
STATUS_CHANGE = "agent-status-change"
AVAILABLE = frozenset({"available", "available (on demand)"})
ON_BREAK = "on break"
LOGGED_OUT = "logged out"
ON_BREAK_STATUS = "On Break"  # what `callcenter_config agent set status` is given, as written
AVAILABLE_STATUS = "Available"


def agent_status(
    source: str, h: Mapping[str, str], clock: Callable[[], float] = time.time
) -> list[AgentStatusEvent]:
    """The status change one decoded ESL event means (none for any other event)."""
    if h.get("Event-Subclass") != CALLCENTER_SUBCLASS or h.get("CC-Action") != STATUS_CHANGE:
        return []
    agent = h.get("CC-Agent", "").strip()
    status = h.get("CC-Agent-Status", "").strip()
    if not agent:
        return []
    word = status.lower()
    if word in AVAILABLE:
        return [AgentStatusEvent(source, agent, False, at=clock())]
    if word == ON_BREAK:
        return [AgentStatusEvent(source, agent, True, at=clock())]
    if word == LOGGED_OUT:
        return [AgentStatusEvent(source, agent, True, "logged out", logged_out=True, at=clock())]
    return []
