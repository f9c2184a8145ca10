"""Callbacks across two nodes (two `screenpop run` processes on one Redis and one PostgreSQL):
the item node A's call log makes reaches Bob's tab on node B, Alice takes it on node A and Bob
sees it taken at once, and Bob taking it too on node B is refused by the shared store."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.faults import metric
from tests.harness import agent_tab
from tests.test_callbacks_e2e import next_of, opened
from tests.test_cluster import ALICE, two_nodes

CALLBACKS = "\n[callbacks]\nmin_wait_s = 0\n"


async def test_an_item_made_on_one_node_is_taken_on_it_and_refused_on_the_other(
    tmp_path: Path, postgres_url: str
) -> None:
    async with (
        two_nodes(tmp_path, postgres_url, lambda redis_url: CALLBACKS) as (a, b, server, _),
        agent_tab(a.port, "ta") as alice,
        agent_tab(b.port, "tb") as bob,
    ):
        await opened(alice)
        await opened(bob)
        pbx = server.pbx
        call, packets = pbx.inbound("+12125550142", "Caller")
        await server.send(
            [*packets, *pbx.join(call, "support"), *pbx.ring(call, ALICE, "1001", "A")]
        )
        await next_of(alice, "pop")
        await server.send(pbx.abandon(call))
        (item,) = (await next_of(bob, "callbacks"))["items"]  # made on A, shown on B
        assert (item["queue"], item["e164"], item["state"]) == ("support", "+12125550142", "open")

        await alice.send({"type": "callback_take", "id": item["id"]})
        assert (await next_of(alice, "callback"))["item"]["taken_by"] == "alice"
        seen = (await next_of(bob, "callback"))["item"]  # over the cluster's channel
        assert (seen["id"], seen["state"], seen["taken_by"]) == (item["id"], "taken", "alice")

        await bob.send({"type": "callback_take", "id": item["id"]})
        assert (await next_of(bob, "error"))["reason"] == "already taken by alice"
        made = "screenpop_callbacks_total"
        assert await metric(a.port, made, event="created") == 1  # by the node that logged it
        assert await metric(b.port, made, event="created") == 0
        assert await metric(b.port, made, event="refused") == 1
