"""The demo's back office: three SQLite databases and the simulator's caller pool.

`screenpop demo` calls :func:`build_demo_databases` on the config folder before it starts. The
data is made up, reproducibly (a fixed random seed, no network), and only with fictional
numbers: US 555-0100..0199 lines, Ofcom's drama ranges in the UK, reserved-looking French and
German ranges, every one of them a number phonenumbers accepts as valid.

* ``demo-accounting.db``: ``customers`` (balance, currency, last payment, account status),
  ``phones`` (customer_id, e164) and ``crm_notes``, the demo "CRM" that the accounting
  connector writes every saved note and every call's end back to (``record_query``).
* ``demo-sales.db``: ``customers`` (segment, next offer), ``phones`` and ``purchases``.
* ``demo-credit.db``: ``credit_terms`` (limit, payment terms, risk band, internal score, who
  approved them) and ``phones``.
* ``demo-callers.txt``: the simulator's pool (see :mod:`screenpop.telephony.simulator`): known
  customers' numbers in the varied forms PBXs send, numbers shared by two customers, unknown and
  withheld callers, and caller names meant to test escaping.

Some customers have two or three numbers, about twenty numbers belong to two customers (a
household, a firm and its owner), and a few customers are missing from sales or from credit.
"""

from screenpop_demo.back_office import ACCOUNTING, CALLERS, CREDIT, SALES, build_demo_databases
from screenpop_demo.callers import HOSTILE_NAMES

__all__ = ["ACCOUNTING", "CALLERS", "CREDIT", "HOSTILE_NAMES", "SALES", "build_demo_databases"]
