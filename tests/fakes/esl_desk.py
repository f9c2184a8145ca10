"""The receiving end for FreeSWITCH tests: the real CallTracker and AgentDirectory, recording
which agent was shown what (`seen[agent]`: "pop" or a call state, in order)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from screenpop.agents import AgentDirectory
from screenpop.call_table import CallTracker
from screenpop.calls import Notify, Pop
from screenpop.events import AgentStatusEvent, CallEvent, SourceEvent
from screenpop.settings import AgentSettings


class Desk:
    """What the daemon does with emitted events, minus delivery: the tracker and its effects."""

    def __init__(self, agents: Sequence[AgentSettings]) -> None:
        self.directory = AgentDirectory(list(agents))
        self.tracker = CallTracker(self.directory.match)
        self.events: list[CallEvent] = []
        self.statuses: list[AgentStatusEvent] = []
        self.seen: dict[str, list[str]] = defaultdict(list)
        self.pops: list[Pop] = []

    def emit(self, event: SourceEvent) -> None:
        if isinstance(event, AgentStatusEvent):
            self.statuses.append(event)  # pauses: what the agent status book would be told
            return
        self.events.append(event)
        for effect in self.tracker.feed(event):
            if isinstance(effect, Pop):
                self.pops.append(effect)
                self.seen[effect.agent_id].append("pop")
            elif isinstance(effect, Notify):
                self.seen[effect.agent_id].append(effect.state.value)

    def over(self, call_id: str) -> bool:
        call = self.tracker.get(call_id)
        return call is not None and not call.active
