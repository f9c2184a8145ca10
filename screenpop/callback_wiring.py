"""Callbacks wired into a running daemon: the service built on its store, hub and online
agents, told by the store writer of what it stored, and in cluster mode sharing its changes
with the other nodes. The composition root calls :func:`wire_callbacks` once."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Protocol

from screenpop.callbacks import CallbackService
from screenpop.cluster.node import ClusterNode
from screenpop.delivery.hub import Hub
from screenpop.metrics import Metrics
from screenpop.pipeline.live import LiveConfig
from screenpop.presence import Presence
from screenpop.store import Store
from screenpop.store.callbacks import CallbackStore
from screenpop.store.writer import StoreWriter
from screenpop.tasks import TaskOwner


class Dialer(Protocol):
    async def dial(self, agent_id: str, number: str) -> str: ...


class Host(Protocol):
    """What of the daemon the callbacks use (built before them)."""

    live: LiveConfig
    store: Store
    writer: StoreWriter
    hub: Hub
    metrics: Metrics
    cluster: ClusterNode | None

    @property
    def desk(self) -> Dialer: ...


def wire_callbacks(
    host: Host, presence: Presence, tasks: TaskOwner, stack: AsyncExitStack
) -> CallbackService:
    """The callback service of `host`, listening to its store writer (and its cluster); it
    stops on `stack` before `tasks` closes (which must be on `stack` already)."""

    async def dial(agent_id: str, number: str) -> str:
        return await host.desk.dial(agent_id, number)  # the desk exists once a tab acts

    service = CallbackService(
        CallbackStore(host.store),
        host.live,
        host.hub,
        presence.online_agents,
        tasks,
        host.metrics.registry,
        dial,
    )
    host.writer.on_written = service.written
    stack.callback(service.close)
    tasks.spawn(service.prime(), name="callbacks prime")
    if host.cluster is not None:
        service.share = host.cluster.share_callbacks(service.remote)
    return service
