"""Two nodes on one Redis act as one (issue 11, "Several nodes on Redis").

Two `screenpop run` processes share one config file (port and node id from the environment), a
Redis of the test's own (tests/fakes/faults.py PrivateRedis, a unique key prefix) and a scratch
PostgreSQL database; the PBX is the fake Asterisk. What an operator and the agents notice: one
node holds the AMI link and the other says who does; Bob, whose tab is on the standby node, gets
the pops the holder decides; the holder is SIGKILLed mid-traffic and the survivor takes the link
over, every call pops once for each agent, and Alice, whose tab was on the dead node, resumes on
the survivor with her seq running on without a gap. With Redis gone, a node keeps popping what
it sees and `/readyz` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.fakes.ami_scenarios import Pbx
from tests.fakes.ami_server import FakeAsterisk
from tests.fakes.cluster_nodes import Node, cluster_config
from tests.fakes.faults import PrivateRedis, metric, readiness, require_binary
from tests.fakes.postgres import scratch_database
from tests.harness import free_port

ALICE, BOB = "PJSIP/1001", "PJSIP/1002"
LEASE_S = 2.0
TERMINAL = {"ended", "abandoned", "missed", "answered_elsewhere", "transferred"}


class Desk:
    """Everything an agent's tabs received, across reconnections, in the order it came."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.frames: list[dict[str, Any]] = []
        self.hellos: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def on(self, port: int, resume: bool = False) -> AsyncIterator[None]:
        """A tab on the node at `port`; with `resume`, it asks for what it missed."""
        url = f"ws://127.0.0.1:{port}/ws"
        headers = {"Authorization": f"Bearer {self.token}"}
        async with connect(url, additional_headers=headers) as ws:
            seen = self.last_seq if self.hellos else 0  # what the tab had before this connection
            self.hellos.append(json.loads(await ws.recv()))
            if resume:
                await ws.send(json.dumps({"type": "resume", "last_seq": seen}))
            self._task = asyncio.create_task(self._read(ws))
            try:
                yield
            finally:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                f = json.loads(raw)
                f["_conn"] = len(self.hellos)
                self.frames.append(f)
                self.changed.set()

    async def closed(self) -> None:
        """Until the tab's connection is gone (its node died)."""
        assert self._task is not None
        await asyncio.wait_for(asyncio.shield(self._task), 10)

    @property
    def last_seq(self) -> int:
        return int(max((f["seq"] for f in self.frames), default=self.hellos[-1]["seq"]))

    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.frames]

    def pops(self, call_id: str) -> int:
        return sum(1 for f in self.frames if f["type"] == "pop" and f["call_id"] == call_id)

    def about(self, call_id: str) -> list[tuple[int, str, str]]:
        """(seq, type, state) of what came about one call: for a failure's message."""
        return [self.hellos[-1]["seq"]] + [
            (f["seq"], f["type"], f.get("state", ""), f["_conn"])
            for f in self.frames
            if f.get("call_id") == call_id
        ]

    def queue(self, name: str) -> dict[str, Any] | None:
        """The queue as the latest board showed it."""
        boards = [f["board"] for f in self.frames if f["type"] == "board"]
        queues = boards[-1]["queues"] if boards else []
        return next((q for q in queues if q["name"] == name), None)

    def handled(self, agent_id: str) -> int | None:
        """The agent's calls handled today as the latest board showed them."""
        boards = [f["board"] for f in self.frames if f["type"] == "board"]
        agents = boards[-1]["agents"] if boards else []
        return next((a["handled_today"] for a in agents if a["id"] == agent_id), None)

    def saw_waiting(self, call_id: str) -> bool:
        """Whether any board showed the call waiting."""
        for f in self.frames:
            if f["type"] == "board":
                for q in f["board"]["queues"]:
                    if any(w["call_id"] == call_id for w in q["waiting"]):
                        return True
        return False

    def over(self, call_id: str) -> bool:
        states = [
            f["state"] for f in self.frames if f["type"] == "call" and f["call_id"] == call_id
        ]
        return bool(states) and states[-1] in TERMINAL

    async def until(self, condition: Any, what: str, wait: float = 20.0) -> None:
        try:
            async with asyncio.timeout(wait):
                while not condition():
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            latest = self.frames[-1] if self.frames else self.hellos
            raise AssertionError(f"never happened: {what}; latest: {latest}") from None


class Traffic:
    """A call every `every_s` seconds ringing Alice and Bob; it rings `ring_s`, Alice answers,
    it ends half a second later. The call ids are its Linkedids, in order."""

    def __init__(self, server: FakeAsterisk, every_s: float = 0.5, ring_s: float = 6.0) -> None:
        self.server, self.pbx = server, server.pbx
        self.every_s, self.ring_s = every_s, ring_s
        self.started: list[str] = []
        self._lives: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """No new calls; the ones ringing live out their lives."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.gather(*self._lives)

    async def _run(self) -> None:
        n = 0
        while True:
            n += 1
            life = asyncio.create_task(self._life(f"+1212555{n:04d}"))
            self._lives.add(life)
            await asyncio.sleep(self.every_s)

    async def call_once(self, number: str) -> str:
        """One call's whole life, here and now; its call id."""
        await self._life(number)
        return self.started[-1]

    async def _life(self, number: str) -> None:
        call, out = self.pbx.inbound(number, "Caller")
        self.started.append(call.caller.linkedid)
        out += self.pbx.join(call, "support")
        out += self.pbx.ring(call, ALICE, "1001", "Alice")
        out += self.pbx.ring(call, BOB, "1002", "Bob")
        await self.server.send(out)
        await asyncio.sleep(self.ring_s)
        await self.server.send(self.pbx.answer(call, ALICE))
        await asyncio.sleep(0.5)
        await self.server.send(self.pbx.complete(call, ALICE))


@contextlib.asynccontextmanager
async def two_nodes(
    tmp_path: Path,
    postgres_url: str,
    extra: Callable[[str], str] = lambda redis_url: "",
    lease_s: float = LEASE_S,
) -> AsyncIterator[tuple[Node, Node, FakeAsterisk, PrivateRedis]]:
    """Node A holding the PBX, node B standing by; `extra` adds config (given Redis's URL)."""
    require_binary("redis-server")
    server = FakeAsterisk(Pbx())
    await server.start()
    async with (
        PrivateRedis(tmp_path / "redis") as redis,
        scratch_database(postgres_url) as (host, port, name),
    ):
        config = cluster_config(
            tmp_path / "screenpop.toml",
            redis_url=redis.url,
            prefix=f"cluster-{uuid.uuid4().hex[:8]}:",
            store_url=f"postgresql+asyncpg://postgres@{host}:{port}/{name}",
            ami_port=server.port,
            lease_s=lease_s,
            extra=extra(redis.url),
        )
        a = Node(config, "node-a", free_port())
        b = Node(config, "node-b", free_port())
        try:
            await a.start()
            await a.until_cluster(lambda c: c["pbx"].get("holder") == "node-a", "held the PBX")
            await b.start()
            await b.until_cluster(lambda c: len(c["cluster"].get("nodes", [])) == 2, "saw 2 nodes")
            yield a, b, server, redis
        finally:
            await asyncio.gather(a.stop(), b.stop())
            await server.stop()


async def test_the_survivor_takes_the_pbx_over_and_alice_resumes_without_a_gap(
    tmp_path: Path, postgres_url: str
) -> None:
    async with two_nodes(tmp_path, postgres_url) as (a, b, server, _redis):
        standby = await b.cluster()
        assert standby["pbx"]["ok"] is True
        assert standby["pbx"]["detail"] == "standby: held by node-a"
        assert standby["cluster"]["nodes"] == ["node-a", "node-b"]
        assert server.connections == 1  # only the holder connects to the PBX
        check = await run_check(a.config)
        assert "2 nodes alive: node-a, node-b; pbx held by node-a" in check, check

        alice, bob, sam = Desk("ta"), Desk("tb"), Desk("ts")
        traffic = Traffic(server)
        async with bob.on(b.port), sam.on(b.port):
            async with alice.on(a.port):
                traffic.start()
                # Bob's and Sam's tabs are on node B; the calls are seen by node A
                await bob.until(
                    lambda: len(traffic.started) >= 4 and bob.pops(traffic.started[1]) == 1,
                    "Bob's pops through node A",
                )
                await sam.until(
                    lambda: sam.saw_waiting(traffic.started[1]), "node A's call on B's board"
                )
                await a.kill()
                await alice.closed()
            takeover = await b.until_cluster(
                lambda c: c["pbx"].get("holder") == "node-b" and c["pbx"]["ok"],
                "took the PBX over",
                wait=LEASE_S + 8,
            )
            assert takeover["pbx"]["detail"].startswith("held here")
            async with alice.on(b.port, resume=True):
                await asyncio.sleep(3)
                await traffic.stop()
                everyone = [alice, bob]
                for desk in everyone:
                    await desk.until(
                        lambda d=desk: all(d.over(c) for c in traffic.started), "every call over"
                    )
                # the board outlived node A: nobody left waiting, every call Alice took counted
                await sam.until(
                    lambda: (
                        (q := sam.queue("support")) is not None
                        and not q["waiting"]
                        and sam.handled("alice") == len(traffic.started)
                    ),
                    f"every call handled on the board ({len(traffic.started)})",
                )
        for call_id in traffic.started:
            assert alice.pops(call_id) == 1, alice.about(call_id)
            assert bob.pops(call_id) == 1, bob.about(call_id)
        seqs = alice.seqs()
        assert seqs == list(range(1, len(seqs) + 1)), seqs  # no gap, nothing twice
        assert alice.hellos[0]["seq"] == 0 and alice.hellos[1]["seq"] >= alice.hellos[0]["seq"]
        assert bob.seqs() == list(range(1, len(bob.seqs()) + 1))
        assert await metric(b.port, "screenpop_cluster_takeovers_total", source="pbx") == 1
        alive = await b.until_cluster(
            lambda c: c["cluster"].get("nodes") == ["node-b"], "forgot node A"
        )
        assert alive["cluster"]["ok"] is True


async def test_with_redis_gone_the_holder_keeps_popping_and_says_so(
    tmp_path: Path, postgres_url: str
) -> None:
    async with two_nodes(tmp_path, postgres_url) as (a, b, server, redis):
        alice, bob = Desk("ta"), Desk("tb")
        traffic = Traffic(server, ring_s=1.0)
        async with alice.on(a.port), bob.on(b.port):
            traffic.start()
            await bob.until(
                lambda: len(traffic.started) >= 2 and bob.pops(traffic.started[0]) == 1,
                "a pop through Redis",
            )
            await redis.kill()
            down = len(traffic.started)
            status, body = await until_unready(a.port)
            assert status == 503
            assert f"Redis at 127.0.0.1:{redis.port}" in body["checks"]["cluster"]["detail"]
            pbx = body["checks"]["telephony.pbx"]
            assert pbx["ok"] is True and pbx["detail"].startswith("held here"), pbx
            await alice.until(
                lambda: sum(alice.pops(c) for c in traffic.started[down:]) >= 4,
                "four pops on the holder with Redis gone",
            )
            await traffic.stop()
            await alice.until(lambda: all(alice.over(c) for c in traffic.started), "calls over")
            for call_id in traffic.started:
                assert alice.pops(call_id) == 1, call_id
            assert await metric(a.port, "screenpop_cluster_redis_up") == 0
            assert await metric(a.port, "screenpop_cluster_local_numbered_total") > 0

            await redis.start()  # empty, on the same port
            for node in (a, b):
                await node.until_cluster(lambda c: c["cluster"].get("ok") is True, "back")
            await a.until_cluster(lambda c: c["pbx"].get("holder") is not None, "a holder")
            call_id = await traffic.call_once("+12125559999")
            await alice.until(lambda: alice.over(call_id), "the call after Redis came back")
            await bob.until(lambda: bob.over(call_id), "the same call on the other node")
            assert alice.pops(call_id) == 1 and bob.pops(call_id) == 1
        seqs = alice.seqs()
        assert seqs == list(range(1, len(seqs) + 1)), seqs  # Alice's node numbered on meanwhile


async def until_unready(port: int) -> tuple[int, dict[str, Any]]:
    """Poll `/readyz` until the cluster row says Redis is away."""
    for _ in range(200):
        status, body = await readiness(port)
        if body["checks"].get("cluster", {}).get("ok") is False:
            return status, body
        await asyncio.sleep(0.05)
    raise AssertionError(f"/readyz never said Redis was away: {body}")


async def run_check(config: Path) -> str:
    """`screenpop check` on the nodes' config: its table (it must pass)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "screenpop.cli",
        "check",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, text
    cluster_rows = [line for line in text.splitlines() if line.startswith("cluster")]
    assert len(cluster_rows) == 1, text
    return cluster_rows[0]


class CountingBackOffice:
    """A CRM on loopback that answers each customer after 300 ms and counts the questions."""

    def __init__(self) -> None:
        self.asked: dict[str, int] = {}
        self.port = free_port()
        app = web.Application()
        app.router.add_get("/customers/{number}", self._customer)
        self._runner = web.AppRunner(app)

    async def _customer(self, request: web.Request) -> web.Response:
        number = request.match_info["number"]
        self.asked[number] = self.asked.get(number, 0) + 1
        await asyncio.sleep(0.3)
        return web.json_response({"name": "Jane Doe", "tier": "gold"})

    async def __aenter__(self) -> CountingBackOffice:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()


async def card(http: ClientSession, node: Node, number: str) -> dict[str, Any]:
    url = f"http://127.0.0.1:{node.port}/api/cards/{number}"
    async with http.get(url, headers={"Authorization": "Bearer ta"}) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def test_one_lookup_per_caller_across_the_nodes(tmp_path: Path, postgres_url: str) -> None:
    async with CountingBackOffice() as office:

        def crm(redis_url: str) -> str:
            return f"""
[cache]
url = "{redis_url}"
key_prefix = "cache-{uuid.uuid4().hex[:8]}:"
timeout_ms = 1000

[[connectors]]
name = "crm"
kind = "http"
url = "http://127.0.0.1:{office.port}/customers/{{e164}}"
deadline_ms = 2000
"""

        async with (
            two_nodes(tmp_path, postgres_url, crm) as (a, b, _server, _redis),
            ClientSession() as http,
        ):
            # the same caller on both nodes at once: the CRM is asked once
            cards = await asyncio.gather(*(card(http, n, "+12125550100") for n in (a, b)))
            # and again on the other node later: from the shared cache
            cards.append(await card(http, b, "+12125550100"))
            # a different caller is a lookup of its own
            other = await asyncio.gather(*(card(http, n, "+12125550111") for n in (a, b)))
            shared = [
                await metric(n.port, "screenpop_cluster_lookups_shared_total") for n in (a, b)
            ]
        assert office.asked == {"+12125550100": 1, "+12125550111": 1}
        for one in [*cards, *other]:
            section = one["sections"]["crm"]
            assert section["status"] == "ok" and section["data"]["name"] == "Jane Doe", one
        assert sum(shared) == 2, shared  # each second node took the first one's answer


async def test_a_node_stopping_cleanly_hands_the_pbx_over_at_once(
    tmp_path: Path, postgres_url: str
) -> None:
    # a lease far longer than the test waits: only a released lease can be taken this soon
    async with two_nodes(tmp_path, postgres_url, lease_s=60) as (a, b, server, _redis):
        bob = Desk("tb")
        async with bob.on(b.port):
            await a.stop()  # SIGTERM: an upgrade, say
            await b.until_cluster(
                lambda c: c["pbx"].get("holder") == "node-b" and c["pbx"]["ok"],
                "took the released PBX link",
                wait=15,
            )
            call_id = await Traffic(server, ring_s=0.5).call_once("+12125550123")
            await bob.until(lambda: bob.over(call_id), "a call after the handover")
            assert bob.pops(call_id) == 1
            assert (await b.cluster())["cluster"]["nodes"] == ["node-b"]  # A left at once


def generic_webhook(redis_url: str) -> str:
    return """
[[telephony]]
name = "generic"
kind = "webhook"
flavor = "json"
secret = "hook-secret"
"""


async def post_event(http: ClientSession, node: Node, event: dict[str, str]) -> None:
    """One signed generic-webhook request to `node`."""
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    digest = hmac.new(b"hook-secret", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Screenpop-Timestamp": stamp,
        "X-Screenpop-Signature": f"sha256={digest}",
    }
    url = f"http://127.0.0.1:{node.port}/webhooks/generic"
    async with http.post(url, data=body, headers=headers) as response:
        assert response.status < 300, await response.text()


async def test_a_webhook_on_either_node_pops_on_every_node(
    tmp_path: Path, postgres_url: str
) -> None:
    async with (
        two_nodes(tmp_path, postgres_url, generic_webhook) as (a, b, _server, _redis),
        ClientSession() as http,
    ):
        alice = Desk("ta")
        async with alice.on(a.port):
            call = {"call_id": "wh-1", "caller": "+12125550142", "agent": "PJSIP/1001"}
            await post_event(http, b, {**call, "event": "ringing"})  # node B gets it
            await alice.until(lambda: alice.pops("wh-1") == 1, "the pop on node A's tab")
            await post_event(http, a, {**call, "event": "answered"})  # node A gets the next
            await post_event(http, a, {**call, "event": "ended"})
            await alice.until(lambda: alice.over("wh-1"), "the call over")
        assert alice.pops("wh-1") == 1
        assert alice.seqs() == list(range(1, len(alice.seqs()) + 1))
