"""Logging setup: the level and the line format (`text` for people, `json` for log shippers).

The command line calls :func:`configure_logging` once before the config is read (so config
errors are logged) and again with the config's ``[logging]`` table, unless the command line or
``$SCREENPOP_LOG_LEVEL`` / ``$SCREENPOP_LOG_FORMAT`` already chose: the command line wins. What
they chose is a :class:`LogSetup`; the daemon keeps it, so that a reload applies a new
``[logging]`` at once, with those choices still winning.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Literal, TextIO

LogFormat = Literal["text", "json"]
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS: tuple[LogFormat, ...] = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The code's own convention for a message about one call: "call <id>: ...".
_CALL_PREFIX = re.compile(r"^call (\S+?):")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and `call_id`
    when the record carries one (``extra={"call_id": ...}``) or its message starts
    ``call <id>:``; an exception's traceback goes in `exc`."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        call_id = getattr(record, "call_id", None)
        if call_id is None:
            found = _CALL_PREFIX.match(message)
            call_id = found.group(1) if found else None
        if call_id is not None:
            line["call_id"] = str(call_id)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def check_level(level: str) -> str:
    """`level` upper-cased; ValueError naming the choices if it is not a logging level."""
    upper = level.strip().upper()
    if upper not in LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    return upper


class _ScreenpopHandler(logging.StreamHandler[TextIO]):
    """The stderr handler :func:`configure_logging` installs (and replaces on the next call)."""


def configure_logging(level: str, fmt: LogFormat) -> bool:
    """Log to stderr at `level` in `fmt`, replacing what an earlier call installed; True then.

    Leaves logging alone (False) when another handler is on the root logger already (a test
    harness or an application embedding screenpop owns logging then). ValueError for an unknown
    level.
    """
    level = check_level(level)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _ScreenpopHandler):
            root.removeHandler(handler)
    if root.handlers:
        return False
    ours = _ScreenpopHandler()
    ours.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(ours)
    root.setLevel(level)
    return True


@dataclass(frozen=True, slots=True)
class LogSetup:
    """What the command line or the environment chose of the logging (None: the config's
    ``[logging]`` decides), which wins over the config, at start and on every reload."""

    level: str | None = None
    fmt: LogFormat | None = None

    def choose(self, level: str, fmt: LogFormat) -> tuple[str, LogFormat]:
        """The level and format in force when the config says `level` and `fmt`."""
        return check_level(self.level or level), self.fmt or fmt

    def reapply(self, level: str, fmt: LogFormat) -> str:
        """Log by a reloaded config's ``[logging]`` from now on; says what is in force."""
        chosen_level, chosen_fmt = self.choose(level, fmt)
        if not configure_logging(chosen_level, chosen_fmt):
            return "[logging] changed: logging is set up by the program running screenpop, kept"
        kept = [
            what
            for what, pinned in (("level", self.level), ("format", self.fmt))
            if pinned is not None
        ]
        note = f"[logging] applied: level {chosen_level}, format {chosen_fmt}"
        if kept:
            verb = "win" if len(kept) > 1 else "wins"
            note += f" (the {' and '.join(kept)} set on the command line or environment {verb})"
        return note
