"""A PBX link held by one node at a time: a lease in Redis, and the source wrapper that runs the
link only while this node holds it.

The lease is a key holding the holder's node id that expires after `lease_s`: taken with
``SET NX PX``, renewed every third of it by a compare-and-set script (only while the key still
names this node), deleted the same way on a clean stop so a survivor need not wait it out. A
node that finds the lease free takes it, connects, and the link's own resync tells it the calls
in progress. While Redis does not answer, a holder keeps its link (it cannot know whether
anybody else could take over, and a link nobody holds pops nothing) and a standby stays one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from screenpop.cluster.redis import ClusterDown, ClusterRedis
from screenpop.keys import lease_key
from screenpop.telephony.base import Dialer, Emit, Pauser, Source, SourceStatus

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    """One link's lease for this node."""

    def __init__(self, redis: ClusterRedis, source: str, node_id: str, lease_s: float) -> None:
        self.source = source
        self.node_id = node_id
        self.lease_s = lease_s
        self._redis = redis
        self._key = redis.key(lease_key(source))
        self._ms = max(1, round(lease_s * 1000))
        self._renew = redis.script(_RENEW)
        self._release = redis.script(_RELEASE)

    async def acquire(self) -> str | None:
        """Take the lease if it is free; the holder's node id afterwards (None: nobody)."""
        client = self._redis.client
        if await self._redis.call(client.set, self._key, self.node_id, nx=True, px=self._ms):
            return self.node_id
        holder = await self._redis.call(client.get, self._key)
        return holder.decode() if isinstance(holder, bytes) else None

    async def renew(self) -> bool:
        """Extend the lease while it is still this node's; False when it is not any more."""
        return bool(await self._redis.call(self._renew, [self._key], [self.node_id, self._ms]))

    async def release(self) -> None:
        """Give the lease up, if it is still this node's."""
        await self._redis.call(self._release, [self._key], [self.node_id])


class LeasedSource:
    """A connection-holding source run only while this node holds its lease.

    On a standby node :attr:`status` says who holds the link; on the holder it is the link's own.
    :attr:`takeovers` counts the times this node took the link over from another node.
    """

    def __init__(self, inner: Source, lease: Lease) -> None:
        self.name = inner.name
        self.inner = inner
        self.lease = lease
        self.holding = False
        self.holder: str | None = None  # the holder as last seen in Redis
        self.takeovers = 0
        self._standby = SourceStatus(detail="standby: waiting for the lease")
        self._renew_s = lease.lease_s / 3
        self._poll_s = min(1.0, lease.lease_s / 3)

    @property
    def status(self) -> SourceStatus:
        return self.inner.status if self.holding else self._standby

    @status.setter
    def status(self, status: SourceStatus) -> None:
        self._standby = status

    async def check(self) -> SourceStatus:
        return await self.inner.check()

    async def run(self, emit: Emit) -> None:
        """Wait for the lease, run the link while holding it, and again after losing it."""
        try:
            while True:
                if await self._take():
                    await self._hold(emit)
                else:
                    await asyncio.sleep(self._poll_s)
        finally:
            if self.holder == self.lease.node_id:  # (the release only deletes our own lease)
                self.holder = None
                with contextlib.suppress(ClusterDown):
                    await self.lease.release()
                log.info("cluster: %s released by %s", self.name, self.lease.node_id)

    async def _take(self) -> bool:
        try:
            holder = await self.lease.acquire()
        except ClusterDown:
            self._standby.set(connected=False, logged_in=False, detail="standby: Redis is away")
            return False
        me = self.lease.node_id
        if holder == me:
            if self.holder is not None and self.holder != me:
                self.takeovers += 1
                log.warning("cluster: %s taken over by %s from %s", self.name, me, self.holder)
            else:
                log.info("cluster: %s held by %s", self.name, me)
            self.holder = me
            return True
        self.holder = holder
        detail = f"standby: held by {holder}" if holder else "standby: waiting for the lease"
        self._standby.set(connected=False, logged_in=False, detail=detail)
        return False

    async def _hold(self, emit: Emit) -> None:
        """Run the link until the lease is lost (the link stops) or this task is cancelled."""
        self.holding = True
        link = asyncio.create_task(self.inner.run(emit), name=f"source {self.name}")
        try:
            while await self._still_ours():
                done, _ = await asyncio.wait({link}, timeout=self._renew_s)
                if done:
                    break
        finally:
            link.cancel()
            await asyncio.gather(link, return_exceptions=True)
            self.holding = False

    async def _still_ours(self) -> bool:
        try:
            if await self.lease.renew() or await self.lease.acquire() == self.lease.node_id:
                return True  # renewed, or taken again after Redis lost the key (a restart)
        except ClusterDown:
            return True  # nobody can take it while Redis is away: keep popping what we see
        log.warning(
            "cluster: %s lost its lease on %s; the link stops here", self.name, self.lease.node_id
        )
        return False


class LeasedDialer(LeasedSource):
    """A leased source whose PBX can also dial: dialling works from any node (the link opens a
    short session of its own when this node does not hold the live one)."""

    def __init__(self, inner: Source, lease: Lease, dial: Dialer) -> None:
        super().__init__(inner, lease)
        self._dial = dial

    async def originate(self, extension: str, number: str, agent_id: str) -> str:
        return await self._dial.originate(extension, number, agent_id)


class LeasedPauser(LeasedSource):
    """A leased source whose PBX can pause agents: pausing works from any node, as dialling
    does; the PBX's confirmation reaches the node holding the link, which tells the board and
    the agent's tabs (both shared)."""

    def __init__(self, inner: Source, lease: Lease, pauser: Pauser) -> None:
        super().__init__(inner, lease)
        self._pauser = pauser

    async def pause(self, extensions: Sequence[str], paused: bool, reason: str | None) -> None:
        await self._pauser.pause(extensions, paused, reason)


class LeasedDialerPauser(LeasedDialer):
    """A leased source that can both dial and pause (Asterisk, FreeSWITCH)."""

    def __init__(self, inner: Source, lease: Lease, dial: Dialer, pauser: Pauser) -> None:
        super().__init__(inner, lease, dial)
        self._pauser = pauser

    async def pause(self, extensions: Sequence[str], paused: bool, reason: str | None) -> None:
        await self._pauser.pause(extensions, paused, reason)


def leased(inner: Source, make_lease: Callable[[str], Lease]) -> LeasedSource:
    """Wrap `inner` in its lease; a Dialer stays a Dialer, a Pauser a Pauser."""
    lease = make_lease(inner.name)
    pauser = inner if isinstance(inner, Pauser) else None
    if isinstance(inner, Dialer):
        if pauser is not None:
            return LeasedDialerPauser(inner, lease, inner, pauser)
        return LeasedDialer(inner, lease, inner)
    if pauser is not None:
        return LeasedPauser(inner, lease, pauser)
    return LeasedSource(inner, lease)
