"""The daemon runs on the board and replay limits its config gives, and a call the PBX no longer
lists after a reconnect leaves the board."""

from __future__ import annotations

from pathlib import Path

from screenpop.delivery.outbound import CardMessage
from screenpop.telephony.asterisk.mapper import AmiCallMapper
from screenpop.telephony.asterisk.protocol import Message
from tests.harness import make_settings, running, until


async def test_the_configured_limits_are_the_ones_the_daemon_runs_on(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        server={"port": 0, "public_origin": "http://127.0.0.1", "replay_buffer_bytes": 8192},
        board={"max_call_age_s": 90},
    )
    async with running(settings) as (daemon, _):
        assert daemon.board.max_call_age_s == 90
        big = {"blob": "x" * 2000}
        for n in range(10):
            await daemon.hub.publish("alice", CardMessage(f"c{n}", big))
        tab = daemon.hub.subscribe("alice")
        # 10 messages of ~2 KB do not fit in 8 KiB: a resume from the start is past the buffer
        assert not await daemon.hub.resume(tab, last_seq=0)
        assert await daemon.hub.resume(tab, last_seq=9)


async def test_a_call_gone_from_the_pbx_after_a_reconnect_leaves_the_board(
    tmp_path: Path,
) -> None:
    mapper = AmiCallMapper("pbx")
    joined = Message(
        (
            ("Event", "QueueCallerJoin"),
            ("Channel", "PJSIP/carrier-00000001"),
            ("Uniqueid", "1795.1"),
            ("Linkedid", "1795.1"),
            ("CallerIDNum", "+12125551234"),
            ("Queue", "support"),
        )
    )
    async with running(make_settings(tmp_path)) as (daemon, _):
        for event in mapper.feed(joined):
            daemon.emit(event)
        await until(lambda: "1795.1" in daemon.board.calls, "the queued call on the board")
        for event in mapper.resync_channels([]):  # reconnected: CoreShowChannels lists nothing
            daemon.emit(event)
        await until(lambda: "1795.1" not in daemon.board.calls, "the call off the board")
