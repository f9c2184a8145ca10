"""The demo's back office: three SQLite databases and the simulator's caller pool.

`screenpop demo` calls :func:`build_demo_databases` on the config folder before it starts. The
data is made up, reproducibly (a fixed random seed, no network), and only with fictional
numbers: US 555-0100..0199 lines, Ofcom's drama ranges in the UK, reserved-looking French and
German ranges, every one of them a number phonenumbers accepts as valid.

* ``demo-accounting.db``: ``customers`` (balance, currency, last payment, account status) and
  ``phones`` (customer_id, e164).
* ``demo-sales.db``: ``customers`` (segment, next offer), ``phones`` and ``purchases``.
* ``demo-credit.db``: ``credit_terms`` (limit, payment terms, risk band, internal score, who
  approved them) and ``phones``.
* ``demo-callers.txt``: the simulator's pool (see :mod:`screenpop.telephony.simulator`): known
  customers' numbers in the varied forms PBXs send, numbers shared by two customers, unknown and
  withheld callers, and caller names meant to test escaping.

Some customers have two or three numbers, about twenty numbers belong to two customers (a
household, a firm and its owner), and a few customers are missing from sales or from credit.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

SCHEMA_VERSION = 1
SEED = 20261120
CUSTOMERS = 1200
SHARED_NUMBERS = 20
TODAY = dt.date(2026, 11, 1)  # the data's "now": fixed, so every build is the same
ACCOUNTING, SALES, CREDIT, CALLERS = (
    "demo-accounting.db",
    "demo-sales.db",
    "demo-credit.db",
    "demo-callers.txt",
)
CALLERS_HEADER = f"# screenpop demo caller pool, schema {SCHEMA_VERSION}"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "James Mary Olivia Liam Noah Emma Ava Sophia Mateo Santiago Valentina Camila Sofía Diego "
    "Lucía Aiyana Wei Mei Jun Hiroshi Yuki Haruto Sakura Min-jun Seo-yeon Ji-woo Arjun Priya "
    "Aarav Ananya Rohan Fatima Omar Aisha Yusuf Layla Hassan Zainab Kwame Amara Chinedu Ngozi "
    "Oluwaseun Thabo Nia Dmitri Olga Ivan Anastasia Katarzyna Piotr Björn Ingrid Siobhan Liam "
    "Niamh Pierre Camille Élodie Jürgen Anneliese Giulia Marco Francesca Thi Minh Nguyen Bao "
    "Rafael Beatriz Leilani Kai Tomás Inés Zoë Ahmet Elif Ravi Deepika Kofi Adaeze"
)
LAST = _words(
    "Smith Johnson Williams Brown Garcia Martinez Rodriguez Hernandez Lopez Gonzalez Nguyen "
    "Tran Kim Park Lee Chen Wang Li Zhang Liu Tanaka Suzuki Sato Patel Shah Singh Sharma Gupta "
    "Khan Ahmed Ali Hussain Okafor Adeyemi Mensah Mbeki Diallo Kowalski Nowak Ivanova Petrov "
    "O'Brien Murphy Kelly MacDonald Müller Schmidt Schneider Fischer Dubois Moreau Lefèvre "
    "Rossi Russo Ferrari Silva Santos Oliveira Costa Cohen Levi Friedman Johansson Andersson "
    "Nielsen Yilmaz Demir Haddad Nakamura Kapoor Reyes Cruz Flores Ramírez Baptiste Jean-Louis"
)
FIRM = ("Logistics", "Dental", "Bakery", "Architects", "Imports", "Studio", "Consulting", "Foods")
US_AREAS = _words(
    "212 646 718 917 347 332 929 213 310 323 312 773 617 415 206 512 305 404 303 202 214 702 "
    "602 713 503"
)
COUNTRIES = (("US", 0.88), ("GB", 0.05), ("FR", 0.04), ("DE", 0.03))
CURRENCY = {"US": "USD", "GB": "GBP", "FR": "EUR", "DE": "EUR"}
STATUSES = (("active", 0.80), ("past_due", 0.10), ("on_hold", 0.05), ("closed", 0.05))
SEGMENTS = ("Consumer", "Small business", "Mid-market", "Enterprise", "Public sector")
OFFERS = (
    "Upgrade to the Pro plan: 20% off the first year",
    "Extended warranty on the last purchase, 3 years for the price of 2",
    "Annual service contract with priority support",
    "Volume discount: 10% off orders above 50 units",
    "Trade in the old unit for a credit toward the new model",
    "Free onboarding session for new team members",
    "Loyalty bundle: accessories pack at half price",
    "Switch to annual billing and get two months free",
)
CATALOG = (
    ("Standing desk", 349.0, 899.0),
    ("Ergonomic chair", 199.0, 1290.0),
    ("Laptop 14-inch", 799.0, 2499.0),
    ("27-inch monitor", 229.0, 749.0),
    ("Wireless headset", 59.0, 329.0),
    ("Printer toner pack", 39.0, 189.0),
    ("Support plan (1 year)", 120.0, 1800.0),
    ("Conference speakerphone", 129.0, 649.0),
    ("Office coffee machine", 299.0, 2100.0),
    ("Cloud backup, 1 TB", 60.0, 240.0),
)
TERMS = ("Net 30", "Net 30", "Net 30", "Net 15", "Net 45", "Net 60", "2/10 Net 30", "Prepaid")
CREDIT_OFFICERS = ("R. Castillo", "H. Okonkwo", "M. Lindqvist", "S. Feldman", "A. Rahman")


@dataclass
class Customer:
    """One made-up customer as the three back offices know it."""

    customer_id: str
    name: str
    country: str
    phones: list[str] = field(default_factory=list)
    in_sales: bool = True
    in_credit: bool = True


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


# -- customers ------------------------------------------------------------------------------------


def make_customers(rng: random.Random, numbers: NumberSource, count: int) -> list[Customer]:
    """`count` customers with their numbers; some share a number, some lack sales or credit."""
    customers = []
    for index in range(count):
        country = _weighted(rng, COUNTRIES)
        customer = Customer(f"C-{10000 + index * 7 + rng.randrange(7)}", _name(rng), country)
        extra = _weighted(rng, ((0, 0.72), (1, 0.21), (2, 0.07)))
        customer.phones = [numbers.take(country) for _ in range(1 + extra)]
        customer.in_sales = rng.random() > 0.03
        customer.in_credit = rng.random() > 0.04
        customers.append(customer)
    _share_numbers(rng, customers)
    return customers


def _name(rng: random.Random) -> str:
    if rng.random() < 0.12:
        return f"{rng.choice(LAST)} {rng.choice(FIRM)}"
    if rng.random() < 0.04:
        return f"{rng.choice(LAST)} & {rng.choice(LAST)} LLP"
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _share_numbers(rng: random.Random, customers: list[Customer]) -> None:
    """Give `SHARED_NUMBERS` customers a second owner: the household or firm of someone else."""
    picked = rng.sample(range(len(customers)), SHARED_NUMBERS * 2)
    for owner, other in zip(picked[::2], picked[1::2], strict=True):
        shared = customers[owner].phones[0]
        customers[other].phones.append(shared)
        if rng.random() < 0.5:  # a household: same family name
            family = customers[owner].name.split()[-1]
            first = customers[other].name.split()[0]
            customers[other].name = f"{first} {family}"


T = TypeVar("T")


def _weighted(rng: random.Random, choices: Sequence[tuple[T, float]]) -> T:
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(values, weights)[0]


class NumberSource:
    """Hands out distinct fictional numbers, in E.164, that phonenumbers considers valid."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def take(self, country: str) -> str:
        """A number of `country` not handed out before."""
        while True:
            number = self._candidate(country)
            if number not in self.used:
                self.used.add(number)
                return number

    def _candidate(self, country: str) -> str:
        rng = self.rng
        if country == "GB":
            return rng.choice(("+4420794600", "+4416149600")) + f"{rng.randrange(100):02d}"
        if country == "FR":
            return f"+3319900{rng.randrange(10000):04d}"
        if country == "DE":
            return f"+49302312{rng.randrange(10000):04d}"
        return f"+1{rng.choice(US_AREAS)}5550{rng.randrange(100, 200)}"


# -- databases ------------------------------------------------------------------------------------


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
        " last_payment_amount REAL, account_status TEXT NOT NULL);",
    )
    rows: list[tuple[object, ...]] = []
    for c in customers:
        status = _weighted(rng, STATUSES)
        balance = 0.0 if rng.random() < 0.3 else round(rng.uniform(20, 4800), 2)
        if status == "past_due":
            balance = round(rng.uniform(150, 9000), 2)
        paid_at = TODAY - dt.timedelta(days=rng.randrange(3, 200))
        paid = round(rng.uniform(25, 2500), 2)
        rows.append(
            (c.customer_id, c.name, balance, CURRENCY[c.country], paid_at.isoformat(), paid, status)
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


# -- the caller pool ------------------------------------------------------------------------------

POOL_KNOWN, POOL_SHARED, POOL_UNKNOWN = 200, 15, 20
WITHHELD = (
    "anonymous", "Restricted", "<unknown>", "", "Unavailable", "sip:anonymous@anonymous.invalid",
    "Private|PRIVATE CALLER", "+266696687", "0000000000", "anonymous|Anonymous",
)  # fmt: skip
HOSTILE_NAMES = (
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "Zoë Ñúñez-Ærø 🎧",
    "李小龙 📞 Bruce", "Robert'); DROP TABLE customers;--", "{{7*7}} ${7*7} &amp; &lt;b&gt;",
)  # fmt: skip


def caller_pool(rng: random.Random, numbers: NumberSource, customers: Sequence[Customer]) -> str:
    """The simulator's pool file: sections of known, shared, unknown and withheld callers."""
    owners = Counter(e164 for c in customers for e164 in c.phones)
    shared = list(dict.fromkeys(n for c in customers for n in c.phones if owners[n] > 1))
    known = rng.sample([c for c in customers if owners[c.phones[0]] == 1], POOL_KNOWN)
    unknown = [numbers.take(rng.choice(("US",) * 8 + ("GB", "FR"))) for _ in range(POOL_UNKNOWN)]
    known_lines = [
        _line(rng, rng.choice([n for n in c.phones if owners[n] == 1]), _caller_name(rng, c.name))
        for c in known
    ]
    unknown_lines = [_line(rng, e164, None) for e164 in unknown]
    for index, name in enumerate(HOSTILE_NAMES):  # half on known callers, half on unknown ones
        lines = known_lines if index % 2 == 0 else unknown_lines
        lines[index] = lines[index].partition("|")[0] + "|" + name
    shared_lines = [_line(rng, e164, None) for e164 in rng.sample(shared, POOL_SHARED)]
    return "\n".join(
        [
            CALLERS_HEADER,
            "# Generated by screenpop.demo_data; rebuilt when the schema version changes.",
            "# One caller per line: the raw caller id as a PBX sends it|the caller name, if any.",
            "# == known: numbers of one customer ==",
            *known_lines,
            "# == shared: numbers two customers have (the card lists candidates) ==",
            *shared_lines,
            "# == unknown: numbers no back office has ==",
            *unknown_lines,
            "# == withheld: no number to look up ==",
            *(w if "|" in w else f"{w}|" for w in WITHHELD),
            "",
        ]
    )


def _caller_name(rng: random.Random, name: str) -> str | None:
    roll = rng.random()
    if roll < 0.45:
        return name
    if roll < 0.65:  # CNAM style: upper case, family name first, 15 characters at most
        parts = name.split()
        return " ".join(parts[-1:] + parts[:-1]).upper()[:15]
    return None


def _line(rng: random.Random, e164: str, name: str | None) -> str:
    return f"{pbx_form(rng, e164)}|{name or ''}"


def pbx_form(rng: random.Random, e164: str) -> str:
    """`e164` written the way some PBX or trunk might send it (the demo's region is US)."""
    digits = e164[1:]
    forms = [e164, f"00{digits}", f"011{digits}", f"sip:{e164}@carrier.example;user=phone"]
    if e164.startswith("+1"):
        area, exchange, line = digits[1:4], digits[4:7], digits[7:]
        forms += [
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"{area}.{exchange}.{line}",
            digits,
            f"tel:+1-{area}-{exchange}-{line}",
            f'"WIRELESS CALLER" <sip:{e164}@pbx.example>;tag=a{rng.randrange(10**6)}',
        ]
    return rng.choice(forms)
