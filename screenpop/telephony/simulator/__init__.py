"""A telephony source that makes up realistic call-center traffic (`kind = "simulator"`).

It is what the demo runs on: while at least one agent has the page open
(:attr:`SourceContext.online_agents`), callers from a pool file join a queue, ring a free online
agent, are answered or ring out to the next agent, talk and hang up; a few give up while they
wait or ring (abandoned), and some calls ring two agents at once and one of them answers. The
first call comes `first_call_after_s` after an agent appears, so a demo user sees a pop within a
few seconds of logging in.

It is also a Pauser: a paused agent's extensions are rung no more until unpaused, and each pause
is reported back as the PBX would (an :class:`AgentStatusEvent`). `start_paused` pauses some
extensions when it starts (for `start_paused_s` seconds), so the demo shows a paused agent.

It is also a Dialer: click-to-dial places a made-up outbound call, which the callee "answers"
after a second or two (:data:`OUTBOUND_ANSWER_S`), talks for `talk_s`, and hangs up.

The pool file (`caller_pool`, relative to the config's folder) is UTF-8 text, one caller per
line: ``raw caller id|Caller Name`` (the name is optional); lines starting with ``#`` are
comments. Raw caller ids are sent exactly as written, withheld and unknown numbers included.
"""

from screenpop.telephony.simulator.pool import PoolCaller, load_pool, parse_pool
from screenpop.telephony.simulator.source import SimulatorOptions, SimulatorSource

__all__ = ["PoolCaller", "SimulatorOptions", "SimulatorSource", "load_pool", "parse_pool"]
