"""Property tests of the ESL framing: garbage never raises, real streams cut anywhere parse the
same, and encoding then parsing gives back what was encoded (commands and events)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from screenpop.errors import ProtocolError
from screenpop.telephony.freeswitch.formats import esl_stream_from
from screenpop.telephony.freeswitch.protocol import (
    EVENT_PLAIN,
    EslParser,
    Event,
    Frame,
    command,
    event_frame,
    parse_command,
    parse_event,
)

FIXTURES = Path(__file__).parent / "fixtures" / "esl"
STREAMS = {
    name: esl_stream_from((FIXTURES / name).read_bytes()) or b""
    for name in ("a_answered.txt", "r_resync_ringing.txt", "z_auth_badpassword.txt")
}
WHOLE = {name: EslParser().feed(stream) for name, stream in STREAMS.items()}
FEW = settings(max_examples=40, deadline=None)

header_name = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1
).filter(lambda k: k not in ("Content-Length", "Event-Name"))
header_value = st.text(st.characters(codec="utf-8"))


def _feed(parser: EslParser, pieces: list[bytes]) -> list[Frame]:
    return [frame for piece in pieces for frame in parser.feed(piece)]


@FEW
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_arbitrary_bytes_never_raise(pieces: list[bytes]) -> None:
    parser = EslParser(max_header_bytes=512, max_body_bytes=4096)
    for frame in _feed(parser, pieces):
        if frame.content_type == EVENT_PLAIN:
            with contextlib.suppress(ProtocolError):  # counted as a reject by the source
                parse_event(frame)


@FEW
@given(st.sampled_from(sorted(STREAMS)), st.lists(st.integers(min_value=0), max_size=12))
def test_a_real_stream_cut_anywhere_parses_the_same(name: str, cuts: list[int]) -> None:
    stream = STREAMS[name]
    points = sorted({c % (len(stream) + 1) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    parser = EslParser()
    assert _feed(parser, pieces) == WHOLE[name]
    assert parser.rejected == 0


@FEW
@given(
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1)
    .map(str.strip)
    .filter(bool),
    st.dictionaries(header_name, header_value.map(lambda v: " ".join(v.split())), max_size=4),
)
def test_command_encode_then_parse_is_the_identity(line: str, headers: dict[str, str]) -> None:
    headers = {k: v for k, v in headers.items() if v}
    assert parse_command(command(line, headers)) == (line, headers)


@FEW
@given(
    st.dictionaries(header_name, header_value, max_size=12),
    st.sampled_from(["CHANNEL_CREATE", "CUSTOM", "HEARTBEAT"]),
    header_value,
)
def test_event_encode_then_parse_is_the_identity(
    headers: dict[str, str], name: str, body: str
) -> None:
    headers = {"Event-Name": name, **headers}
    (frame,) = EslParser().feed(event_frame(headers, body))
    assert parse_event(frame) == Event(headers, body)
