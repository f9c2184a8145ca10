"""ESL reply matching, without sockets: replies in order, late ones dropped, bgapi by Job-UUID."""

from __future__ import annotations

from screenpop.telephony.freeswitch.protocol import (
    CommandReplies,
    EslParser,
    Frame,
    encode_frame,
    event_frame,
    parse_event,
)


def _frames(data: bytes) -> list[Frame]:
    return EslParser().feed(data)


def _reply(text: str) -> bytes:
    return encode_frame({"Content-Type": "command/reply", "Reply-Text": text})


def _api(body: str) -> bytes:
    return encode_frame({"Content-Type": "api/response"}, body.encode())


def test_replies_come_back_in_the_order_the_commands_went_out() -> None:
    replies = CommandReplies()
    auth, wire = replies.ask("auth ClueCon")
    assert wire == b"auth ClueCon\n\n"
    status, _ = replies.ask("api status")
    first, second = _frames(_reply("+OK accepted") + _api("UP 0 years"))
    assert replies.receive(first) == (auth, first)
    assert replies.receive(second) == (status, second)
    assert replies.receive(second) is None  # nobody asked


def test_a_command_given_up_keeps_its_place_and_its_late_reply_is_dropped() -> None:
    replies = CommandReplies()
    slow, _ = replies.ask("api status", deadline=5.0)
    next_one, _ = replies.ask("api show channels as json", deadline=50.0)
    assert replies.expire(5.0) == [slow]
    late, mine = _frames(_api("UP") + _api('{"row_count":0}'))
    assert replies.receive(late) is None
    assert replies.receive(mine) == (next_one, mine)


def test_events_are_no_replies() -> None:
    replies = CommandReplies()
    replies.ask("api status")
    (frame,) = _frames(event_frame({"Event-Name": "HEARTBEAT"}))
    assert replies.receive(frame) is None
    assert replies.clear() == [1]


def test_a_bgapi_result_is_matched_by_its_job_uuid() -> None:
    replies = CommandReplies()
    ticket, _ = replies.ask("bgapi originate user/1001 &park")
    (reply,) = _frames(
        encode_frame(
            {"Content-Type": "command/reply", "Reply-Text": "+OK Job-UUID: j-1", "Job-UUID": "j-1"}
        )
    )
    assert replies.receive(reply) == (ticket, reply)
    assert replies.watch_job(reply) == "j-1"
    other, done = _frames(
        event_frame({"Event-Name": "BACKGROUND_JOB", "Job-UUID": "j-2"}, "+OK other\n")
        + event_frame({"Event-Name": "BACKGROUND_JOB", "Job-UUID": "j-1"}, "+OK 5e1f\n")
    )
    assert replies.job_done(parse_event(other)) is None
    assert replies.job_done(parse_event(done)) == ("j-1", "+OK 5e1f\n")
    assert replies.job_done(parse_event(done)) is None  # once


def test_a_job_uuid_read_from_the_reply_text() -> None:
    (reply,) = _frames(_reply("+OK Job-UUID: 7f4e"))
    assert CommandReplies().watch_job(reply) == "7f4e"
    (refused,) = _frames(_reply("-ERR no"))
    assert CommandReplies().watch_job(refused) is None
