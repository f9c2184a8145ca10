"""The receiving end for telephony tests: a real CallTracker and AgentDirectory, recording who
got which pop and which call-state notification, in order."""

from __future__ import annotations

import itertools
from collections import defaultdict

from screenpop.agents import AgentDirectory
from screenpop.call_table import CallTracker
from screenpop.calls import Notify, Pop
from screenpop.events import AgentStatusEvent, CallEvent, SourceEvent
from screenpop.settings import AgentSettings
from screenpop.telephony.asterisk.mapper import AmiCallMapper
from screenpop.telephony.asterisk.protocol import AmiParser, Message

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
        self.statuses: list[AgentStatusEvent] = []
        self.seen: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.pops: list[Pop] = []

    def __call__(self, event: SourceEvent) -> None:
        if isinstance(event, AgentStatusEvent):
            self.statuses.append(event)  # pauses: what the agent status book would be told
            return
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


CACOFONISK_AGENTS = {
    "a1": ["SIP/150010001", "201"],
    "a2": ["SIP/150010002", "202"],
    "a3": ["SIP/150010003", "203"],
}


def replay(stream: bytes, agents: dict[str, list[str]], cuts: list[int] | None = None) -> Desk:
    """Feed an AMI byte stream through the real parser, mapper and tracker; `cuts` are the offsets
    where the reads end (one read when None)."""
    desk = Desk(agents)
    parser, mapper = AmiParser(), AmiCallMapper("pbx")
    edges = [0, *sorted(set(cuts or [])), len(stream)]
    for start, end in itertools.pairwise(edges):
        for item in parser.feed(stream[start:end]):
            if isinstance(item, Message):
                for event in mapper.feed(item):
                    desk(event)
    return desk


def popped(desk: Desk) -> list[str]:
    """The agents that got a pop, in order of their first pop."""
    order: list[str] = []
    for pop in desk.pops:
        if pop.agent_id not in order:
            order.append(pop.agent_id)
    return order
