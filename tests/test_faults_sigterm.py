"""`screenpop run` gets SIGTERM while calls keep ringing (issue 12, "Faults").

The daemon runs as its own process on a generated config (free loopback ports, the fake
Asterisk of tests/fakes/ami_server.py as its PBX, a back office that takes 800 ms), two agents
connected, a call every 200 ms (tests/fakes/pbx_traffic.py). What ops and the agents notice on a
SIGTERM: the daemon stops taking connections at once, the pops of the calls it already heard
ringing still reach their agents (the back office answers after the signal), the tabs are then
closed as "going away" (1001) so the page reconnects elsewhere, the process exits 0 within 5 s,
and its log says it stopped cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.faults import Inbox, eventually, metric, wait_readiness
from tests.fakes.pbx_traffic import ALICE, BOB, AmiPhones, PbxTraffic, customers
from tests.harness import agent_tab, free_port, screenpop_run, until

CUSTOMERS = customers(400)
RINGS = "screenpop_call_events_total"


def write_config(folder: Path, web_port: int, ami_port: int) -> Path:
    records = "\n".join(
        f'"{number}" = {{ customer_id = "{r["customer_id"]}", name = "{r["name"]}" }}'
        for number, r in CUSTOMERS.items()
    )
    path = folder / "screenpop.toml"
    path.write_text(
        f"""
[server]
port = {web_port}
public_origin = "http://127.0.0.1:{web_port}"

[store]
url = "sqlite+aiosqlite:///calls.db"

[[telephony]]
name = "pbx1"
kind = "ami"
port = {ami_port}
username = "screenpop"
secret = "s3cret"
backoff_min_s = 0.2

[[connectors]]
name = "accounting"
kind = "tests.fakes.connectors:StaticConnector"
sleep_ms = 800
deadline_ms = 1500

[connectors.records]
{records}

[[agents]]
id = "alice"
extensions = ["PJSIP/1001"]
token = "ta"

[[agents]]
id = "bob"
extensions = ["PJSIP/1002"]
token = "tb"
""",
        encoding="utf-8",
    )
    return path


def read(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")


async def refused(port: int) -> bool:
    """True when a new connection to the web port is refused."""
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return False


async def test_sigterm_under_traffic(tmp_path: Path) -> None:
    server = FakeAsterisk()
    ami_port = await server.start()
    port = free_port()
    config, log = write_config(tmp_path, port, ami_port), tmp_path / "daemon.log"
    try:
        async with (
            screenpop_run(config, log) as proc,
            agent_tab(port, "ta") as alice_tab,
            agent_tab(port, "tb") as bob_tab,
            Inbox(alice_tab) as alice,
            Inbox(bob_tab) as bob,
        ):
            inboxes = {"alice": alice, "bob": bob}
            await wait_readiness(port, True)
            async with PbxTraffic(AmiPhones(server), [ALICE, BOB]) as traffic:
                await until(lambda: len(alice.calls) + len(bob.calls) >= 4, "calls pop")
                # the calls the daemon has heard ringing, some of them still waiting for their card
                heard = list(traffic.started)

                async def all_heard() -> bool:
                    return await metric(port, RINGS, kind="ringing", source="pbx1") >= len(heard)

                await eventually(all_heard, "the daemon heard the rings")
                in_flight = [c for c in heard if not inboxes[traffic.agent_of[c]].pops_of(c)]
                proc.send_signal(signal.SIGTERM)
                gone_by = asyncio.get_running_loop().time() + 5.0  # the contract: out within 5 s
                await eventually(lambda: refused(port), "new connections refused")
                # refused at once: while the pops it owes are still on their way
                assert proc.returncode is None
                assert [c for c in in_flight if not inboxes[traffic.agent_of[c]].pops_of(c)]
                left = gone_by - asyncio.get_running_loop().time()
                assert await asyncio.wait_for(proc.wait(), left) == 0
            for call_id in heard:  # each pop the daemon owed reached its agent, once
                inbox = inboxes[traffic.agent_of[call_id]]
                assert inbox.pops_of(call_id) == 1, (call_id, call_id in in_flight)
                card = inbox.calls[call_id].pops[0]["card"]
                assert card["summary"]["name"] == CUSTOMERS[traffic.number_of[call_id]]["name"]
            assert in_flight, "no pop was in flight at the signal: the test proved nothing"
            await until(lambda: alice.closed_with is not None and bob.closed_with is not None)
            assert (alice.closed_with, bob.closed_with) == (1001, 1001)
    finally:
        await server.stop()
    text = read(log)
    assert "stopped cleanly" in text, text
    assert "Traceback" not in text and " ERROR " not in text, text
