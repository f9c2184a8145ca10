"""FreeSWITCH event data from other installations and the mod_callcenter docs (peer captures).

Read from ../shared/samples/peer (never copied here; see tests/peer.py): the expected outcomes
are the ones peer/PROVENANCE.md gives for `esl/`.
"""

from __future__ import annotations

import random
import re

import pytest

from screenpop.agents import AgentDirectory
from screenpop.call_table import CallTracker
from screenpop.calls import Pop
from screenpop.events import CallEvent, EventKind
from screenpop.settings import AgentSettings
from screenpop.telephony.freeswitch.formats import esl_stream_from
from screenpop.telephony.freeswitch.mapper import EslCallMapper
from screenpop.telephony.freeswitch.protocol import EslParser, Event, event_frame, parse_event
from tests.peer import peer_file

CGRATES = [
    "esl/cgrates_2014_channel_answer_inbound.plain",
    "esl/cgrates_2015_channel_hangup_complete.plain",
    "esl/cgrates_2018_channel_hangup_complete.plain",
]
VOIP_CREATE = "esl/voipcallcenter_fs110_channel_create_outbound.jsdump.txt"
VOIP_MEDIA = "esl/voipcallcenter_fs110_channel_progress_media_inbound.jsdump.txt"


def events_of(stream: bytes, seed: int | None = None) -> list[Event]:
    parser, frames = EslParser(), []
    rng = random.Random(seed)
    pos = 0
    while pos < len(stream):
        step = len(stream) if seed is None else rng.randint(1, 500)
        frames += parser.feed(stream[pos : pos + step])
        pos += step
    assert parser.rejected == 0 and parser.buffered == 0
    return [parse_event(f) for f in frames]


def _percent_decode(raw: bytes) -> str:
    """An independent %XX decoder (bytes, then UTF-8), to check the parser's against."""
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i : i + 1] == b"%" and re.fullmatch(rb"[0-9A-Fa-f]{2}", raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", errors="replace")


@pytest.mark.parametrize("rel", CGRATES)
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_cgrates_bodies_decode_and_a_call_never_seen_maps_to_nothing(
    rel: str, seed: int | None
) -> None:
    raw = peer_file(rel).read_bytes()
    stream = esl_stream_from(raw)
    assert stream is not None
    (event,) = events_of(stream, seed)
    expected = {}
    for line in raw.decode().splitlines():
        if line.strip():
            key, _, value = line.partition(":")
            expected[key.strip()] = _percent_decode(value.strip().encode())
    assert event.headers == expected
    assert event.get("Caller-Caller-ID-Number") == "1001"
    assert event.get("Call-Direction", "inbound") == "inbound"  # 2015/2018 bodies omit it
    assert EslCallMapper("fs1").feed(event.headers) == []


def _tracker() -> CallTracker:
    agents = [AgentSettings(id="u1002", extensions=["1002"], token="t")]
    return CallTracker(AgentDirectory(agents).match)


@pytest.mark.parametrize("seed", [None, 5])
def test_voipcallcenter_outbound_create_rings_1002_on_the_callers_call(seed: int | None) -> None:
    stream = esl_stream_from(peer_file(VOIP_CREATE).read_bytes())
    assert stream is not None
    (event,) = events_of(stream, seed)
    assert event.name == "CHANNEL_CREATE" and "variable_switch_m_sdp" not in event.headers
    assert event.get("variable_sip_gateway_name") == "kamailio_gateway"  # 1002 sits behind it
    (ringing,) = EslCallMapper("fs1").feed(event.headers)
    assert (ringing.kind, ringing.call_id, ringing.caller) == (
        EventKind.RINGING,
        "77645a4f-e691-4126-9842-54e7934d0180",
        "02473001403",
    )
    pops = [e for e in _tracker().feed(ringing) if isinstance(e, Pop)]
    assert [p.agent_id for p in pops] == ["u1002"]


def test_voipcallcenter_inbound_progress_media_pops_nobody() -> None:
    stream = esl_stream_from(peer_file(VOIP_MEDIA).read_bytes())
    assert stream is not None
    (event,) = events_of(stream)
    assert event.name == "CHANNEL_PROGRESS_MEDIA" and event.get("Call-Direction") == "inbound"
    assert EslCallMapper("fs1").feed(event.headers) == []


def _doc_events() -> dict[str, dict[str, str]]:
    """The doc's examples by sub-heading, trailing spaces dropped, re-encoded and parsed back."""
    text = peer_file("esl/mod_callcenter_doc_examples.txt").read_text()
    out: dict[str, dict[str, str]] = {}
    for chunk in text.split("\n## ")[1:]:
        title, *lines = chunk.splitlines()
        headers = dict(
            (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines if line)
        )
        (event,) = events_of(event_frame(headers))
        assert event.headers == headers  # encode then parse is the identity
        out[title.strip()] = event.headers
    return out


def _map_alone(headers: dict[str, str]) -> list[CallEvent]:
    return EslCallMapper("fs1").feed(headers)


def test_mod_callcenter_doc_examples() -> None:
    docs = _doc_events()
    (offering,) = _map_alone(docs["agent-offering"])
    assert (offering.kind, offering.endpoint) == (EventKind.RINGING, "AgentNameHere")
    assert (offering.caller, offering.caller_name) == ("4385551212", "CHOUINARD MO")
    assert [e.kind for e in _map_alone(docs["bridge-agent-start"])] == [EventKind.ANSWERED]
    assert [e.kind for e in _map_alone(docs["bridge-agent-fail"])] == [EventKind.MISSED]
    assert [e.kind for e in _map_alone(docs["member-queue-start"])] == [EventKind.QUEUED]
    assert [e.kind for e in _map_alone(docs["member-queue-end (Cancel)"])] == [EventKind.ABANDONED]
    assert _map_alone(docs["bridge-agent-end"]) == []
    # Terminated without the member channel's data (the doc abbreviates it) is INFO only.
