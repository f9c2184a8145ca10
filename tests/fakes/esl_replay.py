"""A FreeSWITCH on 127.0.0.1 that plays back a real capture (tests/fixtures/esl) to a client.

Each connection walks the capture's blocks: `recv` frames are written as they were captured
(in writes of random size, so frames arrive cut anywhere), a `sent` block waits until the client
sends that command, `closed` closes the socket. Commands the capture does not have (the resync
screenpop sends after subscribing, keep-alives) get a plain answer: no channels, no queues,
`+OK`. Once the capture's client says `exit` the playback stops and the connection stays open.
"""

from __future__ import annotations

import asyncio
import random
from types import TracebackType

from screenpop.telephony.freeswitch.protocol import encode_frame, parse_command
from screenpop.telephony.recording import Block


class ReplayFreeSwitch:
    """`async with ReplayFreeSwitch(blocks) as fs:` serves the capture on `fs.port`."""

    def __init__(self, blocks: list[Block], seed: int = 0) -> None:
        self.blocks = blocks
        self.port = 0
        self.commands: list[str] = []  # every command received, across connections
        self.connections = 0
        self.played = asyncio.Event()  # set when a connection reached the capture's end
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ReplayFreeSwitch:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            if await self._play(reader, writer):
                while True:  # after the capture: answer whatever else the client asks
                    await self._next_command(reader, writer, expect=None)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _play(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Play the blocks; True when the connection should stay open afterwards."""
        for block in self.blocks:
            if block.kind == "recv":
                await self._write_cut(writer, block.data)
            elif block.kind == "sent":
                line, _ = parse_command(block.data)
                if line == "exit":
                    break
                await self._next_command(reader, writer, expect=line)
            else:
                self.played.set()
                return False
        self.played.set()
        return True

    async def _write_cut(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        pos = 0
        while pos < len(data):
            step = self._rng.randint(1, 700)
            writer.write(data[pos : pos + step])
            pos += step
            await writer.drain()

    async def _next_command(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, expect: str | None
    ) -> None:
        """Read commands until `expect` (answering the others); None: read and answer one."""
        while True:
            line, _ = parse_command(await reader.readuntil(b"\n\n"))
            self.commands.append(line)
            if line == expect:
                return
            writer.write(_fallback(line))
            await writer.drain()
            if expect is None:
                return


def _fallback(line: str) -> bytes:
    if line.startswith("api "):
        body = '{"row_count":0}' if line == "api show channels as json" else "+OK\n"
        return encode_frame({"Content-Type": "api/response"}, body.encode())
    return encode_frame({"Content-Type": "command/reply", "Reply-Text": "+OK"})
