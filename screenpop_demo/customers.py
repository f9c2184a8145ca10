"""The demo's made-up customers and their fictional, valid phone numbers (a fixed seed)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

SCHEMA_VERSION = 3  # 2: e-mail and the signups view (create); 3: the crm_notes table (write-back)


SEED = 20261120


CUSTOMERS = 1200


SHARED_NUMBERS = 20


TODAY = dt.date(2026, 11, 1)  # the data's "now": fixed, so every build is the same


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


def make_customers(rng: random.Random, numbers: NumberSource, count: int) -> list[Customer]:
    """`count` customers with their numbers; some share a number, some lack sales or credit."""
    customers = []
    for index in range(count):
        country = weighted(rng, COUNTRIES)
        customer = Customer(f"C-{10000 + index * 7 + rng.randrange(7)}", _name(rng), country)
        extra = weighted(rng, ((0, 0.72), (1, 0.21), (2, 0.07)))
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


def weighted(rng: random.Random, choices: Sequence[tuple[T, float]]) -> T:
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
