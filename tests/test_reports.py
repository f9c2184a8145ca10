"""Reports computed from seeded call logs with known answers, on SQLite and the real
PostgreSQL: the service level boundary, short abandons, transfers, calls across local midnight
and across both DST changes of America/New_York in 2026."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from screenpop.errors import ReportError
from screenpop.reports.intervals import Buckets
from screenpop.reports.model import ReportOptions, ReportQuery, parse_query
from screenpop.reports.service import Reporter
from screenpop.store import CallRecord, Store
from screenpop.store.schema import NoteRecord, PauseRecord, RingRecord, WrapRecord, Write

NY = ZoneInfo("America/New_York")
OPTIONS = ReportOptions(service_level_s=20, short_abandon_s=5, pause_reasons=("lunch", "break"))


def at(text: str) -> float:
    """Epoch seconds of a New York wall time ("2026-11-18 10:00"); `fold=1` for the second
    01:xx on the day clocks go back is written "2026-11-01 01:30 EST"."""
    fold = text.endswith(" EST")
    wall = dt.datetime.fromisoformat(text.removesuffix(" EST")).replace(tzinfo=NY, fold=fold)
    return wall.timestamp()


def call(call_id: str, start: float, wait: float | None = None, **changes: Any) -> CallRecord:
    """An inbound call of `support` answered after `wait` s and talked 100 s (None: abandoned
    after the `abandon` s given in `changes`)."""
    abandon = changes.pop("abandon", None)
    answered = None if wait is None else start + wait
    ended = answered + 100 if answered is not None else (start + abandon if abandon else None)
    base = CallRecord(
        source="pbx1",
        call_id=call_id,
        caller_raw="2125551234",
        caller_e164="+12125551234",
        caller_name=None,
        queue="support",
        agent_id="alice" if answered else None,
        state="ended" if answered else ("abandoned" if ended else "queued"),
        direction="inbound",
        started_at=start,
        answered_at=answered,
        ended_at=ended,
    )
    return dataclasses.replace(base, **changes)


def ring(rec: CallRecord, agent: str, outcome: str = "answered", **changes: Any) -> RingRecord:
    """A ring of `rec` on `agent`'s phone; answered, the agent talked the call's 100 s."""
    talk = 100.0 if outcome == "answered" else None
    base = RingRecord(rec.source, rec.call_id, agent, 1, rec.started_at + 1, outcome,
                      queue=rec.queue, talk_s=talk)  # fmt: skip
    return dataclasses.replace(base, **changes)


@pytest.fixture
async def log(store_url: tuple[str, str], store: Store) -> AsyncIterator[tuple[Store, Reporter]]:
    """A call-log store to seed (the conftest's, on each database) and a reporter on the same
    tables."""
    url, prefix = store_url
    async with Reporter(url, table_prefix=prefix) as reporter:
        yield store, reporter


async def report(
    log: tuple[Store, Reporter], seed: Sequence[Write], kind: str, start: str, end: str,
    interval: str = "day", queue: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    store, reporter = log
    if seed:
        await store.write(seed)
    query = ReportQuery(kind, dt.date.fromisoformat(start), dt.date.fromisoformat(end),
                        interval, queue, "America/New_York")  # fmt: skip
    return list((await reporter.run(query, OPTIONS)).rows)


T = at("2026-11-18 10:00")

# (what it shows, the calls, the figures expected in the queue's one row for 2026-11-18)
QUEUE_CASES: list[tuple[str, list[CallRecord], dict[str, Any]]] = [
    ("a wait of exactly the threshold is within the service level",
     [call("c1", T, 20)], {"answered": 1, "answered_within_sl": 1, "service_level": 100.0}),
    ("half a second over the threshold is not",
     [call("c1", T, 20.5)], {"answered_within_sl": 0, "service_level": 0.0, "asa_s": 20.5}),
    ("a short abandon is counted apart and left out of the service level",
     [call("c1", T, 3), call("c2", T, None, abandon=4.9)],
     {"offered": 2, "abandoned": 0, "short_abandoned": 1, "service_level": 100.0}),
    ("an abandon after exactly short_abandon_s is a real one",
     [call("c1", T, 3), call("c2", T, None, abandon=5)],
     {"abandoned": 1, "short_abandoned": 0, "service_level": 50.0, "max_wait_s": 5.0}),
    ("waits: ASA over answered calls, average and longest over all that ended",
     [call("c1", T, 10), call("c2", T, 30), call("c3", T, None, abandon=50)],
     {"asa_s": 20.0, "avg_wait_s": 30.0, "max_wait_s": 50.0, "service_level": 33.3}),
    ("a call still waiting is offered, nothing else",
     [call("c1", T, 10), call("c2", T)],
     {"offered": 2, "answered": 1, "abandoned": 0, "service_level": 100.0, "avg_wait_s": 10.0}),
    ("transfers add up",
     [call("c1", T, 5, transfers=2), call("c2", T, 5, transfers=1), call("c3", T, 5)],
     {"transfers": 3, "answered": 3}),
    ("outbound calls and calls without a queue are no queue's",
     [call("c1", T, 5), call("c2", T, 5, direction="outbound"), call("c3", T, 5, queue=None)],
     {"offered": 1}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "calls", "expected"), QUEUE_CASES, ids=[c[0] for c in QUEUE_CASES]
)
async def test_queue_figures(
    log: tuple[Store, Reporter], what: str, calls: list[CallRecord], expected: dict[str, Any]
) -> None:
    (row,) = await report(log, calls, "queues", "2026-11-18", "2026-11-18")
    assert row["queue"] == "support"
    assert row["interval_start"] == "2026-11-18T00:00:00-05:00"
    assert {k: row[k] for k in expected} == expected, what


async def test_handle_time_is_talk_plus_wrap_up(log: tuple[Store, Reporter]) -> None:
    c1, c2 = call("c1", T, 5), call("c2", T + 600, 5)
    assert c1.ended_at is not None
    seed: list[Write] = [c1, c2, ring(c1, "alice"), ring(c2, "bob")]
    seed.append(WrapRecord("alice", c1.ended_at + 30, 60))  # 30 s of wrap-up after c1
    (row,) = await report(log, seed, "queues", "2026-11-18", "2026-11-18")
    assert row["aht_s"] == (100 + 30 + 100) / 2


async def test_local_midnight_not_utc_midnight_splits_the_days(log: tuple[Store, Reporter]) -> None:
    seed = [
        call("late", at("2026-11-18 23:59:50"), 5),  # 04:59:50 UTC on the 19th
        call("early", at("2026-11-19 00:00:00"), 5),
        call("before", at("2026-11-17 23:59:59"), 5),  # outside the range
    ]
    rows = await report(log, seed, "queues", "2026-11-18", "2026-11-19")
    assert [(r["interval_start"], r["offered"]) for r in rows] == [
        ("2026-11-18T00:00:00-05:00", 1),
        ("2026-11-19T00:00:00-05:00", 1),
    ]


async def test_spring_forward_day_has_23_hours(log: tuple[Store, Reporter]) -> None:
    seed = [call("a", at("2026-03-08 01:30"), 5), call("b", at("2026-03-08 03:30"), 5),
            call("c", at("2026-03-08 23:30"), 5), call("d", at("2026-03-09 00:10"), 5)]  # fmt: skip
    days = await report(log, seed, "queues", "2026-03-08", "2026-03-09")
    assert [(r["interval_start"], r["offered"]) for r in days] == [
        ("2026-03-08T00:00:00-05:00", 3),
        ("2026-03-09T00:00:00-04:00", 1),
    ]
    hours = await report(log, [], "queues", "2026-03-08", "2026-03-08", "hour")
    assert [(r["interval_start"], r["offered"]) for r in hours] == [
        ("2026-03-08T01:00:00-05:00", 1),
        ("2026-03-08T03:00:00-04:00", 1),
        ("2026-03-08T23:00:00-04:00", 1),
    ]


async def test_fall_back_day_has_two_one_oclock_hours(log: tuple[Store, Reporter]) -> None:
    seed = [call("edt", at("2026-11-01 01:30"), 5), call("est", at("2026-11-01 01:30 EST"), 5),
            call("noon", at("2026-11-01 12:00"), 5)]  # fmt: skip
    hours = await report(log, seed, "queues", "2026-11-01", "2026-11-01", "hour")
    assert [(r["interval_start"], r["offered"]) for r in hours] == [
        ("2026-11-01T01:00:00-04:00", 1),
        ("2026-11-01T01:00:00-05:00", 1),
        ("2026-11-01T12:00:00-05:00", 1),
    ]
    (day,) = await report(log, [], "queues", "2026-11-01", "2026-11-01", "day")
    assert (day["interval_start"], day["offered"]) == ("2026-11-01T00:00:00-04:00", 3)
    by_hour = await report(log, [], "queues", "2026-11-01", "2026-11-01", "hour_of_day")
    assert [(r["interval_start"], r["offered"]) for r in by_hour] == [("01", 2), ("12", 1)]
    quarters = await report(log, [], "queues", "2026-11-01", "2026-11-01", "15m")
    assert quarters[0]["interval_start"] == "2026-11-01T01:30:00-04:00"


async def test_weeks_months_and_weekdays(log: tuple[Store, Reporter]) -> None:
    seed = [
        call("sun", at("2026-11-01 09:00"), 5),
        call("mon", at("2026-11-02 09:00"), 5),
        call("dec", at("2026-12-01 09:00"), 5),
        call("mon2", at("2026-11-09 09:00"), 5),
    ]
    weeks = await report(log, seed, "queues", "2026-11-01", "2026-12-01", "week")
    assert [(r["interval_start"], r["offered"]) for r in weeks] == [
        ("2026-10-26T00:00:00-04:00", 1),  # the ISO week of Sunday the 1st began on Monday
        ("2026-11-02T00:00:00-05:00", 1),
        ("2026-11-09T00:00:00-05:00", 1),
        ("2026-11-30T00:00:00-05:00", 1),
    ]
    months = await report(log, [], "queues", "2026-11-01", "2026-12-01", "month")
    assert [(r["interval_start"], r["offered"]) for r in months] == [
        ("2026-11-01T00:00:00-04:00", 3),
        ("2026-12-01T00:00:00-05:00", 1),
    ]
    weekdays = await report(log, [], "queues", "2026-11-01", "2026-12-01", "day_of_week")
    assert [(r["interval_start"], r["offered"]) for r in weekdays] == [
        ("Mon", 2), ("Tue", 1), ("Sun", 1)
    ]  # fmt: skip


async def test_queue_filter(log: tuple[Store, Reporter]) -> None:
    seed = [call("a", T, 5), call("b", T, 5, queue="sales"), call("c", T, 5, queue="sales")]
    rows = await report(log, seed, "queues", "2026-11-18", "2026-11-18")
    assert [(r["queue"], r["offered"]) for r in rows] == [("sales", 2), ("support", 1)]
    (only,) = await report(log, [], "queues", "2026-11-18", "2026-11-18", queue="sales")
    assert (only["queue"], only["offered"]) == ("sales", 2)


async def test_agent_figures_and_pauses_by_reason(log: tuple[Store, Reporter]) -> None:
    c1, c2, c3 = call("c1", T, 5), call("c2", T + 900, 5), call("c3", T + 1800, None, abandon=40)
    assert c1.ended_at is not None and c2.answered_at is not None
    seed: list[Write] = [c1, c2, c3, ring(c1, "alice"), ring(c2, "alice")]
    seed += [ring(c1, "bob", "answered_elsewhere"), ring(c3, "bob", "abandoned")]
    seed += [ring(c2, "bob", "missed", ring_no=1), WrapRecord("alice", c1.ended_at + 20, 60)]
    seed += [
        PauseRecord("alice", "lunch", at("2026-11-18 12:00"), at("2026-11-18 12:45")),
        PauseRecord("alice", "break", at("2026-11-18 23:50"), at("2026-11-19 00:10")),
        PauseRecord("bob", "", at("2026-11-18 09:00"), at("2026-11-18 09:05")),
        PauseRecord("bob", "smoking", at("2026-11-18 09:10"), at("2026-11-18 09:11")),
    ]
    rows = await report(log, seed, "agents", "2026-11-18", "2026-11-19")
    got = {(r["agent_id"], r["interval_start"][:10]): r for r in rows}
    alice = got[("alice", "2026-11-18")]
    assert (alice["handled"], alice["missed_rings"]) == (2, 0)
    assert (alice["talk_s"], alice["wrap_s"], alice["aht_s"]) == (200.0, 20.0, 110.0)
    assert (alice["paused_lunch_s"], alice["paused_break_s"], alice["paused_s"]) == (
        2700.0,
        600.0,
        3300.0,
    )
    assert got[("alice", "2026-11-19")]["paused_break_s"] == 600.0  # after local midnight
    bob = got[("bob", "2026-11-18")]
    assert (bob["handled"], bob["missed_rings"], bob["aht_s"]) == (0, 3, None)
    assert (bob["paused_other_s"], bob["paused_s"]) == (360.0, 360.0)
    assert list(alice)[-3:] == ["paused_lunch_s", "paused_break_s", "paused_other_s"]


async def test_dispositions_per_queue(log: tuple[Store, Reporter]) -> None:
    calls = [call("c1", T, 5), call("c2", T, 5), call("c3", T, 5, queue="sales")]
    notes = [
        NoteRecord("n1", "c1", None, "alice", "resolved", "", T + 200),
        NoteRecord("n2", "c1", None, "alice", "resolved", "again", T + 300),  # one call
        NoteRecord("n3", "c2", None, "alice", "resolved", "", T + 300),
        NoteRecord("n4", "c3", None, "bob", "sale", "", T + 300),
        NoteRecord("n5", "c2", None, "bob", "callback", "", T + 400),
    ]
    rows = await report(log, [*calls, *notes], "dispositions", "2026-11-18", "2026-11-18")
    assert [(r["queue"], r["disposition"], r["calls"]) for r in rows] == [
        ("sales", "sale", 1),
        ("support", "callback", 1),
        ("support", "resolved", 2),
    ]


async def test_an_empty_range_is_an_empty_report(log: tuple[Store, Reporter]) -> None:
    assert await report(log, [], "agents", "2026-11-18", "2026-11-18") == []


@pytest.mark.parametrize(
    ("start", "end", "interval", "message"),
    [
        ("2026-11-19", "2026-11-18", None, "from (2026-11-19) is after to (2026-11-18)"),
        ("2026-13-01", "2026-11-18", None, "from: '2026-13-01' is not a date (YYYY-MM-DD)"),
        ("2026-11-01", "", None, "to: a date (YYYY-MM-DD) is required"),
        ("2026-11-01", "2026-11-02", "fortnight", "interval: 'fortnight' is not one of"),
        ("2026-01-01", "2026-02-01", "15m", "a report by 15m covers at most 31 days"),
        ("2020-01-01", "2026-02-01", "month", "a report by month covers at most 1098 days"),
    ],
)
def test_bad_parameters_say_what_is_wrong(
    start: str, end: str, interval: str | None, message: str
) -> None:
    with pytest.raises(ReportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_query("queues", start, end, interval)


@pytest.mark.parametrize(
    ("interval", "start", "end", "expected"),
    [
        ("hour", "2026-11-01 00:30", "2026-11-01 02:30 EST", [
            ("2026-11-01T00:00:00-04:00", 1800), ("2026-11-01T01:00:00-04:00", 3600),
            ("2026-11-01T01:00:00-05:00", 3600), ("2026-11-01T02:00:00-05:00", 1800)]),
        ("day", "2026-03-07 23:00", "2026-03-08 03:30", [
            ("2026-03-07T00:00:00-05:00", 3600), ("2026-03-08T00:00:00-05:00", 9000)]),
        ("hour_of_day", "2026-11-01 00:30", "2026-11-01 02:30 EST", [
            ("00", 1800), ("01", 7200), ("02", 1800)]),
        ("15m", "2026-03-08 01:50", "2026-03-08 03:10", [
            ("2026-03-08T01:45:00-05:00", 600), ("2026-03-08T03:00:00-04:00", 600)]),
    ],
)  # fmt: skip
def test_a_span_of_time_is_split_across_its_buckets(
    interval: str, start: str, end: str, expected: list[tuple[str, float]]
) -> None:
    first, last = (dt.date.fromisoformat(text[:10]) for text in (start, end))
    query = ReportQuery("agents", first, last, interval, None, "America/New_York")
    got: dict[tuple[float, str], float] = {}  # as the report adds them up, per bucket
    for bucket, seconds in Buckets(query).split(at(start), at(end)):
        got[(bucket.order, bucket.label)] = got.get((bucket.order, bucket.label), 0) + seconds
    assert [(label, s) for (_, label), s in sorted(got.items())] == expected
