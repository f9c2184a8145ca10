"""The call log and agent notes (SQLAlchemy Core, async): :class:`Store`.

`call_log` holds the store itself, `schema` its tables and the row it keeps per call,
`database` how engines are opened for SQLite and PostgreSQL.
"""

from screenpop.store.call_log import NOTE_MAX_CHARS, Store
from screenpop.store.schema import CallRecord, iso

__all__ = ["NOTE_MAX_CHARS", "CallRecord", "Store", "iso"]
