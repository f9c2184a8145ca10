"""Daemons as processes of their own for the cluster tests: one config file for every node (the
way an operator runs them), the port and node id set per node through the environment, and
SIGKILL for the node that must die without a goodbye."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.faults import readiness

START_S = 60.0


def cluster_config(
    path: Path,
    *,
    redis_url: str,
    prefix: str,
    store_url: str,
    ami_port: int,
    lease_s: float,
    extra: str = "",
) -> Path:
    """Write the nodes' shared config: one AMI link, Alice and Bob, Sam who supervises, no
    connectors."""
    path.write_text(
        f"""
[server]
host = "127.0.0.1"
public_origin = "http://127.0.0.1"

[store]
url = "{store_url}"

[cluster]
url = "{redis_url}"
lease_s = {lease_s}
key_prefix = "{prefix}"

[[telephony]]
name = "pbx"
kind = "ami"
host = "127.0.0.1"
port = {ami_port}
username = "screenpop"
secret = "s3cret"
backoff_min_s = 0.1
backoff_max_s = 0.5

[[agents]]
id = "alice"
name = "Alice"
extensions = ["PJSIP/1001"]
token = "ta"

[[agents]]
id = "bob"
name = "Bob"
extensions = ["PJSIP/1002"]
token = "tb"

[[agents]]
id = "sam"
name = "Sam"
role = "supervisor"
token = "ts"
"""
        + extra,
        encoding="utf-8",
    )
    return path


class Node:
    """One `screenpop run` process: started by :meth:`start`, ended by :meth:`kill` or
    :meth:`stop`."""

    def __init__(self, config: Path, node_id: str, port: int) -> None:
        self.config, self.node_id, self.port = config, node_id, port
        self.log = config.parent / f"{node_id}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            **os.environ,
            "SCREENPOP__SERVER__PORT": str(self.port),
            "SCREENPOP__CLUSTER__NODE_ID": self.node_id,
        }
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "screenpop.cli",
                "run",
                "--config",
                str(self.config),
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
                cwd=self.config.parent,
            )
        deadline = time.monotonic() + START_S
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.proc.returncode is None, self.log.read_text()[-3000:]
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                assert time.monotonic() < deadline, f"{self.node_id} never answered"
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL: no lease released, no heartbeat removed, every socket cut."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    async def cluster(self) -> dict[str, Any]:
        """The `/readyz` body's cluster rows: `cluster` and `telephony.pbx`."""
        _, body = await readiness(self.port)
        checks: dict[str, Any] = body["checks"]
        return {"cluster": checks.get("cluster", {}), "pbx": checks.get("telephony.pbx", {})}

    async def until_cluster(self, condition: Any, what: str, wait: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + wait
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError, KeyError):
                last = await self.cluster()
                if condition(last):
                    return last
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.node_id}: never {what}: {last}")
