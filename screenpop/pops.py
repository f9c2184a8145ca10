"""The pop pipeline assembled: its parts (:mod:`screenpop.pipeline`) built and wired together,
each once what it needs exists. The composition root calls :func:`assemble`."""

from __future__ import annotations

from dataclasses import dataclass

from screenpop.audit import AuditTrail
from screenpop.board.feed import BoardFeed
from screenpop.board.state import BoardState
from screenpop.call_store import CallStore
from screenpop.calls import CallReducer
from screenpop.delivery.hub import Hub
from screenpop.metrics import Metrics
from screenpop.pipeline.actions import AgentActions
from screenpop.pipeline.builds import CardBuilds
from screenpop.pipeline.call_log import CallLogWriter
from screenpop.pipeline.deliveries import Deliveries
from screenpop.pipeline.effects import EffectInterpreter
from screenpop.pipeline.intake import EventIntake
from screenpop.pipeline.live import LiveConfig
from screenpop.pipeline.runtime import CallRuntimes
from screenpop.store import Store
from screenpop.store.writer import StoreWriter
from screenpop.tasks import TaskOwner
from screenpop.writeback import Writeback


@dataclass(frozen=True, slots=True)
class PipelineParts:
    """What the pipeline is built from; every resource already open."""

    live: LiveConfig
    calls: CallStore
    runtimes: CallRuntimes
    hub: Hub
    board: BoardState
    board_feed: BoardFeed
    store: Store
    writer: StoreWriter
    metrics: Metrics
    tasks: TaskOwner
    writeback: Writeback | None = None  # notes and call ends to the recording connectors


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The built pipeline. Enter `intake` (``async with``) before the first event; leaving it
    applies what was taken (the store writer, opened before, then writes what was queued)."""

    intake: EventIntake
    actions: AgentActions
    audit: AuditTrail  # who saw which caller: the pops here, the desk's reads and searches


def assemble(parts: PipelineParts) -> Pipeline:
    """Build the pipeline's parts and wire them together."""
    p = parts
    audit = AuditTrail(p.writer, lambda: p.live.settings.audit.enabled)
    deliveries = Deliveries(p.live, p.hub, p.runtimes, p.board_feed, p.metrics, p.tasks, audit)
    builds = CardBuilds(p.live, p.runtimes, p.store, p.tasks, deliveries.card_updated)
    call_log = CallLogWriter(p.writer, p.runtimes, p.writeback, lambda: p.live.settings.callbacks)
    effects = EffectInterpreter(
        p.live, p.runtimes, builds, deliveries, p.board, p.board_feed, call_log
    )
    reducer = CallReducer(p.live.match_agent)
    intake = EventIntake(reducer, p.calls, p.runtimes, effects, p.metrics)
    actions = AgentActions(
        p.live, p.calls, p.runtimes, builds, deliveries, p.store, p.writer, p.hub, p.writeback
    )
    return Pipeline(intake, actions, audit)
