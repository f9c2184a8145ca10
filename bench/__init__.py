"""`make bench`: the latency and throughput harness for screenpop.

`python -m bench` measures the physical floor of this machine (one AMI event parsed, one Redis
GET, one websocket frame on loopback), then ring-to-pop through a real daemon on loopback (cache
hit in memory and in Redis, cache miss with three connectors, withheld caller, a real AMI feed
from the fake Asterisk), then a burst of calls to many agents, checking that every agent got
exactly its pops. It prints a table and writes the same figures as JSON. See bench/README.md.
"""
