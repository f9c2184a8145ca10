"""Typed keys of the web application's shared state (``app[DESK]``...)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from aiohttp import web

if TYPE_CHECKING:
    from agent_ui.counters import UiCounters
    from agent_ui.deflate import SharedDeflate
    from agent_ui.desk import Desk
    from agent_ui.sessions import SessionCodec

DESK: web.AppKey[Desk] = web.AppKey("desk")
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)
SESSIONS: web.AppKey[SessionCodec] = web.AppKey("sessions")
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
COUNTERS: web.AppKey[UiCounters] = web.AppKey("counters")
DEFLATE: web.AppKey[SharedDeflate] = web.AppKey("deflate")  # large frames compressed once
DEMO_DIR: web.AppKey[Path] = web.AppKey("demo_dir", Path)  # `screenpop demo`: its back office
