"""This node in the cluster: the parts `[cluster]` adds, opened and closed together, and what
`/readyz`, `/metrics` and `screenpop check` say about the cluster.

``async with ClusterNode(settings) as node:`` connects nothing until used; inside, the heartbeat
and the delivery relay run. The daemon asks it for the hub (:meth:`hub`), shares its board
(:meth:`share_board`) and wraps its connection-holding sources in their leases (:meth:`lease`);
webhook sources run on every node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from screenpop.board.state import BoardState
from screenpop.cache import Cache
from screenpop.cluster.board import SharedBoardState
from screenpop.cluster.channel import Apply, ClusterChannel
from screenpop.cluster.delivery import RedisDeliveryLog
from screenpop.cluster.fanout import ClusterHub, Relay
from screenpop.cluster.lease import Lease, LeasedSource, leased
from screenpop.cluster.lookups import LookupClaims
from screenpop.cluster.nodes import Heartbeat
from screenpop.cluster.redis import ClusterDown, ClusterRedis
from screenpop.keys import CALLBACKS_CHANNEL, lease_key
from screenpop.settings import Settings
from screenpop.telephony.base import Source, WebhookSource


class ClusterNode:
    """One node's share of the cluster."""

    def __init__(self, settings: Settings, cache: Cache) -> None:
        cfg = settings.cluster
        self.node_id = settings.node_id()
        self.lease_s = cfg.lease_s
        self.redis = ClusterRedis(cfg.url, cfg.key_prefix)
        self.heartbeat = Heartbeat(self.redis, self.node_id, cfg.lease_s)
        server = settings.server
        self.log = RedisDeliveryLog(
            self.redis, self.node_id, server.replay_buffer, server.replay_buffer_bytes
        )
        self._hub = ClusterHub(self.log, server.outbound_queue)
        # one lookup per caller across the nodes: only with a card cache they share
        shared_cache = urlsplit(settings.cache.url).scheme in ("redis", "rediss", "unix")
        self.claims = LookupClaims(self.redis, self.node_id, cache) if shared_cache else None
        self.leased: dict[str, LeasedSource] = {}
        self.board: SharedBoardState | None = None
        self.callbacks: ClusterChannel | None = None  # callback item changes, once shared
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> ClusterNode:
        self._tasks = [
            asyncio.create_task(self.heartbeat.run(), name="cluster heartbeat"),
            asyncio.create_task(Relay(self.redis, self._hub).run(), name="cluster relay"),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.heartbeat.stop()
        await self.redis.aclose()

    def hub(self) -> ClusterHub:
        return self._hub

    def share_board(self, local: BoardState) -> SharedBoardState:
        """This node's board, its changes shared with every node (and theirs applied to it)."""
        self.board = SharedBoardState(local, self.redis, self.node_id)
        self._tasks.append(asyncio.create_task(self.board.send(), name="cluster board send"))
        self._tasks.append(asyncio.create_task(self.board.listen(), name="cluster board listen"))
        return self.board

    def share_callbacks(self, apply: Apply) -> Callable[[dict[str, Any]], None]:
        """Callback item changes to and from every node: `apply` takes the others'; returns
        how to publish this node's."""
        channel = self.callbacks = ClusterChannel(
            self.redis, CALLBACKS_CHANNEL, self.node_id, apply
        )
        self._tasks.append(asyncio.create_task(channel.send(), name="cluster callbacks send"))
        self._tasks.append(asyncio.create_task(channel.listen(), name="cluster callbacks listen"))
        return channel.publish

    def on_board_change(self, changed: Callable[[], None]) -> None:
        """Call `changed` (the board feed) when another node's change was applied here."""
        if self.board is not None:
            self.board.changed = changed

    def lease(self, sources: Mapping[str, Source]) -> dict[str, Source]:
        """Every connection-holding source in its lease; webhooks as they are."""
        out: dict[str, Source] = {}
        for name, source in sources.items():
            if isinstance(source, WebhookSource):
                out[name] = source
                continue
            self.leased[name] = wrapped = leased(source, self._make_lease)
            out[name] = wrapped
        return out

    def _make_lease(self, source: str) -> Lease:
        return Lease(self.redis, source, self.node_id, self.lease_s)

    async def holders(self) -> dict[str, str | None]:
        """Which node holds each leased link now (None: nobody). ClusterDown without Redis."""
        names = sorted(self.leased)
        if not names:
            return {}
        keys = [self.redis.key(lease_key(n)) for n in names]
        raws = await self.redis.call(self.redis.client.mget, keys)
        return {
            n: (r.decode() if isinstance(r, bytes) else None)
            for n, r in zip(names, raws, strict=True)
        }

    async def checks(self) -> dict[str, dict[str, Any]]:
        """The cluster's rows for `/readyz`: Redis and the live nodes, then each leased link (on a
        standby node it is fine while some node holds it)."""
        try:
            async with asyncio.timeout(2):
                alive = await self.heartbeat.alive()
                holders = await self.holders()
        except (ClusterDown, TimeoutError) as exc:
            detail = str(exc) or "Redis did not answer in time"
            rows = {"cluster": {"ok": False, "detail": f"{detail}; popping what this node sees"}}
            for name, source in self.leased.items():
                rows[f"telephony.{name}"] = self._link_row(source, None, redis_up=False)
            return rows
        relayed = self.log.relayed
        listening = "" if relayed else "; not yet listening for the other nodes' messages"
        rows = {
            "cluster": {
                "ok": relayed,
                "detail": f"node {self.node_id}; {len(alive)} nodes alive: {', '.join(alive)}"
                + listening,
                "node": self.node_id,
                "nodes": alive,
                "holders": holders,
            }
        }
        for name, source in self.leased.items():
            rows[f"telephony.{name}"] = self._link_row(source, holders.get(name), redis_up=True)
        return rows

    def _link_row(self, source: LeasedSource, holder: str | None, redis_up: bool) -> dict[str, Any]:
        if source.holding:
            status = source.inner.status
            return {
                "ok": status.logged_in,
                "detail": f"held here; {status.detail}",
                "holder": self.node_id,
            }
        if not redis_up:
            return {"ok": False, "detail": "standby; Redis is away", "holder": source.holder}
        if holder is None:
            return {"ok": False, "detail": "no node holds it", "holder": None}
        return {"ok": True, "detail": f"standby: held by {holder}", "holder": holder}

    def collector(self) -> Collector:
        return _ClusterFigures(self)


class _ClusterFigures(Collector):
    def __init__(self, node: ClusterNode) -> None:
        self._node = node

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        takeovers = CounterMetricFamily(
            "screenpop_cluster_takeovers",
            "Times this node took a PBX link over from another node",
            labels=["source"],
        )
        held = GaugeMetricFamily(
            "screenpop_cluster_lease_held",
            "1 while this node holds the PBX link",
            labels=["source"],
        )
        for name, source in sorted(self._node.leased.items()):
            takeovers.add_metric([name], float(source.takeovers))
            held.add_metric([name], 1.0 if source.holding else 0.0)
        yield takeovers
        yield held
        node = self._node
        board, callbacks, claims = node.board, node.callbacks, node.claims
        yield _count(
            "screenpop_cluster_local_numbered",
            "Agent messages this node numbered itself while Redis was away",
            node.log.local_numbered,
        )
        yield _count(
            "screenpop_cluster_board_dropped",
            "Board changes this node could not share with the others (Redis away)",
            board.dropped if board is not None else 0,
        )
        yield _count(
            "screenpop_cluster_callbacks_dropped",
            "Callback item changes this node could not tell the others (Redis away)",
            callbacks.dropped if callbacks is not None else 0,
        )
        yield _count(
            "screenpop_cluster_lookups_shared",
            "Connector lookups this node took from another node's answer instead of asking",
            claims.waited if claims is not None else 0,
        )
        up = GaugeMetricFamily("screenpop_cluster_redis_up", "1 while the cluster's Redis answers")
        up.add_metric([], 1.0 if self._node.redis.up else 0.0)
        yield up


def _count(name: str, documentation: str, value: float) -> CounterMetricFamily:
    """A counter without labels, read now."""
    family = CounterMetricFamily(name, documentation)
    family.add_metric([], float(value))
    return family
