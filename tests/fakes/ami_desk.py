"""The receiving end for telephony tests: a real CallTracker and AgentDirectory, recording who
got which pop and which call-state notification, in order."""

from __future__ import annotations

from collections import defaultdict

from screenpop.agents import AgentDirectory
from screenpop.calls import CallTracker, Notify, Pop
from screenpop.events import CallEvent
from screenpop.settings import AgentSettings

AGENTS = {
    "alice": ["PJSIP/1001", "1001"],
    "bob": ["Local/1002@from-internal"],
    "carol": ["PJSIP/1003", "1003"],
    "agent1": ["PJSIP/agent1"],
    "agent2": ["PJSIP/agent2"],
    "agent3": ["PJSIP/agent3"],
}


class Desk:
    """Feeds CallEvents through the real tracker; `seen[agent]` lists ("pop"|state, call id)."""

    def __init__(self, agents: dict[str, list[str]] | None = None) -> None:
        settings = [
            AgentSettings(id=agent, extensions=exts, token=f"t-{agent}")
            for agent, exts in (agents or AGENTS).items()
        ]
        self.directory = AgentDirectory(settings)
        self.tracker = CallTracker(self.directory.match)
        self.events: list[CallEvent] = []
        self.seen: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.pops: list[Pop] = []

    def __call__(self, event: CallEvent) -> None:
        self.events.append(event)
        for effect in self.tracker.feed(event):
            if isinstance(effect, Pop):
                self.pops.append(effect)
                self.seen[effect.agent_id].append(("pop", effect.call.call_id))
            elif isinstance(effect, Notify):
                self.seen[effect.agent_id].append((str(effect.state), effect.call.call_id))

    def log(self) -> dict[str, list[tuple[str, str]]]:
        """Only the agents that got anything."""
        return {agent: list(entries) for agent, entries in self.seen.items() if entries}
