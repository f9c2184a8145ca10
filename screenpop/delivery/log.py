"""The `DeliveryLog` seam: per-agent sequence numbers and the bounded replay buffer.

The hub numbers every message through a log. In-process today (:class:`MemoryDeliveryLog`); a
log shared by several nodes (Redis) implements the same protocol, so an agent whose node died can
resume on another one with its seq running on without a gap. Messages reach the log already
encoded (:class:`~screenpop.delivery.wire.Encoded`): a log keeps the bytes it is given (in memory
the very same object every other agent's copy shares) and never encodes again.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from screenpop.delivery.wire import Encoded, Frame, Message

__all__ = ["DEFAULT_BUFFER_BYTES", "DeliveryLog", "Frame", "MemoryDeliveryLog", "Message"]


class DeliveryLog(Protocol):
    """Numbers each agent's messages 1, 2, 3... and keeps the latest ones for `resume`.

    The hub calls :meth:`append` in the order it publishes; an implementation must number in the
    order the calls were made (a single connection to a shared store keeps that order).
    """

    async def append(self, agent_id: str, message: Encoded) -> Frame:
        """Number `message` for `agent_id` and keep it for replay; returns the numbered frame."""
        ...

    async def last_seq(self, agent_id: str) -> int:
        """The seq of the agent's latest message (0 before the first)."""
        ...

    async def since(self, agent_id: str, last_seq: int) -> list[Frame] | None:
        """Frames after `last_seq`, oldest first, or None when some already left the buffer."""
        ...


DEFAULT_BUFFER_BYTES = 2 * 1024 * 1024


class MemoryDeliveryLog:
    """The in-process log: a counter and a bounded buffer of frames per agent.

    The buffer keeps at most `buffer_size` messages and `buffer_bytes` bytes of their JSON, the
    oldest leaving first (a message bigger than the whole budget is numbered but not kept): a
    tab resuming past what is left gets every active call popped again instead.
    """

    def __init__(self, buffer_size: int = 512, buffer_bytes: int = DEFAULT_BUFFER_BYTES) -> None:
        self._buffer_size = buffer_size
        self._buffer_bytes = buffer_bytes
        self._seq: dict[str, int] = {}
        self._buffers: dict[str, deque[Frame]] = {}
        self._bytes: dict[str, int] = {}

    async def append(self, agent_id: str, message: Encoded) -> Frame:
        seq = self._seq.get(agent_id, 0) + 1
        self._seq[agent_id] = seq
        frame = Frame(seq, message.type, message.body)
        buf = self._buffers.setdefault(agent_id, deque())
        buf.append(frame)
        total = self._bytes.get(agent_id, 0) + frame.size
        while buf and (len(buf) > self._buffer_size or total > self._buffer_bytes):
            total -= buf.popleft().size
        self._bytes[agent_id] = total
        return frame

    def buffered_bytes(self, agent_id: str) -> int:
        """Bytes (of JSON) the agent's replay buffer holds now."""
        return self._bytes.get(agent_id, 0)

    async def last_seq(self, agent_id: str) -> int:
        return self._seq.get(agent_id, 0)

    async def since(self, agent_id: str, last_seq: int) -> list[Frame] | None:
        current = self._seq.get(agent_id, 0)
        if last_seq >= current:
            return []
        buf = self._buffers.get(agent_id, deque())
        if not buf or buf[0].seq > last_seq + 1:
            return None
        return [f for f in buf if f.seq > last_seq]
