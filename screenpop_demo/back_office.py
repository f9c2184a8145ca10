"""The demo's back office on disk: three SQLite databases and the caller pool, rebuilt when
their schema version changes."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import closing
from pathlib import Path

from screenpop_demo.callers import CALLERS_HEADER, caller_pool
from screenpop_demo.customers import (
    CATALOG,
    CREDIT_OFFICERS,
    CURRENCY,
    CUSTOMERS,
    OFFERS,
    SCHEMA_VERSION,
    SEED,
    SEGMENTS,
    STATUSES,
    TERMS,
    TODAY,
    Customer,
    NumberSource,
    make_customers,
    weighted,
)

ACCOUNTING, SALES, CREDIT, CALLERS = (
    "demo-accounting.db",
    "demo-sales.db",
    "demo-credit.db",
    "demo-callers.txt",
)


def build_demo_databases(folder: Path) -> None:
    """Create the demo databases and caller pool in `folder`, unless they are already there and
    current (a build with an older schema version is replaced). The same data every time."""
    folder.mkdir(parents=True, exist_ok=True)
    if is_current(folder):
        return
    scratch = Path(tempfile.mkdtemp(prefix=".demo-build-", dir=folder))
    try:
        _build(scratch, random.Random(SEED))
        for name in (ACCOUNTING, SALES, CREDIT, CALLERS):  # the pool last: it marks a full build
            os.replace(scratch / name, folder / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def is_current(folder: Path) -> bool:
    """True when every demo file exists and was built with this schema version."""
    try:
        with (folder / CALLERS).open(encoding="utf-8") as pool:
            if pool.readline().rstrip("\n") != CALLERS_HEADER:
                return False
    except OSError:
        return False
    return all(
        _schema_version(folder / name) == SCHEMA_VERSION for name in (ACCOUNTING, SALES, CREDIT)
    )


def _schema_version(path: Path) -> int | None:
    if not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error:
        return None
    return int(row[0]) if row and str(row[0]).isdigit() else None


def _build(folder: Path, rng: random.Random) -> None:
    numbers = NumberSource(rng)
    customers = make_customers(rng, numbers, CUSTOMERS)
    _write_accounting(folder / ACCOUNTING, customers, rng)
    _write_sales(folder / SALES, customers, rng)
    _write_credit(folder / CREDIT, customers, rng)
    text = caller_pool(rng, numbers, customers)
    (folder / CALLERS).write_text(text, encoding="utf-8")


def _open(path: Path, schema: str) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE phones (customer_id TEXT NOT NULL, e164 TEXT NOT NULL);"
        "CREATE INDEX phones_e164 ON phones (e164);" + schema
    )
    db.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("schema_version", str(SCHEMA_VERSION)), ("seed", str(SEED))],
    )
    return db


def _write(
    db: sqlite3.Connection,
    customers: Iterable[Customer],
    table: str,
    rows: list[tuple[object, ...]],
) -> None:
    marks = ", ".join("?" * len(rows[0]))
    db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    db.executemany(
        "INSERT INTO phones VALUES (?, ?)",
        [(c.customer_id, e164) for c in customers for e164 in c.phones],
    )
    db.commit()
    db.close()


def _write_accounting(path: Path, customers: Sequence[Customer], rng: random.Random) -> None:
    db = _open(
        path,
        "CREATE TABLE customers (customer_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " balance REAL NOT NULL, currency TEXT NOT NULL, last_payment_at TEXT,"
        " last_payment_amount REAL, account_status TEXT NOT NULL, email TEXT);"
        # the demo "CRM": notes and call ends the accounting connector writes back, once each
        "CREATE TABLE crm_notes (record_id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
        " call_id TEXT NOT NULL, customer_id TEXT, e164 TEXT, agent TEXT, disposition TEXT,"
        " text TEXT, at TEXT, direction TEXT, queue TEXT, talk_s REAL);"
        # what an agent's "Create customer" writes: a customer and their number at once
        "CREATE VIEW signups AS SELECT c.customer_id, c.name, c.email, p.e164"
        " FROM customers AS c JOIN phones AS p ON p.customer_id = c.customer_id;"
        "CREATE TRIGGER signup INSTEAD OF INSERT ON signups BEGIN"
        " INSERT INTO customers (customer_id, name, balance, currency, account_status, email)"
        " VALUES (NEW.customer_id, NEW.name, 0, 'USD', 'new', NULLIF(NEW.email, ''));"
        " INSERT INTO phones VALUES (NEW.customer_id, NEW.e164); END;",
    )
    rows: list[tuple[object, ...]] = []
    for c in customers:
        status = weighted(rng, STATUSES)
        balance = 0.0 if rng.random() < 0.3 else round(rng.uniform(20, 4800), 2)
        if status == "past_due":
            balance = round(rng.uniform(150, 9000), 2)
        paid_at = TODAY - dt.timedelta(days=rng.randrange(3, 200))
        paid = round(rng.uniform(25, 2500), 2)
        rows.append(
            (
                c.customer_id,
                c.name,
                balance,
                CURRENCY[c.country],
                paid_at.isoformat(),
                paid,
                status,
                None,
            )
        )
    _write(db, customers, "customers", rows)


def _write_sales(path: Path, customers: Sequence[Customer], rng: random.Random) -> None:
    db = _open(
        path,
        "CREATE TABLE customers (customer_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " segment TEXT NOT NULL, next_offer TEXT NOT NULL);"
        "CREATE TABLE purchases (customer_id TEXT NOT NULL, purchased_at TEXT NOT NULL,"
        " item TEXT NOT NULL, amount REAL NOT NULL);"
        "CREATE INDEX purchases_customer ON purchases (customer_id, purchased_at);",
    )
    present = [c for c in customers if c.in_sales]
    purchases = []
    for c in present:
        for _ in range(rng.randint(3, 5)):
            item, low, high = rng.choice(CATALOG)
            day = TODAY - dt.timedelta(days=rng.randrange(1, 540))
            purchases.append(
                (c.customer_id, day.isoformat(), item, round(rng.uniform(low, high), 2))
            )
    db.executemany("INSERT INTO purchases VALUES (?, ?, ?, ?)", purchases)
    rows: list[tuple[object, ...]] = [
        (c.customer_id, c.name, rng.choice(SEGMENTS), rng.choice(OFFERS)) for c in present
    ]
    _write(db, present, "customers", rows)


def _write_credit(path: Path, customers: Sequence[Customer], rng: random.Random) -> None:
    db = _open(
        path,
        "CREATE TABLE credit_terms (customer_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
        " credit_limit REAL NOT NULL, payment_terms TEXT NOT NULL, risk_band TEXT NOT NULL,"
        " internal_score INTEGER NOT NULL, approved_by TEXT NOT NULL);",
    )
    present = [c for c in customers if c.in_credit]
    rows: list[tuple[object, ...]] = []
    for c in present:
        score = rng.randint(420, 840)
        band = "ABCDE"[min(4, max(0, (820 - score) // 80))]
        limit = float(500 * rng.randint(1, 100) if band in "ABC" else 500 * rng.randint(0, 10))
        rows.append(
            (
                c.customer_id,
                c.name,
                limit,
                rng.choice(TERMS),
                band,
                score,
                rng.choice(CREDIT_OFFICERS),
            )
        )
    _write(db, present, "credit_terms", rows)
