"""The contract test kit for connector authors: run a connector through the standard checks.

Call it from a pytest test (``asyncio_mode = "auto"``, or mark the test with
``@pytest.mark.asyncio``)::

    from screenpop.testing import check_connector_contract

    async def test_my_connector_keeps_the_contract(my_backend_url: str) -> None:
        await check_connector_contract(
            MyConnector,
            {"url": my_backend_url},
            known_number="+12125551234",      # the back office has this one
            unknown_number="+12125550000",    # and not this one
            failing_options={"url": "http://127.0.0.1:9"},   # a back office that is down
        )

Every violation is an :class:`AssertionError` saying what the connector did and what the
contract asks instead. The checks, in order:

1. ``Settings`` is a pydantic model that accepts ``options`` and rejects an unknown key.
2. The connector is built with ``factory(name, settings, context)`` and keeps ``name``; its
   ``searches``, ``records`` and ``creates`` flags, where it has them, are True or False.
3. ``start()`` and ``check()`` succeed.
4. ``lookup()`` answers the known number with a record or a non-empty list of records, and the
   unknown number with ``None`` (or an empty list); records are mappings with string keys and
   JSON values only (no dates, decimals, bytes or NaN: the card goes to a browser as JSON).
5. Several lookups at once all get the same answer.
6. ``lookup()`` honours cancellation: cancelled at each of its first await points, it raises
   ``CancelledError`` promptly and never swallows it or turns it into another error.
7. ``aclose()`` returns and leaves no task of the connector's running and no unclosed resource
   (a ``ResourceWarning`` when the connector is garbage collected).
8. If the connector searches (``search()``, see the contract): ``search()`` of a text nobody
   matches returns an empty list, and with ``search_for`` (a text the back office has a customer
   for) a non-empty list of records that each have ``customer_id`` and ``name`` (and ``numbers``,
   when present, is a list of strings), JSON values only.
9. If the connector records (``record()``, see the contract): a dry run of an item and the
   same item recorded twice (it must be idempotent by ``record_id``) all succeed.
10. With ``failing_options`` (optional): ``start()`` either raises ``ConnectorError`` or succeeds,
   and then ``check()`` and ``lookup()`` raise ``ConnectorError`` and nothing else.
10. With ``create_with`` (field values) and a connector that creates (``create()``): creating
    a customer for ``unknown_number`` returns None or a record with ``customer_id``, and
    ``lookup()`` then finds the number (run last: it writes to the back office).

Throughout, any exception other than ``ConnectorError`` fails the check: a connector maps every
failure of its back office to ``ConnectorError`` with a message safe to show an agent.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from screenpop.callerid import normalize
from screenpop.connectors.contract import (
    Connector,
    ConnectorContext,
    ConnectorFactory,
    LookupQuery,
    Recorder,
    RecordItem,
    Searcher,
    can_create,
    can_record,
    can_search,
)
from screenpop.connectors.kit_create import check_create
from screenpop.connectors.kit_words import (
    factory_name,
    is_list,
    json_problem,
    not_mapped,
    plain,
    short,
)
from screenpop.errors import ConnectorError
from screenpop.settings import describe_validation

UNKNOWN_KEY = "screenpop_contract_no_such_option"
CANCEL_POINTS = 25  # how many of a lookup's first await points cancellation is tried at
CANCEL_GRACE_S = 1.0  # a cancelled lookup must be gone within this
CANCEL_SETTLE_S = 0.2  # after the cancellations, before aclose()
CONCURRENT_LOOKUPS = 5
NOBODY = "zz screenpop contract nobody"  # a search text no back office should match

T = TypeVar("T")


async def check_connector_contract(
    factory: ConnectorFactory | type[Any],
    options: Mapping[str, Any],
    *,
    known_number: str,
    unknown_number: str,
    failing_options: Mapping[str, Any] | None = None,
    context: ConnectorContext | None = None,
    region: str = "US",
    deadline_ms: int = 5000,
    name: str = "contract",
    search_for: str | None = None,
    create_with: Mapping[str, Any] | None = None,
) -> None:
    """Run the connector class `factory` through the contract checks; AssertionError if not kept.

    `options` are the connector's own options as they would appear in its ``[[connectors]]``
    table. Numbers are read as dialled in `region`. Each call into the connector may take at
    most `deadline_ms` (generous by default: this is a correctness check, not a benchmark).
    """
    fields = tuple(create_with or ())
    settings = check_settings(factory, options, fields)
    failing = check_settings(factory, failing_options, fields) if failing_options else None
    context = context or ConnectorContext(
        base_dir=Path.cwd(), deadline_ms=deadline_ms, create_fields=fields
    )
    limit_s = deadline_ms / 1000
    known, unknown = query_for(known_number, region), query_for(unknown_number, region)
    with _resource_warnings() as leaks:
        before = set(asyncio.all_tasks())
        built = _build(factory, name, settings, context)
        await _check_working(built, known, unknown, limit_s, search_for, create_with)
        del built  # the connector must be garbage now: what it left open warns below
        await _check_no_leftover_tasks(before)
        gc.collect()  # the connector is gone: whatever it left open warns now
    if leaks:
        raise AssertionError(f"aclose() left resources open: {'; '.join(leaks)}")
    if failing is not None:
        await _check_failing(_build(factory, name, failing, context), known, limit_s)


async def _check_working(
    connector: Connector,
    known: LookupQuery,
    unknown: LookupQuery,
    limit_s: float,
    search_for: str | None = None,
    create_with: Mapping[str, Any] | None = None,
) -> None:
    await _call("start()", connector.start(), limit_s)
    try:
        await _call("check()", connector.check(), limit_s)
        check_answer(await _call("lookup(known)", connector.lookup(known), limit_s), found=True)
        check_answer(await _call("lookup(unknown)", connector.lookup(unknown), limit_s), False)
        await _check_concurrent(connector, known, limit_s)
        if can_search(connector):
            await check_search(connector, search_for, limit_s)
        if can_record(connector):
            await check_record(connector, limit_s)
        await check_cancellation(connector, known)
        # A driver that runs queries in a thread (aiosqlite) finishes a cancelled one there and
        # hands its result back through the event loop: give it the time while the loop runs.
        await asyncio.sleep(CANCEL_SETTLE_S)
        creates = can_create(connector)  # a bool: check_create needs it as a Connector too
        if create_with is not None and creates:
            await check_create(connector, create_with, unknown, limit_s)
    finally:
        await _call("aclose()", connector.aclose(), limit_s)


CONTRACT_ITEM = RecordItem(
    record_id="screenpop-contract-record",
    kind="note",
    call_id="screenpop-contract",
    agent="contract",
    disposition="check",
    text="the contract kit's write-back",
)


async def check_record(connector: Recorder, limit_s: float) -> None:
    """A dry run, then the same item twice, all succeed (see check 9)."""
    await _call("record(dry_run)", connector.record(CONTRACT_ITEM, dry_run=True), limit_s)
    await _call("record(item)", connector.record(CONTRACT_ITEM), limit_s)
    await _call("record(item again)", connector.record(CONTRACT_ITEM), limit_s)


async def check_search(connector: Searcher, search_for: str | None, limit_s: float) -> None:
    """`search()` answers nobody with [] and `search_for` with customers (see check 8)."""
    nobody = await _call("search(nobody)", connector.search(NOBODY), limit_s)
    if not is_list(nobody) or nobody:
        raise AssertionError(f"search({NOBODY!r}) must return an empty list, not {short(nobody)}")
    if search_for is None:
        return
    found = await _call("search(search_for)", connector.search(search_for), limit_s)
    if not is_list(found) or not found:
        raise AssertionError(f"search({search_for!r}) must return customers, not {short(found)}")
    for index, record in enumerate(found):
        check_search_record(record, f"search()[{index}]")


def check_search_record(record: object, where: str) -> None:
    """One search result: a JSON mapping with customer_id and name, numbers a list of str."""
    if not isinstance(record, Mapping):
        raise AssertionError(f"{where} is a {type(record).__name__}, not a mapping")
    missing = [key for key in ("customer_id", "name") if key not in record]
    if missing:
        raise AssertionError(f"{where} has no {missing[0]!r}: every customer needs one")
    numbers = record.get("numbers", [])
    if not is_list(numbers) or not all(isinstance(n, str) for n in numbers):
        raise AssertionError(f"{where}: numbers must be a list of strings, not {short(numbers)}")
    problem = json_problem(record, where)
    if problem is not None:
        raise AssertionError(f"search() returned a value that is not JSON: {problem}")


def query_for(number: str, region: str) -> LookupQuery:
    """The query screenpop would send a connector for `number`."""
    query = normalize(number, region).query()
    if query is None:
        raise AssertionError(f"{number!r} is not a phone number screenpop would look up")
    return query


def check_settings(
    factory: ConnectorFactory | type[Any],
    options: Mapping[str, Any],
    create_fields: tuple[str, ...] = (),
) -> Any:
    """`factory.Settings` validates `options` and rejects an unknown key, naming it."""
    context = {"create_fields": create_fields}
    model = getattr(factory, "Settings", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        kind = factory_name(factory)
        raise AssertionError(f"{kind}.Settings must be a pydantic BaseModel subclass")
    try:
        settings = model.model_validate(dict(options), context=context)
    except ValidationError as exc:
        where = f"{factory_name(factory)}.Settings rejects the options"
        raise AssertionError(describe_validation(exc, where)) from None
    try:
        model.model_validate({**options, UNKNOWN_KEY: 1}, context=context)
    except ValidationError as exc:
        if not any(UNKNOWN_KEY in err["loc"] for err in exc.errors()):
            raise AssertionError(f"the error for an unknown key does not name it: {exc}") from None
    else:
        raise AssertionError(
            f"{factory_name(factory)}.Settings accepts unknown keys: a typo in the config would be "
            'ignored silently; set model_config = ConfigDict(extra="forbid")'
        )
    return settings


def check_answer(result: object, found: bool) -> None:
    """`result` has the shape of an answer for a number the back office has (or has not)."""
    if not found:
        if result is None or (is_list(result) and not result):
            return
        raise AssertionError(f"lookup(unknown) must return None, not {short(result)}")
    if isinstance(result, Mapping):
        records: Sequence[object] = [result]
    elif is_list(result) and result:
        records = result
    else:
        raise AssertionError(
            f"lookup(known) must return a mapping or a non-empty list of mappings, not "
            f"{short(result)}"
        )
    for index, record in enumerate(records):
        where = "answer" if isinstance(result, Mapping) else f"answer[{index}]"
        if not isinstance(record, Mapping):
            raise AssertionError(f"{where} is a {type(record).__name__}, not a mapping")
        problem = json_problem(record, where)
        if problem is not None:
            raise AssertionError(f"lookup(known) returned a value that is not JSON: {problem}")


async def check_cancellation(connector: Connector, query: LookupQuery) -> None:
    """Cancel `lookup(query)` at each of its first await points; it must raise CancelledError."""
    for points in range(1, CANCEL_POINTS + 1):
        task = asyncio.create_task(connector.lookup(query))
        for _ in range(points):
            await asyncio.sleep(0)
        if task.done():  # answered before this many await points: every point was tried
            await task
            return
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=CANCEL_GRACE_S)
        if not done:
            task.cancel()
            raise AssertionError(
                f"lookup() was still running {CANCEL_GRACE_S}s after being cancelled: "
                "it must stop at once (do not shield or retry inside a cancelled lookup)"
            )
        _check_cancelled(task)


def _check_cancelled(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is None:
        raise AssertionError(
            f"lookup() swallowed CancelledError: it returned {short(task.result())} after "
            "being cancelled; let CancelledError propagate (re-raise it after cleaning up)"
        )
    raise AssertionError(
        f"lookup() turned CancelledError into {type(exc).__name__}: {exc}; "
        "let CancelledError propagate (do not catch BaseException)"
    )


# -- steps ---------------------------------------------------------------------------------------


def _build(
    factory: ConnectorFactory | type[Any], name: str, settings: Any, context: ConnectorContext
) -> Connector:
    connector: Connector = factory(name, settings, context)
    if getattr(connector, "name", None) != name:
        raise AssertionError(f"the connector must keep its name: .name should be {name!r}")
    for flag in ("searches", "records", "creates"):  # a method here would always count as True
        said = getattr(connector, flag, True)
        if not isinstance(said, bool):
            raise AssertionError(f".{flag} must be True or False (a property), not {said!r}")
    return connector


async def _call(what: str, step: Awaitable[T], limit_s: float) -> T:
    """Await one call into the connector; every way it breaks the contract is an assertion."""
    try:
        async with asyncio.timeout(limit_s):
            return await step
    except TimeoutError:
        raise AssertionError(f"{what} took longer than {limit_s:g}s") from None
    except ConnectorError as exc:
        raise AssertionError(f"{what} failed with ConnectorError: {exc}") from exc
    except Exception as exc:
        raise AssertionError(not_mapped(what, exc)) from exc


async def _check_concurrent(connector: Connector, query: LookupQuery, limit_s: float) -> None:
    lookups = [connector.lookup(query) for _ in range(CONCURRENT_LOOKUPS)]
    answers = await _call("concurrent lookups", asyncio.gather(*lookups), limit_s)
    if any(plain(a) != plain(answers[0]) for a in answers):
        raise AssertionError("lookups running at once gave different answers for one number")


async def _check_failing(connector: Connector, query: LookupQuery, limit_s: float) -> None:
    """With a broken back office, the connector raises ConnectorError and nothing else."""
    if not await _raises_connector_error("start()", connector.start(), limit_s, allowed=True):
        return
    try:
        await _raises_connector_error("check()", connector.check(), limit_s, allowed=False)
        await _raises_connector_error("lookup()", connector.lookup(query), limit_s, allowed=False)
    finally:
        await _call("aclose()", connector.aclose(), limit_s)


async def _raises_connector_error(
    what: str, step: Awaitable[Any], limit_s: float, *, allowed: bool
) -> bool:
    """True if `step` succeeded (only when `allowed`), False if it raised ConnectorError."""
    try:
        async with asyncio.timeout(limit_s):
            await step
    except TimeoutError:
        raise AssertionError(
            f"with failing options, {what} took longer than {limit_s:g}s"
        ) from None
    except ConnectorError:
        return False
    except Exception as exc:
        raise AssertionError(not_mapped(f"with failing options, {what}", exc)) from exc
    if not allowed:
        raise AssertionError(f"with failing options, {what} must raise ConnectorError")
    return True


async def _check_no_leftover_tasks(before: set[asyncio.Task[Any]]) -> None:
    current = asyncio.current_task()
    left = {t for t in asyncio.all_tasks() - before if t is not current and not t.done()}
    if left:
        await asyncio.wait(left, timeout=CANCEL_GRACE_S)
    running = sorted(t.get_name() for t in left if not t.done())
    if running:
        raise AssertionError(f"aclose() left tasks running: {', '.join(running)}")


@contextmanager
def _resource_warnings() -> Iterator[list[str]]:
    """Collect the ResourceWarnings raised in the block; pass every other warning on."""
    leaks: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield leaks
    for warning in caught:
        if issubclass(warning.category, ResourceWarning):
            leaks.append(str(warning.message))
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
