"""The contract test kit: the example plugin keeps the contract, and each way of breaking it is
caught with a message that says what to fix."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict
from screenpop_example import LoyaltyConnector, LoyaltySettings

from screenpop.connectors.contract import (
    ConnectorContext,
    CreateQuery,
    LookupQuery,
    LookupResult,
    RecordItem,
)
from screenpop.connectors.kit import query_for
from screenpop.errors import ConnectorError
from screenpop.testing import check_connector_contract

KNOWN = "+12125551234"
UNKNOWN = "+12125550000"


@pytest.fixture
def loyalty_dir(tmp_path: Path) -> Path:
    (tmp_path / "tiers.csv").write_text(
        "number,tier,points\n(212) 555-1234,gold,1200\n+44 20 7946 0018,silver,300\n",
        encoding="utf-8",
    )
    (tmp_path / "tiers.json").write_text(
        json.dumps({"212-555-1234": {"tier": "gold", "points": 1200}}), encoding="utf-8"
    )
    return tmp_path


@pytest.mark.parametrize("file", ["tiers.csv", "tiers.json"])
async def test_the_example_plugin_keeps_the_contract(loyalty_dir: Path, file: str) -> None:
    await check_connector_contract(
        LoyaltyConnector,
        {"file": file},
        known_number=KNOWN,
        unknown_number=UNKNOWN,
        failing_options={"file": "missing.csv"},
        context=ConnectorContext(base_dir=loyalty_dir),
    )


async def test_the_example_plugin_records_each_item_once(loyalty_dir: Path) -> None:
    options = {"file": "tiers.csv", "record_file": "activities.jsonl"}
    await check_connector_contract(
        LoyaltyConnector,
        options,
        known_number=KNOWN,
        unknown_number=UNKNOWN,
        context=ConnectorContext(base_dir=loyalty_dir),
    )
    lines = (loyalty_dir / "activities.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["record_id"] for line in lines] == ["screenpop-contract-record"]


def creating(loyalty_dir: Path, file: str) -> LoyaltyConnector:
    context = ConnectorContext(base_dir=loyalty_dir, create_fields=("name",))
    return LoyaltyConnector("loyalty", LoyaltySettings(file=Path(file)), context)


@pytest.mark.parametrize("file", ["tiers.csv", "tiers.json"])
async def test_the_example_plugin_creates_a_customer_its_lookup_finds(
    loyalty_dir: Path, file: str
) -> None:
    csv_with_ids = "number,customer_id,name,tier\n(212) 555-1234,L-1,Jane Doe,gold"  # no last \n
    (loyalty_dir / "tiers.csv").write_text(csv_with_ids, encoding="utf-8")
    await check_connector_contract(
        LoyaltyConnector,
        {"file": file},
        known_number=KNOWN,
        unknown_number=UNKNOWN,
        context=ConnectorContext(base_dir=loyalty_dir, create_fields=("name",)),
        create_with={"name": "Nia New"},
    )
    connector = creating(loyalty_dir, file)
    unknown = query_for(UNKNOWN, "US")
    filed = {"customer_id": "L-contract-create", "name": "Nia New"}
    assert await connector.lookup(unknown) == (
        {**filed, "tier": ""} if file.endswith(".csv") else filed
    )
    again = await connector.create({"name": "Nia Again"}, CreateQuery(unknown, "alice", "c2"))
    assert again == {"customer_id": "L-contract-create"}  # the number is filed already
    plain = LoyaltyConnector("loyalty", LoyaltySettings(file=Path(file)), ConnectorContext())
    assert plain.creates is False  # without create_fields it offers no create form


async def test_the_example_plugin_needs_a_customer_id_column_to_create(loyalty_dir: Path) -> None:
    query = CreateQuery(query_for(UNKNOWN, "US"), "alice", "c1")
    with pytest.raises(ConnectorError, match=r"tiers\.csv has no customer_id column"):
        await creating(loyalty_dir, "tiers.csv").create({"name": "Nia"}, query)


# -- connectors that break the contract, one way each ----------------------------------------


class MemorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    broken: bool = False


class GoodConnector:
    """Keeps the contract: answers from memory after a couple of await points."""

    Settings: ClassVar[type[BaseModel]] = MemorySettings

    def __init__(self, name: str, settings: MemorySettings, context: ConnectorContext) -> None:
        self.name = name
        self.settings = settings

    async def start(self) -> None:
        return None

    async def check(self) -> None:
        if self.settings.broken:
            raise ConnectorError("back office unreachable")

    async def lookup(self, query: LookupQuery) -> LookupResult:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        if self.settings.broken:
            raise ConnectorError("back office unreachable")
        return self.answer(query)

    def answer(self, query: LookupQuery) -> LookupResult:
        return {"name": "Jane Doe", "tags": ["vip"]} if query.e164 == KNOWN else None

    async def aclose(self) -> None:
        return None


class SwallowsCancellation(GoodConnector):
    async def lookup(self, query: LookupQuery) -> LookupResult:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            return None
        return self.answer(query)


class CancellationBecomesError(GoodConnector):
    async def lookup(self, query: LookupQuery) -> LookupResult:
        try:
            await asyncio.sleep(0.01)
        except BaseException as exc:
            raise ConnectorError("lookup aborted") from exc
        return self.answer(query)


class ReturnsADate(GoodConnector):
    def answer(self, query: LookupQuery) -> LookupResult:
        return [{"name": "Jane Doe", "since": date(2020, 1, 1)}] if query.e164 == KNOWN else None


class ReturnsNaN(GoodConnector):
    def answer(self, query: LookupQuery) -> LookupResult:
        return {"balance": float("nan")} if query.e164 == KNOWN else None


class FindsNothing(GoodConnector):
    def answer(self, query: LookupQuery) -> LookupResult:
        return []


class FindsEveryone(GoodConnector):
    def answer(self, query: LookupQuery) -> LookupResult:
        return {"name": "Jane Doe"}


class LeaksItsError(GoodConnector):
    async def lookup(self, query: LookupQuery) -> LookupResult:
        raise KeyError("customers.phone")


class LeaksItsErrorWhenBroken(GoodConnector):
    async def check(self) -> None:
        if self.settings.broken:
            raise OSError("connection refused")


class LaxSettings(BaseModel):
    broken: bool = False  # unknown keys are ignored: the default of pydantic


class AcceptsUnknownKeys(GoodConnector):
    Settings: ClassVar[type[BaseModel]] = LaxSettings


class LeavesASocketOpen(GoodConnector):
    async def start(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)


class LeavesATaskRunning(GoodConnector):
    tasks: ClassVar[list[asyncio.Task[None]]] = []

    async def start(self) -> None:
        self.tasks.append(asyncio.create_task(asyncio.sleep(30), name="loyalty poller"))


class ForgetsItsName(GoodConnector):
    def __init__(self, name: str, settings: MemorySettings, context: ConnectorContext) -> None:
        super().__init__("crm", settings, context)


class RecordsIsAMethod(GoodConnector):
    def records(self) -> bool:  # meant as a flag: as a method it is always truthy
        return False

    async def record(self, item: RecordItem, *, dry_run: bool = False) -> None:
        return None


BAD_CONNECTORS: list[tuple[type[GoodConnector], str]] = [
    (SwallowsCancellation, "lookup() swallowed CancelledError: it returned None"),
    (CancellationBecomesError, "lookup() turned CancelledError into ConnectorError"),
    (ReturnsADate, "not JSON: answer[0].since: date datetime.date(2020, 1, 1)"),
    (ReturnsNaN, "not JSON: answer.balance: nan (not finite)"),
    (FindsNothing, "lookup(known) must return a mapping or a non-empty list"),
    (FindsEveryone, "lookup(unknown) must return None, not {'name': 'Jane Doe'}"),
    (LeaksItsError, "lookup(known) raised KeyError: 'customers.phone'; a connector raises only"),
    (LeaksItsErrorWhenBroken, "with failing options, check() raised OSError"),
    (AcceptsUnknownKeys, "Settings accepts unknown keys"),
    (LeavesASocketOpen, "aclose() left resources open: unclosed <socket.socket"),
    (LeavesATaskRunning, "aclose() left tasks running: loyalty poller"),
    (ForgetsItsName, "the connector must keep its name"),
    (RecordsIsAMethod, ".records must be True or False (a property), not <bound method"),
]


async def test_a_connector_that_keeps_the_contract_passes() -> None:
    await check_connector_contract(
        GoodConnector,
        {},
        known_number=KNOWN,
        unknown_number=UNKNOWN,
        failing_options={"broken": True},
    )


@pytest.mark.parametrize(
    ("factory", "message"), BAD_CONNECTORS, ids=[c.__name__ for c, _ in BAD_CONNECTORS]
)
async def test_the_kit_catches_a_connector_that_breaks_the_contract(
    factory: type[GoodConnector], message: str
) -> None:
    with pytest.raises(AssertionError) as caught:
        await check_connector_contract(
            factory,
            {},
            known_number=KNOWN,
            unknown_number=UNKNOWN,
            failing_options={"broken": True},
        )
    assert message in str(caught.value)
    for task in LeavesATaskRunning.tasks:
        task.cancel()


async def test_the_kit_rejects_options_the_settings_do_not_accept() -> None:
    expected = r"rejects the options: invalid configuration\n  broken: Input should be a valid bool"
    with pytest.raises(AssertionError, match=expected):
        await check_connector_contract(
            GoodConnector, {"broken": "maybe"}, known_number=KNOWN, unknown_number=UNKNOWN
        )


def test_the_kit_refuses_a_known_number_that_is_not_one() -> None:
    with pytest.raises(AssertionError, match="not a phone number"):
        asyncio.run(
            check_connector_contract(
                GoodConnector, {}, known_number="anonymous", unknown_number=UNKNOWN
            )
        )
