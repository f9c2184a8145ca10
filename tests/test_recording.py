"""The capture block format (screenpop/telephony/recording.py): both styles read, written, mixed."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from screenpop.telephony.recording import format_block, is_capture, read_blocks, received

FIXTURES = Path(__file__).parent / "fixtures" / "ami"

AMI_STYLE = (
    b"### t=+0.000856 mono=1931.964137 wall=2026-11-22T12:37:00.259832 BANNER\n"
    b"Asterisk Call Manager/11.0.0\n"
    b"\n"
    b"### t=+0.001251 mono=1931.964532 wall=2026-11-22T12:37:00.260217\n"
    b"Response: Success\n"
    b"ActionID: login-1\n"
    b"\n"
    b"### connection closed by the server\n"
)


def test_ami_style_blocks_get_their_crlf_back_and_the_banner_its_single_line() -> None:
    blocks = read_blocks(AMI_STYLE)
    assert [(b.kind, b.banner) for b in blocks] == [
        ("recv", True),
        ("recv", False),
        ("closed", False),
    ]
    assert blocks[0].data == b"Asterisk Call Manager/11.0.0\r\n"
    assert blocks[1].data == b"Response: Success\r\nActionID: login-1\r\n\r\n"
    assert (blocks[1].t, blocks[1].wall) == (0.001251, "2026-11-22T12:37:00.260217")
    assert blocks[2].t == blocks[1].t
    assert received(blocks) == blocks[0].data + blocks[1].data


def test_sized_blocks_keep_blank_lines_and_exact_bytes() -> None:
    body = b"Content-Length: 9\nContent-Type: api/response\n\n+OK\n\nyes\n"
    content = (
        format_block(0.5, 10.5, "2026-12-01T21:28:30+00:00", "recv", body)
        + format_block(0.6, 10.6, "2026-12-01T21:28:30+00:00", "sent", b"api status\n\n")
        + format_block(0.7, 10.7, "2026-12-01T21:28:31+00:00", "closed", b"")
    )
    blocks = read_blocks(content)
    assert [(b.kind, b.data) for b in blocks] == [
        ("recv", body),
        ("sent", b"api status\n\n"),
        ("closed", b""),
    ]
    assert blocks[0].wall == "2026-12-01T21:28:30+00:00"
    assert received(blocks) == body  # what we sent is not the PBX's stream


def test_both_styles_mix_in_one_file() -> None:
    sized = format_block(0.002, 1931.97, "2026-11-22T12:37:00.3", "sent", b"Action: Ping\r\n\r\n")
    blocks = read_blocks(AMI_STYLE.replace(b"### connection closed by the server\n", sized))
    assert [b.kind for b in blocks] == ["recv", "recv", "sent"]
    assert blocks[2].data == b"Action: Ping\r\n\r\n"


def test_a_last_block_cut_short_keeps_what_is_there() -> None:
    content = format_block(1.0, 2.0, "w", "recv", b"Content-Type: auth/request\n\n")
    blocks = read_blocks(content[:-10])
    assert len(blocks) == 1 and blocks[0].data == b"Content-Type: auth/request\n\n"[:-9]


def test_an_unreadable_header_is_skipped_with_its_body() -> None:
    content = b"### t=+abc nonsense\nEvent: Lost\n\n" + AMI_STYLE
    blocks = read_blocks(content)
    assert len(blocks) == 3 and b"Lost" not in received(blocks)


def test_is_capture() -> None:
    assert is_capture(b"\n\n" + AMI_STYLE)
    assert is_capture((FIXTURES / "a_answered.txt").read_bytes())
    assert not is_capture(b"Asterisk Call Manager/11.0.0\r\n")
    assert not is_capture(b"## t=+1\n")
    assert not is_capture(b"")


def test_the_real_capture_reads_as_one_session() -> None:
    blocks = read_blocks((FIXTURES / "a_answered.txt").read_bytes())
    assert blocks[0].banner and blocks[0].data.startswith(b"Asterisk Call Manager/")
    assert all(b.data.endswith(b"\r\n\r\n") for b in blocks[1:] if b.kind == "recv")
    times = [b.t for b in blocks]
    assert times == sorted(times)


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1e6, allow_nan=False),
            st.sampled_from(["recv", "sent", "closed"]),
            st.binary(max_size=200),
        ),
        max_size=8,
    )
)
def test_format_then_read_is_the_identity(items: list[tuple[float, str, bytes]]) -> None:
    content = b"".join(
        format_block(t, t + 100, "2026-12-01T00:00:00+00:00", kind, data)  # type: ignore[arg-type]
        for t, kind, data in items
    )
    blocks = read_blocks(content)
    assert [(b.kind, b.data) for b in blocks] == [(kind, data) for _, kind, data in items]
    assert [b.t for b in blocks] == [float(f"{t:.6f}") for t, _, _ in items]
