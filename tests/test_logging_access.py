"""The web server's access log: callers' numbers masked, probes and static files left out."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from agent_ui.app import masked_path
from screenpop.daemon import Daemon
from screenpop.settings import parse_settings
from tests.fakes.web_connectors import web_settings_raw


async def test_access_lines_mask_numbers_and_skip_probes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    settings = parse_settings(web_settings_raw(tmp_path), "test")
    async with Daemon(settings) as daemon, daemon.web() as port:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(base) as http:
            for path in (
                "/api/cards/+14155550117",
                "/api/cards/%2B14155550118",
                "/healthz",
                "/readyz",
                "/metrics",
                "/static/app.css",
                "/agent",
            ):
                async with http.get(path, allow_redirects=False) as response:
                    await response.read()
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "aiohttp.access")
    text = "\n".join(lines)
    assert "14155550117" not in text and "14155550118" not in text and "555" not in text
    assert "GET /api/cards/+…0117 HTTP/1.1" in text
    assert "GET /api/cards/+…0118 HTTP/1.1" in text
    assert "GET /agent HTTP/1.1" in text
    for quiet in ("/healthz", "/readyz", "/metrics", "/static/"):
        assert quiet not in text
    assert len(lines) == 3


def test_masked_path_masks_plus_numbers_anywhere_but_keeps_call_ids() -> None:
    assert masked_path("/api/cards/(212)%20555-1234") == "/api/cards/…1234"
    assert masked_path("/x?to=%2B12125551234&y=1") == "/x?to=+…1234&y=1"
    assert masked_path("/api/calls/1700000000.42/notes") == "/api/calls/1700000000.42/notes"
