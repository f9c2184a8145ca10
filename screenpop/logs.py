"""Logging setup: the level and the line format (`text` for people, `json` for log shippers).

The command line calls :func:`configure_logging` once before the config is read (so config
errors are logged) and again with the config's ``[logging]`` table, unless the command line or
``$SCREENPOP_LOG_LEVEL`` / ``$SCREENPOP_LOG_FORMAT`` already chose: the command line wins.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
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


def configure_logging(level: str, fmt: LogFormat) -> None:
    """Log to stderr at `level` in `fmt`, replacing what an earlier call installed.

    Leaves logging alone when another handler is on the root logger already (a test harness or
    an application embedding screenpop owns logging then). ValueError for an unknown level.
    """
    level = check_level(level)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _ScreenpopHandler):
            root.removeHandler(handler)
    if root.handlers:
        return
    ours = _ScreenpopHandler()
    ours.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(ours)
    root.setLevel(level)
