"""Creating a customer for an unknown caller in a back office that declares `create`.

:func:`forms` says which connectors a role may create with and the fields each asks for
(`create_fields`); :func:`create_one` checks the agent's values against those fields
(:class:`~screenpop.create_fields.FieldError`, naming the field) and runs the connector's
``create`` under its deadline and behind its concurrency limit. A failure of the back office
is a :class:`CreateFailed` whose message is safe to show an agent. `/metrics` counts every
attempt by connector and outcome (:class:`CreateCounters`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from screenpop.callerid import mask
from screenpop.connectors.contract import CreateQuery, Creator, Record, can_create
from screenpop.connectors.guard import BUSY, UNAVAILABLE, BreakerState, ConnectorBusy
from screenpop.connectors.runtime import ConnectorRuntime
from screenpop.create_fields import FieldError, check_values
from screenpop.errors import ConnectorError
from screenpop.settings import RoleSettings

log = logging.getLogger(__name__)


CREATED, INVALID, TIMEOUT, FAILED = "created", "invalid", "timeout", "failed"


class CreateFailed(Exception):
    """The back office did not create the customer; the message is safe to show an agent."""


class CreateTimedOut(CreateFailed):
    """The back office did not answer within the connector's deadline."""


OUTCOMES = (CREATED, INVALID, TIMEOUT, FAILED)


class CreateCounters(Collector):
    """`screenpop_creates_total{connector,outcome}`: created; invalid (a field value refused
    before the back office was asked); timeout (no answer within the deadline); failed (the back
    office refused or erred, was busy, or its breaker was open). Every outcome of every
    connector that creates (`creating()`, read at each scrape: a reload may add one) is there
    from the start at 0, so a rate or an alert on it has a series before the first create."""

    def __init__(self, registry: CollectorRegistry, creating: Callable[[], Iterable[str]]) -> None:
        self._creating = creating
        self.counts: dict[tuple[str, str], int] = {}
        registry.register(self)

    def count(self, connector: str, outcome: str) -> None:
        key = (connector, outcome)
        self.counts[key] = self.counts.get(key, 0) + 1

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "screenpop_creates",
            "Customer creations agents asked for, by connector and outcome",
            labels=["connector", "outcome"],
        )
        keys = {(name, o) for name in self._creating() for o in OUTCOMES} | set(self.counts)
        for key in sorted(keys):
            family.add_metric(list(key), self.counts.get(key, 0))
        yield family


def creators(runtimes: Sequence[ConnectorRuntime], role: RoleSettings) -> list[ConnectorRuntime]:
    """The connectors that create and that `role` may see."""
    return [
        r
        for r in runtimes
        if can_create(r.connector) and (role.sections is None or r.name in role.sections)
    ]


def forms(runtimes: Sequence[ConnectorRuntime], role: RoleSettings) -> list[dict[str, Any]]:
    """The create forms the role is offered: ``[{"connector", "fields": [...]}]``."""
    return [
        {"connector": r.name, "fields": [f.to_json() for f in r.settings.create_fields]}
        for r in creators(runtimes, role)
    ]


def find_creator(
    runtimes: Sequence[ConnectorRuntime], role: RoleSettings, name: object
) -> ConnectorRuntime:
    """The creating connector `name` the role may use; KeyError otherwise."""
    for runtime in creators(runtimes, role):
        if runtime.name == name:
            return runtime
    raise KeyError(f"no connector {name!r} this role may create customers with")


async def create_one(
    runtime: ConnectorRuntime,
    values: object,
    query: CreateQuery,
    counters: CreateCounters | None = None,
) -> Record | None:
    """Check `values` against the connector's fields (FieldError) and create the customer under
    the connector's deadline; CreateFailed when the back office fails or does not answer. Each
    outcome is counted in `counters`."""
    outcome = FAILED
    try:
        created = await _create(runtime, values, query)
        outcome = CREATED
    except FieldError:
        outcome = INVALID
        raise
    except CreateTimedOut:
        outcome = TIMEOUT
        raise
    finally:
        if counters is not None:
            counters.count(runtime.name, outcome)
    return created


async def _create(runtime: ConnectorRuntime, values: object, query: CreateQuery) -> Record | None:
    fields = check_values(runtime.settings.create_fields, values)
    if runtime.guard.breaker.state is BreakerState.OPEN:
        raise CreateFailed(f"{runtime.name}: {UNAVAILABLE}")
    connector = runtime.connector
    assert isinstance(connector, Creator)
    deadline_s = runtime.settings.deadline_ms / 1000
    try:
        async with asyncio.timeout(deadline_s):
            async with runtime.guard.limit.slot(deadline_s):
                created = await connector.create(fields, query)
    except ConnectorBusy:
        raise CreateFailed(f"{runtime.name}: {BUSY}") from None
    except TimeoutError:
        raise CreateTimedOut(f"{runtime.name} did not answer in time") from None
    except ConnectorError as exc:
        raise CreateFailed(str(exc) or f"{runtime.name} refused") from None
    except Exception:
        log.exception("connector %s: create failed", runtime.name)
        raise CreateFailed(f"{runtime.name}: internal error") from None
    log.info(
        "call %s: %s created a customer in %s for %s",
        query.call_id,
        query.agent,
        runtime.name,
        mask(query.number.e164),
    )
    return dict(created) if isinstance(created, Mapping) else None
