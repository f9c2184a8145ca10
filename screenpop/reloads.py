"""What a reload or a start builds from the settings besides the daemon's own parts: the
telephony sources, what a reload cannot change while running, and retiring old connectors."""

from __future__ import annotations

import asyncio
import logging

from screenpop.connectors.registry import ConnectorSet
from screenpop.presence import Presence
from screenpop.settings import Settings
from screenpop.telephony.base import Source, SourceContext, find_source_kind

log = logging.getLogger(__name__)

RESTART_ONLY = ("server", "cache", "store", "cluster", "telephony", "smtp")


def build_sources(cfg: Settings, presence: Presence) -> dict[str, Source]:
    """One source per `[[telephony]]` entry, by name (each validates its own options)."""
    context = SourceContext(
        base_dir=cfg.base_dir,
        default_region=cfg.phone.default_region,
        online_agents=presence.online_extensions,
        variables=cfg.lookup.variables,
    )
    sources: dict[str, Source] = {}
    for entry in cfg.telephony:
        factory = find_source_kind(entry.kind, f"telephony.{entry.name}")
        sources[entry.name] = factory(entry.name, entry.options(), context)
    return sources


def restart_only_changes(old: Settings, new: Settings) -> list[str]:
    """A note (logged as a warning) for each changed table a reload does not apply."""
    notes = []
    for section in RESTART_ONLY:
        if getattr(old, section) != getattr(new, section):
            notes.append(f"[{section}] changed: takes effect after a restart")
            log.warning("reload: [%s] changed; it takes effect after a restart", section)
    return notes


async def close_later(connectors: ConnectorSet, delay_s: float) -> None:
    """Close replaced connectors once the lookups already running on them had their time."""
    try:
        await asyncio.sleep(delay_s)
    finally:
        await connectors.aclose()  # also when the daemon stops within the grace
