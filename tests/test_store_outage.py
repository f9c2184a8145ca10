"""The store goes away under traffic (PostgreSQL cut off, a full disk under SQLite): pops keep
flowing, every call-log row and every note is written once the store is back, notes answer 202
while queued and 201 when stored, and a restart in between loses nothing."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from screenpop.daemon import Daemon
from tests.fakes.faults import EmitTraffic, Inbox, readiness
from tests.fakes.postgres import cuttable_store
from tests.harness import agent_tab, make_settings, running, until

TERMINAL = {"ended", "abandoned", "missed", "answered_elsewhere"}


async def post_note(port: int, call_id: str, text: str, note_id: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/api/calls/{call_id}/notes",
            json={"disposition": "resolved", "text": text, "id": note_id},
            headers={"Authorization": "Bearer ta"},
        ) as response,
    ):
        return response.status, await response.json()


async def all_over(inbox: Inbox, traffic: EmitTraffic) -> None:
    """Every call of `traffic` has ended on the agent's screen."""
    await inbox.until(
        lambda: all(c in inbox.calls and inbox.calls[c].over for c in traffic.started),
        "every call ended",
    )


async def notes_in_store(daemon: Daemon, call_ids: list[str]) -> list[tuple[str, str]]:
    found = []
    for call_id in call_ids:
        found += [(n["id"], n["text"]) for n in await daemon.store.notes_for(call_id)]
    return sorted(found)


async def test_postgresql_cut_off_under_traffic_loses_no_call_and_no_note(
    tmp_path: Path, postgres_url: str
) -> None:
    async with (
        cuttable_store(postgres_url, tmp_path / "outbox.db") as (proxy, store),
        running(make_settings(tmp_path, store=store)) as (daemon, port),
        agent_tab(port, "ta") as tab,
        Inbox(tab) as inbox,
    ):
        async with EmitTraffic(daemon.emit, "1001", every_s=0.05, hold_s=0.4) as traffic:
            await until(lambda: bool(traffic.started), "the first call")
            first = traffic.started[0]
            await inbox.popped(first)
            status, stored = await post_note(port, first, "before the cut", "n-before")
            assert (status, stored["synced"]) == (201, True)

            await proxy.cut()
            during = len(traffic.started)
            await inbox.until(lambda: len(traffic.started) > during + 20, "20 calls more")
            for call_id in traffic.started[during : during + 20]:
                await inbox.popped(call_id)  # pops flow without the store
            ringing = traffic.started[-1]
            await inbox.popped(ringing)
            status, queued = await post_note(port, ringing, "during the cut", "n-during")
            assert (status, queued["synced"]) == (202, False)
            status, again = await post_note(port, ringing, "during the cut", "n-during")
            assert (status, again["id"]) == (202, "n-during")  # a retry: still one note
            code, ready = await readiness(port)
            assert code == 503 and not ready["checks"]["store"]["ok"]
            assert "outbox" in ready["checks"]["store"]["detail"]

            await proxy.restore()
            await until(lambda: daemon.writer.store_up, "the store back")
            after = len(traffic.started)
            await inbox.until(lambda: len(traffic.started) > after + 5, "5 calls more")
        await all_over(inbox, traffic)
        await until(lambda: daemon.writer.waiting == 0, "the outbox written")
        logged = {c.call_id: c for c in await daemon.store.calls_since(0)}
        assert set(logged) == set(traffic.started)  # no call vanished from the log
        assert {c.state for c in logged.values()} <= TERMINAL  # none "answered" forever
        assert await notes_in_store(daemon, [first, ringing]) == [
            ("n-before", "before the cut"),
            ("n-during", "during the cut"),
        ]
        code, ready = await readiness(port)
        assert code == 200, ready


async def test_writes_queued_at_shutdown_are_written_after_the_restart(
    tmp_path: Path, postgres_url: str
) -> None:
    async with cuttable_store(postgres_url, tmp_path / "outbox.db") as (proxy, store):
        settings = make_settings(tmp_path, store=store)
        async with (
            running(settings) as (daemon, port),
            agent_tab(port, "ta") as tab,
            Inbox(tab) as inbox,
        ):
            await proxy.cut()
            async with EmitTraffic(daemon.emit, "1001", every_s=0.05, hold_s=0.2) as traffic:
                await inbox.until(lambda: len(traffic.started) >= 10, "10 calls")
                noted = traffic.started[-1]
                await inbox.popped(noted)
                status, _ = await post_note(port, noted, "kept", "n-kept")
                assert status == 202
            await all_over(inbox, traffic)
            await until(lambda: daemon.writer.waiting == len(daemon.writer.outbox), "all queued")
        # the daemon has stopped with the store away; the outbox file kept the writes
        await proxy.restore()
        async with running(settings) as (daemon, _port):
            await until(lambda: daemon.writer.waiting == 0, "the outbox written after restart")
            logged = await daemon.store.calls_since(0)
            assert {c.call_id for c in logged} == set(traffic.started)
            assert {c.state for c in logged} <= TERMINAL
            assert await notes_in_store(daemon, [noted]) == [("n-kept", "kept")]


# -- a full disk under the SQLite store ------------------------------------------------------------


@contextlib.contextmanager
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs: a disk that can really fill up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a small tmpfs for the full-disk test: {done.stderr}")
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Fill the disk of `folder` to the last byte; returns the file to delete to free it."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:  # ENOSPC: full
        pass
    finally:
        os.close(fd)
    return filler


async def test_a_full_disk_under_the_sqlite_store_loses_nothing(tmp_path: Path) -> None:
    with small_disk(tmp_path) as disk:
        store = {
            "url": f"sqlite+aiosqlite:///{disk / 'calls.db'}",
            "outbox_path": str(tmp_path / "outbox.db"),  # on another disk
        }
        async with (
            running(make_settings(tmp_path, store=store)) as (daemon, port),
            agent_tab(port, "ta") as tab,
            Inbox(tab) as inbox,
        ):
            filler = fill(disk)
            async with EmitTraffic(daemon.emit, "1001", every_s=0.05, hold_s=0.2) as traffic:
                await until(lambda: not daemon.writer.store_up, "the store failing")
                full = len(traffic.started)
                await inbox.until(lambda: len(traffic.started) > full + 10, "10 calls more")
                noted = traffic.started[-1]
                await inbox.popped(noted)  # pops go on with the disk full
                status, note = await post_note(port, noted, "disk full", "n-full")
                assert (status, note["synced"]) == (202, False)
                code, ready = await readiness(port)
                assert code == 503 and "full" in ready["checks"]["store"]["detail"]
                filler.unlink()
                await until(lambda: daemon.writer.store_up, "the store writing again")
            await all_over(inbox, traffic)
            await until(lambda: daemon.writer.waiting == 0, "the outbox written")
            logged = {c.call_id for c in await daemon.store.calls_since(0)}
            assert logged == set(traffic.started)
            assert await notes_in_store(daemon, [noted]) == [("n-full", "disk full")]


async def test_the_daemon_starts_with_the_store_away_and_catches_up(
    tmp_path: Path, postgres_url: str
) -> None:
    async with cuttable_store(postgres_url, tmp_path / "outbox.db") as (proxy, store):
        await proxy.cut()  # down before the daemon starts: no tables yet either
        async with (
            running(make_settings(tmp_path, store=store)) as (daemon, port),
            agent_tab(port, "ta") as tab,
            Inbox(tab) as inbox,
        ):
            code, ready = await readiness(port)
            assert code == 503 and not ready["checks"]["store"]["ok"]
            async with EmitTraffic(daemon.emit, "1001", every_s=0.05, hold_s=0.2) as traffic:
                await inbox.until(lambda: len(traffic.started) >= 5, "5 calls")
                noted = traffic.started[-1]
                await inbox.popped(noted)  # pops without a store
                status, _ = await post_note(port, noted, "no store yet", "n-start")
                assert status == 202
                await proxy.restore()
                await until(lambda: daemon.writer.store_up, "the store back")
            await all_over(inbox, traffic)
            await until(lambda: daemon.writer.waiting == 0, "the outbox written")
            logged = await daemon.store.calls_since(0)
            assert {c.call_id for c in logged} == set(traffic.started)
            assert await notes_in_store(daemon, [noted]) == [("n-start", "no store yet")]
            code, ready = await readiness(port)
            assert code == 200, ready
