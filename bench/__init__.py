"""`make bench`: screenpop's latency, throughput, CPU and memory, measured from outside.

The daemon runs as its own process (`screenpop run` on a generated config), beside a fake
Asterisk driven at a set call rate, a fake back office and the agents' `websockets` clients, each
in processes of their own. A pop is timed from the PBX writing `AgentCalled` to the agent's
client holding the `pop` frame, with one clock for all processes (`time.monotonic_ns`), and every
latency is shown as a ratio to the floor measured in the same run. See bench/README.md.
"""
