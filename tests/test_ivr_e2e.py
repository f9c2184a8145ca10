"""IVR data as lookup keys, end to end: an account number the caller typed into the IVR reaches
a SQL back office's query from the fake Asterisk, the fake FreeSWITCH and the JSON webhook, so
the pop shows the account's customer although nobody has the caller's number."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp

from screenpop.telephony.webhooks.generic import signed_json_headers
from tests.fakes.ami_scenarios import Pbx
from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.esl_server import FakeFreeSwitch, cc_event, channel_event, event_frame
from tests.harness import agent_tab, make_settings, running, until, with_sources

QUERY = (
    "SELECT customer_id, name FROM customers"
    " WHERE account_no = :account OR (:account IS NULL AND phone = :e164)"
)
LOOKUP = {"keys": {"account": "IVR_ACCOUNT"}}
MEMBER = "c0ffee00-0000-4000-8000-0000000000bb"


def crm(tmp_path: Path) -> dict[str, Any]:
    """A SQLite CRM that knows accounts 12345 and 67890, and the number of neither caller."""
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (customer_id, name, account_no, phone)")
        db.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, ?)",
            [
                ("A-1", "Acme Ltd", "12345", "+15550000001"),
                ("B-2", "Bolt & Co", "67890", "+15550000002"),
                ("P-3", "Phone Only", None, "+12125551234"),
            ],
        )
    url = f"sqlite+aiosqlite:///{path}"
    return {"name": "crm", "kind": "sql", "url": url, "query": QUERY, "deadline_ms": 2000}


def settings_with(tmp_path: Path, telephony: list[dict[str, Any]]) -> Any:
    return make_settings(tmp_path, telephony=telephony, connectors=[crm(tmp_path)], lookup=LOOKUP)


def ami_source(port: int, **options: Any) -> dict[str, Any]:
    """The `[[telephony]]` entry for the fake Asterisk on `port`."""
    return {
        "name": "pbx1",
        "kind": "ami",
        "port": port,
        "username": "screenpop",
        "secret": "s3cret",
        **options,
    }


async def test_an_ivr_variable_from_asterisk_reaches_the_sql_query(tmp_path: Path) -> None:
    pbx = Pbx()
    server = FakeAsterisk(pbx)
    port = await server.start()
    source = ami_source(port)
    try:
        async with (
            running(settings_with(tmp_path, [source])) as (daemon, web_port),
            with_sources(daemon),
            agent_tab(web_port, "ta") as alice,
        ):
            await until(lambda: daemon.sources["pbx1"].status.logged_in and server.resyncs >= 1)
            await alice.recv_type("hello")
            call, packets = pbx.inbound("+15557654321", "Caller")
            # queued first (a card is built without the account), then the IVR sets it: VarSet
            await server.send([*packets, *pbx.join(call, "support")])
            await server.send([pbx._var(call.caller, "IVR_ACCOUNT", "12345")])
            await server.send(pbx.ring(call, "PJSIP/1001", "1001", "Alice"))
            pop = await alice.recv_type("pop")
            card = pop["card"]
            assert card["summary"]["name"] == "Acme Ltd"
            assert card["matched_by"] == {"account": "12345"}
    finally:
        await server.stop()


async def test_an_ivr_account_set_while_the_ami_link_was_down_reaches_the_card(
    tmp_path: Path,
) -> None:
    pbx = Pbx(channelvars=("IVR_ACCOUNT",))  # manager.conf: channelvars = IVR_ACCOUNT
    server = FakeAsterisk(pbx)
    port = await server.start()
    source = ami_source(port, backoff_min_s=0.05, backoff_max_s=0.2)
    try:
        async with (
            running(settings_with(tmp_path, [source])) as (daemon, web_port),
            with_sources(daemon),
            agent_tab(web_port, "ta") as alice,
        ):
            ami = daemon.sources["pbx1"]
            await until(lambda: ami.status.logged_in and server.resyncs >= 1)
            await alice.recv_type("hello")
            call, packets = pbx.inbound("+12125551234", "Caller")
            await server.send([*packets, *pbx.join(call, "support")])
            await server.send(pbx.ring(call, "PJSIP/1001", "1001", "Alice"))
            card = (await alice.recv_type("pop"))["card"]
            assert (card["summary"]["name"], card["matched_by"]) == ("Phone Only", "number")
            await server.drop()
            await until(lambda: not ami.status.logged_in, "the link is down")
            pbx._var(call.caller, "IVR_ACCOUNT", "67890")  # its VarSet is lost with the link
            card = (await alice.recv_type("card", wait=10))["card"]  # after the resync
            assert (card["summary"]["name"], card["matched_by"]) == (
                "Bolt & Co",
                {"account": "67890"},
            )
            assert server.resyncs >= 2
    finally:
        await server.stop()


async def test_an_ivr_variable_from_freeswitch_reaches_the_sql_query(tmp_path: Path) -> None:
    async with FakeFreeSwitch("ClueCon") as fs:
        source = {"name": "fs1", "kind": "esl", "port": fs.port, "password": "ClueCon"}
        async with (
            running(settings_with(tmp_path, [source])) as (daemon, web_port),
            with_sources(daemon),
            agent_tab(web_port, "ta") as alice,
        ):
            await fs.wait_subscribed()
            await alice.recv_type("hello")
            number = {"Caller-Caller-ID-Number": "+15557654321"}
            events = [
                channel_event("CHANNEL_CREATE", MEMBER, direction="inbound", number="+15557654321"),
                cc_event(
                    "member-queue-start",
                    MEMBER,
                    variable_IVR_ACCOUNT="67890",
                    **{"CC-Member-CID-Number": "+15557654321", **number},
                ),
                cc_event("agent-offering", MEMBER, agent="1001@default"),
            ]
            for headers in events:
                await fs.send_raw(event_frame(headers))
            pop = await alice.recv_type("pop")
            assert pop["card"]["summary"]["name"] == "Bolt & Co"
            assert pop["card"]["matched_by"] == {"account": "67890"}


async def post_json(port: int, body: dict[str, Any]) -> int:
    raw = json.dumps(body).encode()
    headers = {**signed_json_headers("k", raw), "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"http://127.0.0.1:{port}/webhooks/generic", data=raw, headers=headers) as resp,
    ):
        return resp.status


async def test_the_cache_keeps_two_accounts_on_one_number_apart(tmp_path: Path) -> None:
    source = {"name": "generic", "kind": "webhook", "flavor": "json", "secret": "k"}
    async with (
        running(settings_with(tmp_path, [source])) as (_, port),
        agent_tab(port, "ta") as alice,
    ):
        await alice.recv_type("hello")
        seen = []
        for call_id, variables in [
            ("w1", {"IVR_ACCOUNT": "12345", "UNRELATED": "x"}),
            ("w2", {"IVR_ACCOUNT": "67890"}),
            ("w3", {}),
            ("w4", {"IVR_ACCOUNT": "12345"}),
        ]:
            ring = {"call_id": call_id, "event": "ringing", "caller": "+12125551234"}
            body = {**ring, "agent": "1001", "variables": variables}
            assert await post_json(port, body) == 200
            card = (await alice.recv_type("pop"))["card"]
            cached = card["sections"]["crm"].get("cached", False)
            seen.append((card["summary"].get("name"), card["matched_by"], cached))
        assert seen == [
            ("Acme Ltd", {"account": "12345"}, False),
            ("Bolt & Co", {"account": "67890"}, False),  # the same number: another answer
            ("Phone Only", "number", False),  # no account: found by the caller's number
            ("Acme Ltd", {"account": "12345"}, True),  # the first call's answer, cached
        ]


async def test_an_account_arriving_after_the_pop_updates_the_card(tmp_path: Path) -> None:
    source = {"name": "generic", "kind": "webhook", "flavor": "json", "secret": "k"}
    async with (
        running(settings_with(tmp_path, [source])) as (_, port),
        agent_tab(port, "ta") as alice,
    ):
        await alice.recv_type("hello")
        ring = {"call_id": "w9", "event": "ringing", "caller": "+12125551234", "agent": "1001"}
        assert await post_json(port, ring) == 200
        card = (await alice.recv_type("pop"))["card"]
        assert (card["summary"]["name"], card["matched_by"]) == ("Phone Only", "number")
        update = {"call_id": "w9", "event": "updated", "variables": {"IVR_ACCOUNT": "67890"}}
        assert await post_json(port, update) == 200
        card = (await alice.recv_type("card"))["card"]
        assert (card["summary"]["name"], card["matched_by"]) == ("Bolt & Co", {"account": "67890"})
        assert await post_json(port, {**update, "event": "ended"}) == 200
        assert (await alice.recv_type("call"))["state"] == "abandoned"  # nobody answered
