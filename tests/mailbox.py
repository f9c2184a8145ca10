"""A real SMTP server on loopback (aiosmtpd, on the test's own event loop) that keeps what it
receives, for the report tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP


class Mailbox:
    """What the server accepted: each mail as parsed, with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.refuse = False  # answer 554 to the next mails
        self._arrived = asyncio.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "554 refused by the test"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        async with self._arrived:
            self.messages.append(parsed)
            self.recipients.append(list(envelope.rcpt_tos))
            self._arrived.notify_all()
        return "250 OK"

    async def wait_for(self, count: int, timeout_s: float = 20.0) -> None:
        """Return once `count` mails have arrived; TimeoutError after `timeout_s`."""
        async with asyncio.timeout(timeout_s), self._arrived:
            await self._arrived.wait_for(lambda: len(self.messages) >= count)


@asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[Mailbox, int]]:
    """A mailbox and the loopback port its SMTP server listens on."""
    box = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(box, loop=loop), "127.0.0.1", 0)
    try:
        yield box, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
