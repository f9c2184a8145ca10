"""Large frames compressed once for every tab: each tab's payload, inflated as a browser does
(RFC 7692: add 00 00 ff ff, raw inflate), is exactly that tab's frame with its own seq."""

from __future__ import annotations

import json
import random
import zlib

import pytest

from agent_ui.deflate import SHARED_MIN_BYTES, SharedDeflate
from screenpop.delivery.wire import Encoded, Frame, with_seq

TRAILER = b"\x00\x00\xff\xff"


def board(agents: int) -> bytes:
    rng = random.Random(agents)
    rows = [
        {"id": f"agent{n}", "name": f"Agent {n}", "state": rng.choice(["idle", "talking"])}
        for n in range(agents)
    ]
    return Encoded.of({"type": "board", "board": {"agents": rows}}).body


def inflate(payload: bytes, inflater: zlib._Decompress | None = None) -> bytes:
    inflater = inflater or zlib.decompressobj(-zlib.MAX_WBITS)
    return inflater.decompress(payload + TRAILER)


@pytest.mark.parametrize("agents", [10, 1000, 3000])
@pytest.mark.parametrize("wbits", [9, 12, 15])
def test_every_tab_inflates_its_own_frame(agents: int, wbits: int) -> None:
    body, shared = board(agents), SharedDeflate()
    assert len(body) >= SHARED_MIN_BYTES
    for seq in (1, 9, 10, 123_456):
        frame = Frame(seq, "board", body)
        payload = shared.payload(frame, wbits)
        assert inflate(payload) == with_seq(body, seq)
        assert json.loads(inflate(payload))["seq"] == seq
    assert shared.deflated == 1  # once for the four tabs
    assert len(payload) < len(body) / 3  # and it is compressed


def test_an_inflater_that_keeps_its_window_between_messages_reads_each_one() -> None:
    shared, inflater = SharedDeflate(), zlib.decompressobj(-zlib.MAX_WBITS)
    bodies = [board(400), board(401), board(400)]
    for seq, body in enumerate(bodies, start=1):
        assert inflate(shared.payload(Frame(seq, "board", body), 15), inflater) == with_seq(
            body, seq
        )


def test_a_new_body_is_deflated_anew_and_only_the_latest_are_kept() -> None:
    shared = SharedDeflate(kept=2)
    bodies = [board(50 + n) for n in range(3)]
    for body in bodies:
        shared.payload(Frame(1, "board", body), 15)
    assert shared.deflated == 3
    shared.payload(Frame(2, "board", bodies[2]), 15)  # kept
    assert shared.deflated == 3
    shared.payload(Frame(2, "board", bodies[0]), 15)  # dropped as the oldest
    assert shared.deflated == 4
    shared.payload(Frame(3, "board", bodies[2]), 12)  # another window is another deflate
    assert shared.deflated == 5


def test_an_empty_object_gets_its_seq_too() -> None:
    assert inflate(SharedDeflate().payload(Frame(7, "x", b"{}"), 15)) == b'{"seq":7}'
