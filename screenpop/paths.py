"""Where the daemon keeps its files: the store's default SQLite file, a relative store path
resolved against the config's folder, and the outbox beside the store.

Nothing goes beside a config file by default (it may sit in a read-only /etc): defaults live in
systemd's ``$STATE_DIRECTORY`` (its first folder), else in the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

STATE_ENV = "STATE_DIRECTORY"  # set by systemd's StateDirectory=
SQLITE_PREFIX = "sqlite+aiosqlite:///"


def state_folder(environ: Mapping[str, str] | None = None) -> Path:
    """The folder default files go to (absolute)."""
    environ = os.environ if environ is None else environ
    state = environ.get(STATE_ENV, "").split(":")[0].strip()
    return (Path(state) if state else Path.cwd()).absolute()


def default_store_url(environ: Mapping[str, str] | None = None) -> str:
    """The call log when the config names none: ``screenpop.db`` in :func:`state_folder`. An
    absolute URL, so nothing re-resolves it."""
    return SQLITE_PREFIX + str(state_folder(environ) / "screenpop.db")


def resolve_url(url: str, base_dir: Path) -> str:
    """Resolve a relative SQLite path against the config file's folder."""
    database = url[len(SQLITE_PREFIX) :]
    if url.startswith(SQLITE_PREFIX) and not database.startswith(("/", ":memory:")):
        return SQLITE_PREFIX + str((base_dir / database).resolve())
    return url


def outbox_path(
    configured: str, base_dir: Path, store_url: str, environ: Mapping[str, str] | None = None
) -> Path | None:
    """Where writes wait while the store is away: `[store] outbox_path` (relative to the
    config's folder); else beside a SQLite store file (``calls.db`` -> ``calls-outbox.db``),
    nowhere (None: memory) for an in-memory store, and ``screenpop-outbox.db`` in
    :func:`state_folder` for any other store. `store_url` is already resolved (absolute)."""
    if configured:
        return (base_dir / configured).resolve()
    if store_url.startswith(SQLITE_PREFIX):
        database = store_url[len(SQLITE_PREFIX) :]
        if database in ("", ":memory:"):
            return None
        path = Path(database)
        return path.with_name(f"{path.stem}-outbox.db")
    return state_folder(environ) / "screenpop-outbox.db"
