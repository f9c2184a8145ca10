"""The `DeliveryLog` seam: per-agent sequence numbers and the bounded replay buffer.

The hub numbers every message through a log. In-process today (:class:`MemoryDeliveryLog`); a
log shared by several nodes (Redis) implements the same protocol, so an agent whose node died can
resume on another one with its seq running on without a gap.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

Message = dict[str, Any]


class DeliveryLog(Protocol):
    """Numbers each agent's messages 1, 2, 3... and keeps the latest ones for `resume`.

    The hub calls :meth:`append` in the order it publishes; an implementation must number in the
    order the calls were made (a single connection to a shared store keeps that order).
    """

    async def append(self, agent_id: str, message: Message) -> Message:
        """Number `message` for `agent_id` and keep it for replay; returns the numbered copy."""
        ...

    async def last_seq(self, agent_id: str) -> int:
        """The seq of the agent's latest message (0 before the first)."""
        ...

    async def since(self, agent_id: str, last_seq: int) -> list[Message] | None:
        """Messages after `last_seq`, oldest first, or None when some already left the buffer."""
        ...


class MemoryDeliveryLog:
    """The in-process log: a counter and a bounded deque per agent."""

    def __init__(self, buffer_size: int = 512) -> None:
        self._buffer_size = buffer_size
        self._seq: dict[str, int] = {}
        self._buffers: dict[str, deque[Message]] = {}

    async def append(self, agent_id: str, message: Message) -> Message:
        seq = self._seq.get(agent_id, 0) + 1
        self._seq[agent_id] = seq
        numbered = {**message, "seq": seq}
        buf = self._buffers.get(agent_id)
        if buf is None:
            buf = self._buffers[agent_id] = deque(maxlen=self._buffer_size)
        buf.append(numbered)
        return numbered

    async def last_seq(self, agent_id: str) -> int:
        return self._seq.get(agent_id, 0)

    async def since(self, agent_id: str, last_seq: int) -> list[Message] | None:
        current = self._seq.get(agent_id, 0)
        if last_seq >= current:
            return []
        buf = self._buffers.get(agent_id, deque())
        if not buf or buf[0]["seq"] > last_seq + 1:
            return None
        return [m for m in buf if m["seq"] > last_seq]
