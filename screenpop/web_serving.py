"""The web app served on a TCP port, and stopped in order: no new connection, then what the tabs
are owed goes out (the caller's `drain`), then the app's cleanup closes them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from screenpop.desk import DeskService


@contextlib.asynccontextmanager
async def serve_web(
    desk: DeskService,
    host: str,
    port: int,
    drain: Callable[[], Awaitable[object]],
    demo_dir: Path | None = None,
) -> AsyncIterator[int]:
    """Serve `desk`'s web app on `host`:`port`; yields the port bound (the one asked, or the
    kernel's pick for 0). `demo_dir`: the demo back office's folder (`/demo/crm`)."""
    from aiohttp import web

    from agent_ui.app import AccessLog, build_app

    runner = web.AppRunner(
        build_app(desk, demo_dir),
        handle_signals=False,
        shutdown_timeout=2.0,
        access_log_class=AccessLog,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        yield sockets[0].getsockname()[1] if sockets else port
    finally:
        try:
            await site.stop()
            await drain()
        finally:
            await runner.cleanup()
