"""The demo back office and caller pool: reproducible, idempotent, and usable by the demo config."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from screenpop.callerid import normalize
from screenpop.connectors.contract import (
    Connector,
    LookupQuery,
    RecordItem,
    Searcher,
    can_record,
)
from screenpop.connectors.registry import build_connector
from screenpop.settings import load_settings
from screenpop.telephony.simulator import load_pool
from screenpop_demo import (
    ACCOUNTING,
    CALLERS,
    CREDIT,
    HOSTILE_NAMES,
    SALES,
    build_demo_databases,
)

DEMO_TOML = Path(__file__).resolve().parent.parent / "config" / "demo.toml"
DATABASES = (ACCOUNTING, SALES, CREDIT)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    build_demo_databases(folder)
    return folder


def rows(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql, args).fetchall()


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    tables = [name for (name,) in rows(path, "SELECT name FROM sqlite_master WHERE type='table'")]
    return {t: sorted(rows(path, f"SELECT * FROM {t}"), key=repr) for t in sorted(tables)}


def owners(demo: Path, e164: str) -> list[str]:
    found = rows(demo / ACCOUNTING, "SELECT customer_id FROM phones WHERE e164 = ?", e164)
    return [customer for (customer,) in found]


def pool_sections(demo: Path) -> dict[str, list[tuple[str, str]]]:
    """The pool's lines by section (`# == known: ...` starts section `known`)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = "header"
    for line in (demo / CALLERS).read_text(encoding="utf-8").splitlines():
        if line.startswith("# == "):
            current = line[5:].split(":")[0]
        elif line and not line.startswith("#"):
            raw, _, name = line.partition("|")
            sections.setdefault(current, []).append((raw, name))
    return sections


# -- the data ---------------------------------------------------------------------------------


def test_two_builds_hold_the_same_data(demo: Path, tmp_path: Path) -> None:
    build_demo_databases(tmp_path)
    for name in DATABASES:
        assert dump(tmp_path / name) == dump(demo / name), name
    assert (tmp_path / CALLERS).read_bytes() == (demo / CALLERS).read_bytes()


def test_a_thousand_customers_with_realistic_accounts(demo: Path) -> None:
    customers = rows(demo / ACCOUNTING, "SELECT customer_id, name, currency FROM customers")
    assert len(customers) >= 1000
    assert len({customer_id for customer_id, _, _ in customers}) == len(customers)
    assert all(cid.startswith("C-") and cid[2:].isdigit() for cid, _, _ in customers)
    assert len({name for _, name, _ in customers}) > 500  # varied names, not a handful
    assert {currency for _, _, currency in customers} == {"USD", "GBP", "EUR"}


def test_every_number_is_valid_and_some_are_foreign(demo: Path) -> None:
    numbers = [e164 for (e164,) in rows(demo / ACCOUNTING, "SELECT DISTINCT e164 FROM phones")]
    regions = set()
    for e164 in numbers:
        parsed = phonenumbers.parse(e164, None)
        assert phonenumbers.is_valid_number(parsed), e164
        regions.add(phonenumbers.region_code_for_number(parsed))
    assert {"US", "GB", "FR", "DE"} <= regions


def test_some_customers_have_several_numbers_and_some_numbers_two_customers(demo: Path) -> None:
    per_customer = rows(
        demo / ACCOUNTING, "SELECT count(*) FROM phones GROUP BY customer_id HAVING count(*) > 1"
    )
    assert len(per_customer) > 100
    assert max(n for (n,) in per_customer) >= 3
    shared = rows(demo / ACCOUNTING, "SELECT e164 FROM phones GROUP BY e164 HAVING count(*) = 2")
    assert len(shared) >= 15


def test_some_customers_are_missing_from_sales_or_credit(demo: Path) -> None:
    everyone = {cid for (cid,) in rows(demo / ACCOUNTING, "SELECT customer_id FROM customers")}
    in_sales = {cid for (cid,) in rows(demo / SALES, "SELECT customer_id FROM customers")}
    in_credit = {cid for (cid,) in rows(demo / CREDIT, "SELECT customer_id FROM credit_terms")}
    assert in_sales < everyone and in_credit < everyone
    assert len(everyone - in_sales) >= 5 and len(everyone - in_credit) >= 5


def test_every_sales_customer_has_three_to_five_purchases(demo: Path) -> None:
    counts = rows(demo / SALES, "SELECT count(*) FROM purchases GROUP BY customer_id")
    customers = rows(demo / SALES, "SELECT count(*) FROM customers")[0][0]
    assert len(counts) == customers
    assert {n for (n,) in counts} == {3, 4, 5}


# -- the caller pool --------------------------------------------------------------------------


def test_the_pool_has_every_kind_of_caller(demo: Path) -> None:
    sections = pool_sections(demo)
    assert len(sections["known"]) >= 200
    assert len(sections["shared"]) >= 15
    assert len(sections["unknown"]) >= 20
    assert len(sections["withheld"]) >= 10
    assert len(load_pool(demo / CALLERS)) == sum(len(lines) for lines in sections.values())
    names = {name for lines in sections.values() for _, name in lines}
    assert set(HOSTILE_NAMES) <= names
    raws = [raw for raw, _ in sections["known"]]
    assert any(raw.startswith("(") for raw in raws) and any(raw.startswith("sip:") for raw in raws)
    assert any(raw.startswith("00") for raw in raws) and any(raw.startswith("+") for raw in raws)


@pytest.mark.parametrize(("section", "owner_count"), [("known", 1), ("shared", 2), ("unknown", 0)])
def test_pool_numbers_normalize_to_the_expected_owners(
    demo: Path, section: str, owner_count: int
) -> None:
    for raw, _ in pool_sections(demo)[section]:
        caller = normalize(raw, "US")
        assert caller.kind == "number" and caller.valid and caller.e164, raw
        assert len(owners(demo, caller.e164)) == owner_count, raw


def test_withheld_pool_callers_are_never_looked_up(demo: Path) -> None:
    for raw, _ in pool_sections(demo)["withheld"]:
        assert normalize(raw, "US").kind == "withheld", raw


# -- building ---------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["config", "odd name #1?%"])
def test_a_current_build_is_left_alone(tmp_path: Path, folder: str) -> None:
    where = tmp_path / folder
    build_demo_databases(where)
    before = {p.name: p.stat().st_mtime_ns for p in where.iterdir()}
    build_demo_databases(where)
    assert {p.name: p.stat().st_mtime_ns for p in where.iterdir()} == before


@pytest.mark.parametrize("damage", ["old-schema", "missing", "garbage", "old-pool"])
def test_an_outdated_or_damaged_build_is_replaced(demo: Path, tmp_path: Path, damage: str) -> None:
    build_demo_databases(tmp_path)
    if damage == "old-schema":
        with closing(sqlite3.connect(tmp_path / SALES)) as db:
            db.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
            db.execute("DELETE FROM purchases")
            db.commit()
    elif damage == "missing":
        (tmp_path / CREDIT).unlink()
    elif damage == "garbage":
        (tmp_path / ACCOUNTING).write_bytes(b"not a database")
    else:
        (tmp_path / CALLERS).write_text("+12125550142|someone\n", encoding="utf-8")
    build_demo_databases(tmp_path)
    for name in DATABASES:
        assert dump(tmp_path / name) == dump(demo / name), name
    assert (tmp_path / CALLERS).read_bytes() == (demo / CALLERS).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*DATABASES, CALLERS])


# -- the demo config's connectors on this data --------------------------------------------------


@pytest.fixture
async def connectors(demo: Path) -> AsyncIterator[dict[str, Connector]]:
    settings = load_settings(DEMO_TOML)
    built = {entry.name: build_connector(entry, demo) for entry in settings.connectors}
    for connector in built.values():
        await connector.start()
    try:
        yield built
    finally:
        for connector in built.values():
            await connector.aclose()


def query(raw: str) -> LookupQuery:
    found = normalize(raw, "US").query()
    assert found is not None
    return found


async def lookup_all(connectors: dict[str, Connector], raw: str) -> dict[str, Any]:
    return {name: await c.lookup(query(raw)) for name, c in connectors.items()}


def a_customer(demo: Path, where: str) -> tuple[str, str, str]:
    """(customer_id, name, e164) of the first single-owner customer matching `where`."""
    sql = (
        "SELECT c.customer_id, c.name, p.e164 FROM customers c JOIN phones p USING (customer_id)"
        f" WHERE {where} AND (SELECT count(*) FROM phones q WHERE q.e164 = p.e164) = 1"
        " ORDER BY c.customer_id LIMIT 1"
    )
    found = rows(demo / ACCOUNTING, sql)
    assert found, where
    return found[0]


async def test_demo_queries_find_a_known_customer(
    demo: Path, connectors: dict[str, Connector]
) -> None:
    with closing(sqlite3.connect(demo / SALES)) as db:
        in_sales = {cid for (cid,) in db.execute("SELECT customer_id FROM customers")}
    with closing(sqlite3.connect(demo / CREDIT)) as db:
        in_credit = {cid for (cid,) in db.execute("SELECT customer_id FROM credit_terms")}
    everyone = rows(demo / ACCOUNTING, "SELECT customer_id FROM customers ORDER BY customer_id")
    target = next(cid for (cid,) in everyone if cid in in_sales and cid in in_credit)
    customer_id, name, e164 = a_customer(demo, f"c.customer_id = '{target}'")
    national = phonenumbers.format_number(
        phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    card = await lookup_all(connectors, national if e164.startswith("+1") else e164)
    for section in ("accounting", "sales", "credit"):
        assert isinstance(card[section], dict), section
        assert (card[section]["customer_id"], card[section]["name"]) == (customer_id, name)
    assert {"balance", "currency", "last_payment_at", "last_payment_amount"} <= set(
        card["accounting"]
    )
    purchases = card["sales"]["recent_purchases"]
    assert 3 <= len(purchases) <= 5
    assert all(set(p) == {"date", "item", "amount"} for p in purchases)
    assert [p["date"] for p in purchases] == sorted((p["date"] for p in purchases), reverse=True)
    assert card["sales"]["next_offer"]
    assert {"credit_limit", "payment_terms", "risk_band", "internal_score", "approved_by"} <= set(
        card["credit"]
    )


async def test_demo_queries_list_both_customers_of_a_shared_number(
    demo: Path, connectors: dict[str, Connector]
) -> None:
    raw = pool_sections(demo)["shared"][0][0]
    card = await lookup_all(connectors, raw)
    accounting = card["accounting"]
    assert isinstance(accounting, list) and len(accounting) == 2
    assert len({row["customer_id"] for row in accounting}) == 2


async def test_demo_queries_find_nobody_for_an_unknown_number(
    demo: Path, connectors: dict[str, Connector]
) -> None:
    raw = pool_sections(demo)["unknown"][0][0]
    assert await lookup_all(connectors, raw) == {"accounting": None, "sales": None, "credit": None}


async def test_a_customer_missing_from_sales_is_not_found_there_only(
    demo: Path, connectors: dict[str, Connector]
) -> None:
    with closing(sqlite3.connect(demo / SALES)) as db:
        in_sales = {cid for (cid,) in db.execute("SELECT customer_id FROM customers")}
    everyone = rows(demo / ACCOUNTING, "SELECT customer_id FROM customers ORDER BY customer_id")
    missing = next(cid for (cid,) in everyone if cid not in in_sales)
    _, name, e164 = a_customer(demo, f"c.customer_id = '{missing}'")
    card = await lookup_all(connectors, e164)
    assert card["sales"] is None
    assert isinstance(card["accounting"], dict) and card["accounting"]["name"] == name


async def test_the_demo_accounting_searches_by_name_and_customer_id(
    demo: Path, connectors: dict[str, Connector]
) -> None:
    customer_id, name, e164 = a_customer(demo, "1 = 1")
    accounting = connectors["accounting"]
    assert isinstance(accounting, Searcher)
    by_name = await accounting.search(name)
    assert any(r["customer_id"] == customer_id and e164 in r["numbers"] for r in by_name)
    (by_id,) = await accounting.search(customer_id)
    assert (by_id["customer_id"], by_id["name"]) == (customer_id, name)
    assert await accounting.search("zz nobody here") == []


async def test_the_demo_accounting_records_notes_into_its_crm_table_once(tmp_path: Path) -> None:
    build_demo_databases(tmp_path)  # a copy of its own: the shared one must stay as built
    entry = next(c for c in load_settings(DEMO_TOML).connectors if c.name == "accounting")
    accounting = build_connector(entry, tmp_path)
    await accounting.start()
    try:
        assert can_record(accounting)
        item = RecordItem(
            record_id="n-demo", kind="note", call_id="c1", agent="alice", text="refund please"
        )
        await accounting.record(item)
        await accounting.record(item)  # sent again after a lost answer: still one row
        dry = RecordItem(record_id="n-dry", kind="note", call_id="c1")
        await accounting.record(dry, dry_run=True)
    finally:
        await accounting.aclose()
    assert rows(tmp_path / ACCOUNTING, "SELECT record_id, text FROM crm_notes") == [
        ("n-demo", "refund please")
    ]
