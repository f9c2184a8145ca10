"""The `DeliveryLog` every node shares: per-agent seq and the replay buffer in Redis.

One Lua script numbers a message, keeps it in the agent's stream (entry id ``<seq>-1``, the
oldest leaving first once the stream passes `buffer_size` messages or `buffer_bytes` bytes of
JSON; a message bigger than the whole budget is numbered but not kept) and publishes it on the
`deliver` channel, all at once, so every node sees an agent's messages in seq order and an agent
resuming on another node finds them. What a survivor's resync repeats after a takeover is not
numbered again: a pop for a call the agent already had popped (and not seen end), or the same
call state twice in a row (so of a call answered while its link changed node, the agent sees
the pop and then its end, not the answer in between).

When Redis does not answer, messages are numbered here, on from the highest seq this node has
seen for the agent, and handed straight to this node's tabs (:attr:`deliver`), so the node keeps
popping what it sees; once Redis answers its seq is raised to at least that.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable

from screenpop.cluster.redis import ClusterDown, ClusterRedis
from screenpop.delivery.wire import Encoded, Frame, decode
from screenpop.keys import (
    DELIVER_CHANNEL,
    last_kind_key,
    replay_bytes_key,
    replay_key,
    seq_key,
)

KEEP_S = 24 * 3600  # an agent's seq, stream and call kinds live this long after its last message
TERMINAL = frozenset({"ended", "abandoned", "missed", "answered_elsewhere", "transferred"})

_APPEND = """
local sig = ARGV[4]
if sig ~= '' then
  local prev = redis.call('HGET', KEYS[4], ARGV[11])
  if prev then
    local bar = string.find(prev, '|', 1, true)
    if sig == 'pop' or string.sub(prev, 1, bar - 1) == sig then
      return {0, tonumber(string.sub(prev, bar + 1))}
    end
  end
end
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if seq == 0 then
  local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
  if newest then seq = tonumber(string.match(newest[1], '^(%d+)')) end
end
local floor = tonumber(ARGV[5])
if seq < floor then seq = floor end
seq = seq + 1
redis.call('SET', KEYS[1], seq, 'EX', ARGV[9])
local body = ARGV[1]
local size = string.len(body)
local maxlen = tonumber(ARGV[2])
local maxbytes = tonumber(ARGV[3])
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
if size <= maxbytes then
  redis.call('XADD', KEYS[2], seq .. '-1', 't', ARGV[12], 'b', body)
  total = total + size
end
local count = redis.call('XLEN', KEYS[2])
while count > 0 and (count > maxlen or total > maxbytes) do
  local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
  redis.call('XDEL', KEYS[2], oldest[1])
  total = total - string.len(oldest[2][4])
  count = count - 1
end
if count == 0 then total = 0 end
redis.call('SET', KEYS[3], total, 'EX', ARGV[9])
if count > 0 then redis.call('EXPIRE', KEYS[2], ARGV[9]) end
if sig ~= '' then
  redis.call('HSET', KEYS[4], ARGV[11], sig .. '|' .. seq)
  redis.call('EXPIRE', KEYS[4], ARGV[9])
elseif ARGV[10] == '1' then
  redis.call('HDEL', KEYS[4], ARGV[11])
end
local note = ARGV[7] .. '\\n' .. ARGV[8] .. '\\n' .. seq .. '\\n' .. ARGV[12] .. '\\n' .. body
redis.call('PUBLISH', ARGV[6], note)
return {1, seq}
"""


_RAISE = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1
"""


def signature(message: Encoded) -> tuple[str, str, bool]:
    """(call id, the kind that must not repeat, whether the call is over for the agent)."""
    if message.type not in ("pop", "call"):
        return "", "", False
    values = decode(message.body)
    call_id, state = values.get("call_id"), str(values.get("state", ""))
    if not isinstance(call_id, str):
        return "", "", False
    if message.type == "call" and state in TERMINAL:
        return call_id, "", True
    return call_id, ("pop" if message.type == "pop" else f"call:{state}"), False


class RedisDeliveryLog:
    """Implements :class:`~screenpop.delivery.log.DeliveryLog` on Redis for every node."""

    def __init__(
        self,
        redis: ClusterRedis,
        node_id: str,
        buffer_size: int = 512,
        buffer_bytes: int = 2 * 1024 * 1024,
    ) -> None:
        self.node_id = node_id
        self.relayed = False  # True while this node's channel listener is subscribed
        self.deliver: Callable[[str, Frame], None] = lambda agent_id, frame: None
        self.local_numbered = 0  # messages numbered here while Redis was away
        self._redis = redis
        self._size = buffer_size
        self._bytes = buffer_bytes
        self._append = redis.script(_APPEND)
        self._raise = redis.script(_RAISE)
        self._known: dict[str, int] = {}  # the highest seq seen per agent
        self._local: dict[str, deque[Frame]] = {}  # numbered here while Redis was away

    def observe(self, agent_id: str, seq: int) -> None:
        """A seq seen for the agent (on the channel): the local numbering never goes below."""
        if seq > self._known.get(agent_id, 0):
            self._known[agent_id] = seq

    async def append(self, agent_id: str, message: Encoded) -> Frame:
        call_id, sig, over = signature(message)
        key = self._redis.key
        keys = [
            key(seq_key(agent_id)),
            key(replay_key(agent_id)),
            key(replay_bytes_key(agent_id)),
            key(last_kind_key(agent_id)),
        ]
        args = [
            message.body,
            self._size,
            self._bytes,
            sig,
            self._known.get(agent_id, 0),
            key(DELIVER_CHANNEL),
            self.node_id,
            agent_id,
            KEEP_S,
            "1" if over else "0",
            call_id,
            message.type,
        ]
        try:
            fresh, seq = await self._redis.call(self._append, keys, args)
        except ClusterDown:
            return self._number_here(agent_id, message)
        frame = Frame(int(seq), message.type, message.body)
        if fresh:
            self.observe(agent_id, frame.seq)
            if not self.relayed:  # nobody listens on the channel for this node's tabs yet
                self.deliver(agent_id, frame)
        return frame

    def _number_here(self, agent_id: str, message: Encoded) -> Frame:
        seq = self._known.get(agent_id, 0) + 1
        self._known[agent_id] = seq
        self.local_numbered += 1
        frame = Frame(seq, message.type, message.body)
        kept = self._local.setdefault(agent_id, deque(maxlen=self._size))
        kept.append(frame)
        self.deliver(agent_id, frame)
        return frame

    async def raise_floors(self) -> None:
        """Redis answers again: raise each seq this node numbered meanwhile to what it reached,
        so no node numbers those seqs a second time. ClusterDown if Redis fails meanwhile."""
        for agent_id in list(self._local):
            floor = self._known.get(agent_id, 0)
            await self._redis.call(
                self._raise, [self._redis.key(seq_key(agent_id))], [floor, KEEP_S]
            )
            del self._local[agent_id]

    async def forget_kinds(self, agent_id: str) -> None:
        """Let the agent's next pops through even if it had them (it resumed past the buffer)."""
        with contextlib.suppress(ClusterDown):
            await self._redis.call(
                self._redis.client.delete, self._redis.key(last_kind_key(agent_id))
            )

    async def last_seq(self, agent_id: str) -> int:
        try:
            raw = await self._redis.call(self._redis.client.get, self._redis.key(seq_key(agent_id)))
        except ClusterDown:
            return self._known.get(agent_id, 0)
        seq = max(int(raw or 0), self._known.get(agent_id, 0))
        self.observe(agent_id, seq)
        return seq

    async def since(self, agent_id: str, last_seq: int) -> list[Frame] | None:
        current = await self.last_seq(agent_id)
        if last_seq >= current:
            return []
        try:
            entries = await self._redis.call(
                self._redis.client.xrange,
                self._redis.key(replay_key(agent_id)),
                f"{last_seq + 1}-0",
            )
        except ClusterDown:
            return self._since_here(agent_id, last_seq, current)
        found = [frame_of(entry_id, fields) for entry_id, fields in entries]
        return found if _runs_on(found, last_seq, current) else None

    def _since_here(self, agent_id: str, last_seq: int, current: int) -> list[Frame] | None:
        found = [f for f in self._local.get(agent_id, ()) if f.seq > last_seq]
        return found if _runs_on(found, last_seq, current) else None


def frame_of(entry_id: bytes, fields: dict[bytes, bytes]) -> Frame:
    """A stream entry (id ``<seq>-1``, fields t and b) as the frame it holds."""
    return Frame(int(entry_id.split(b"-")[0]), fields[b"t"].decode(), fields[b"b"])


def _runs_on(found: list[Frame], last_seq: int, current: int) -> bool:
    """Whether `found` is every seq from `last_seq` + 1 on, in order, to `current` at least
    (messages numbered since `current` was read may follow)."""
    seqs = [f.seq for f in found]
    return len(seqs) >= current - last_seq and seqs == list(
        range(last_seq + 1, last_seq + 1 + len(seqs))
    )
