"""One caller's traces in the cluster's Redis (`[cluster]`), for `screenpop forget`: the pops
and card updates about them kept in agents' replay streams, and any lookup claim on their
number. An agent whose stream lost entries this way resumes by having their active calls popped
again (a replay must run on without a gap), as after a long disconnection."""

from __future__ import annotations

from screenpop.cache import glob_escape
from screenpop.cluster.redis import ClusterRedis
from screenpop.keys import SECTION, lookup_key, replay_bytes_key, replay_key


async def erase_from_cluster(redis: ClusterRedis, e164: str, *, dry_run: bool) -> dict[str, int]:
    """Delete the replay-stream entries naming `e164` and its lookup claims: how many of each
    (with `dry_run`, how many there are, nothing deleted). ClusterDown when Redis fails."""
    client = redis.client
    streams = await redis.call(_scan, redis, glob_escape(redis.key(replay_key(""))) + "*")
    needle = e164.encode()
    entries = 0
    for stream in streams:
        found = await redis.call(client.xrange, stream)
        doomed = [
            (entry_id, len(fields[b"b"])) for entry_id, fields in found if needle in fields[b"b"]
        ]
        entries += len(doomed)
        if doomed and not dry_run:
            agent_id = stream[len(redis.key(replay_key(""))) :]
            await redis.call(client.xdel, stream, *(entry_id for entry_id, _ in doomed))
            size = redis.key(replay_bytes_key(agent_id))
            await redis.call(client.decrby, size, sum(length for _, length in doomed))
    claim = glob_escape(redis.key(lookup_key(SECTION))) + "*:" + glob_escape(e164) + "*"
    claims = await redis.call(_scan, redis, claim)
    if claims and not dry_run:
        await redis.call(client.delete, *claims)
    return {"replayed pops and cards": entries, "lookup claims": len(claims)}


async def _scan(redis: ClusterRedis, pattern: str) -> list[str]:
    return [
        key.decode() if isinstance(key, bytes) else str(key)
        async for key in redis.client.scan_iter(match=pattern, count=500)
    ]
