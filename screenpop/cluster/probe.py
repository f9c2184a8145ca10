"""`screenpop check`'s look at the cluster: Redis answers, which nodes are alive, and which node
holds each PBX link (a one-off connection; nothing is written)."""

from __future__ import annotations

import asyncio

from screenpop.cluster.nodes import Heartbeat
from screenpop.cluster.redis import ClusterDown, ClusterRedis
from screenpop.keys import lease_key
from screenpop.settings import Settings

CHECK_TIMEOUT_S = 2.0


async def probe(settings: Settings) -> tuple[bool, str, str]:
    """(ok, where, what was found): ok when Redis answers and every AMI/ESL link has a holder
    or no node is alive yet to hold it."""
    cfg = settings.cluster
    redis = ClusterRedis(cfg.url, cfg.key_prefix, CHECK_TIMEOUT_S)
    links = [s.name for s in settings.telephony if s.kind != "webhook"]
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S * 3):
            alive = await Heartbeat(redis, settings.node_id(), cfg.lease_s).alive()
            holders = await _holders(redis, links)
    except (ClusterDown, TimeoutError) as exc:
        return False, redis.where, str(exc) or "Redis did not answer in time"
    finally:
        await redis.aclose()
    parts = [f"{len(alive)} nodes alive" + (f": {', '.join(alive)}" if alive else "")]
    parts += [f"{name} held by {holder or 'nobody'}" for name, holder in holders.items()]
    unheld = alive and any(holder is None for holder in holders.values())
    return not unheld, redis.where, "; ".join(parts)


async def _holders(redis: ClusterRedis, links: list[str]) -> dict[str, str | None]:
    if not links:
        return {}
    raws = await redis.call(redis.client.mget, [redis.key(lease_key(n)) for n in links])
    return {
        n: r.decode() if isinstance(r, bytes) else None for n, r in zip(links, raws, strict=True)
    }
