"""ActionID reply matching, without sockets: bytes in through the parser, answers out."""

from __future__ import annotations

from screenpop.telephony.asterisk.protocol import ActionReplies, AmiParser, Answer, Message


def _messages(data: bytes) -> list[Message]:
    return [m for m in AmiParser().feed(data) if isinstance(m, Message)]


def _answers(replies: ActionReplies, data: bytes) -> list[Answer | None]:
    return [replies.receive(m) for m in _messages(data)]


def test_a_response_answers_the_action_with_its_action_id() -> None:
    replies = ActionReplies()
    ping, wire = replies.ask("Ping")
    assert wire == f"Action: Ping\r\nActionID: {ping}\r\n\r\n".encode()
    other, _ = replies.ask("Ping")
    got = _answers(
        replies, f"Response: Success\r\nActionID: {other}\r\nPing: Pong\r\n\r\n".encode()
    )
    assert len(got) == 1 and got[0] is not None
    assert got[0].action_id == other and got[0].final
    assert got[0].response is not None and got[0].response.get("Ping") == "Pong"
    assert replies.pending() == [ping]


def test_an_event_list_is_the_response_then_the_items_until_complete() -> None:
    replies = ActionReplies()
    aid, _ = replies.ask("CoreShowChannels", listing=True)
    stream = (
        f"Response: Success\r\nActionID: {aid}\r\nEventList: start\r\n\r\n"
        f"Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: PJSIP/1001-1\r\n\r\n"
        "Event: Newchannel\r\nChannel: PJSIP/1002-2\r\n\r\n"
        f"Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: PJSIP/1003-3\r\n\r\n"
        f"Event: CoreShowChannelsComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n\r\n"
    ).encode()
    first, item, event, item2, done = _answers(replies, stream)
    assert first is not None and first.response is not None and not first.final
    assert item is not None and not item.final and item2 is not None
    assert event is None  # a live event in the middle of the list goes to the mapper
    assert done is not None and done.final and done.items is not None
    assert [m.get("Channel") for m in done.items] == ["PJSIP/1001-1", "PJSIP/1003-3"]
    assert replies.pending() == []


def test_an_error_to_a_listing_action_is_final() -> None:
    replies = ActionReplies()
    aid, _ = replies.ask("QueueStatus", listing=True)
    (got,) = _answers(
        replies, f"Response: Error\r\nActionID: {aid}\r\nMessage: no\r\n\r\n".encode()
    )
    assert got is not None and got.final and got.response is not None
    assert replies.pending() == []


def test_late_and_unknown_responses_are_answers_to_nobody() -> None:
    replies = ActionReplies()
    aid, _ = replies.ask("Ping")
    replies.forget(aid)
    (late,) = _answers(replies, f"Response: Success\r\nActionID: {aid}\r\n\r\n".encode())
    assert late == Answer(aid, final=True)  # consumed, never taken for an event
    (stray,) = _answers(replies, b"Event: CoreShowChannel\r\nActionID: nobody-1\r\n\r\n")
    assert stray is None


def test_pending_actions_time_out_when_told_the_time() -> None:
    replies = ActionReplies()
    soon, _ = replies.ask("Ping", deadline=10.0)
    later, _ = replies.ask("Ping", deadline=20.0)
    assert replies.expire(5.0) == []
    assert replies.expire(10.0) == [soon]
    assert replies.pending() == [later]
    assert replies.clear() == [later] and replies.pending() == []
