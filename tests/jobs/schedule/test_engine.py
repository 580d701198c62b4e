"""The fire-time engine: exact UTC instants around DST transitions, bounds, intervals and validation.

2026 transitions used below (from the bundled tzdata):
  America/New_York     Mar 8  02:00 EST -> 03:00 EDT (07:00Z);       Nov 1  02:00 EDT -> 01:00 EST (06:00Z)
  Europe/Berlin        Mar 29 02:00 CET -> 03:00 CEST (01:00Z);      Oct 25 03:00 CEST -> 02:00 CET (01:00Z)
  Australia/Lord_Howe  Apr 5  02:00 +11 -> 01:30 +1030 (Apr 4 15:00Z); Oct 4 02:00 +1030 -> 02:30 +11 (Oct 3 15:30Z)
  Australia/Sydney     Apr 5  03:00 AEDT -> 02:00 AEST (Apr 4 16:00Z); Oct 4 02:00 AEST -> 03:00 AEDT (Oct 3 16:00Z)
  Pacific/Chatham      Apr 5  03:45 +1345 -> 02:45 +1245 (Apr 4 14:00Z);
                       Sep 27 02:45 +1245 -> 03:45 +1345 (Sep 26 14:00Z)
  America/Santiago     Apr 5  00:00 -03 -> Apr 4 23:00 -04 (03:00Z);  Sep 6 00:00 -04 -> 01:00 -03 (04:00Z)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jobs.schedule import (
    DstPolicy,
    FireTime,
    Schedule,
    ScheduleError,
    fire_times,
    iter_fire_times,
    next_fire_time,
    parse_dst_policy,
    parse_schedule,
    validate_timezone,
)
from jobs.schedule.cron import parse_cron


def utc(text: str) -> datetime:
    """'2026-03-08T07:00' (or with seconds) as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def cron(expression: str, zone: str, **fields: Any) -> Schedule:
    return parse_schedule(interval=expression, interval_type="cron", timezone=zone, **fields)


def instants(schedule: Schedule, after: str, count: int) -> list[str]:
    """The next ``count`` fires after ``after`` (UTC), as compact ISO strings for readable tables."""
    fires = fire_times(schedule, utc(after), count)
    for fire in fires:
        assert fire.at.tzinfo is UTC and fire.at.microsecond == 0
        assert fire.local.astimezone(UTC) == fire.at
        assert fire.local.tzinfo == schedule.zone
    return [fire.at.strftime("%Y-%m-%dT%H:%M") for fire in fires]


# --- cron around DST transitions --------------------------------------------------------------------

# fmt: off
CRON_CASES = [
    # id, expression, zone, dstPolicy, after (UTC), expected fires (UTC)
    # New York, spring forward: 02:30 does not exist on Mar 8.
    ("ny-gap-fixed-shift", "30 2 * * *", "America/New_York", None, "2026-03-07T00:00",
     ["2026-03-07T07:30", "2026-03-08T07:00", "2026-03-09T06:30"]),
    ("ny-gap-fixed-skip", "30 2 * * *", "America/New_York", {"gap": "skip"}, "2026-03-07T00:00",
     ["2026-03-07T07:30", "2026-03-09T06:30", "2026-03-10T06:30"]),
    ("ny-gap-two-times-one-fire", "0,30 2 * * *", "America/New_York", None, "2026-03-07T12:00",
     ["2026-03-08T07:00", "2026-03-09T06:00", "2026-03-09T06:30"]),
    ("ny-gap-shift-meets-real-time", "30 2,3 * * *", "America/New_York", None, "2026-03-08T05:00",
     ["2026-03-08T07:00", "2026-03-08T07:30", "2026-03-09T06:30"]),
    ("ny-gap-hourly", "0 * * * *", "America/New_York", None, "2026-03-08T05:30",
     ["2026-03-08T06:00", "2026-03-08T07:00", "2026-03-08T08:00"]),
    ("ny-gap-quarter", "*/15 * * * *", "America/New_York", None, "2026-03-08T06:30",
     ["2026-03-08T06:45", "2026-03-08T07:00", "2026-03-08T07:15"]),
    ("ny-gap-wildcard-ignores-policy", "* 2 * * *", "America/New_York", {"gap": "shift"}, "2026-03-08T00:00",
     ["2026-03-09T06:00", "2026-03-09T06:01"]),
    # New York, fall back: 01:00-01:59 happens twice on Nov 1 (EDT 05:xxZ, then EST 06:xxZ).
    ("ny-repeat-fixed-first", "30 1 * * *", "America/New_York", None, "2026-10-31T12:00",
     ["2026-11-01T05:30", "2026-11-02T06:30"]),
    ("ny-repeat-fixed-both", "30 1 * * *", "America/New_York", {"repeat": "both"}, "2026-10-31T12:00",
     ["2026-11-01T05:30", "2026-11-01T06:30", "2026-11-02T06:30"]),
    ("ny-repeat-fixed-outside-hour", "30 2 * * *", "America/New_York", None, "2026-10-31T12:00",
     ["2026-11-01T07:30", "2026-11-02T07:30"]),
    ("ny-repeat-hourly", "0 * * * *", "America/New_York", None, "2026-11-01T04:30",
     ["2026-11-01T05:00", "2026-11-01T06:00", "2026-11-01T07:00"]),
    ("ny-repeat-quarter", "*/15 * * * *", "America/New_York", None, "2026-11-01T05:40",
     ["2026-11-01T05:45", "2026-11-01T06:00", "2026-11-01T06:15"]),
    ("ny-repeat-wildcard-ignores-policy", "0 * * * *", "America/New_York", {"repeat": "first"}, "2026-11-01T04:30",
     ["2026-11-01T05:00", "2026-11-01T06:00", "2026-11-01T07:00"]),
    ("ny-repeat-both-interleaves", "0,30 1 * * *", "America/New_York", {"repeat": "both"}, "2026-11-01T04:00",
     ["2026-11-01T05:00", "2026-11-01T05:30", "2026-11-01T06:00", "2026-11-01T06:30", "2026-11-02T06:00"]),
    # Berlin: 02:00-02:59 is skipped on Mar 29 and repeated on Oct 25 (CEST 00:xxZ, then CET 01:xxZ).
    ("berlin-gap-fixed-shift", "30 2 * * *", "Europe/Berlin", None, "2026-03-28T00:00",
     ["2026-03-28T01:30", "2026-03-29T01:00", "2026-03-30T00:30"]),
    ("berlin-gap-fixed-skip", "30 2 * * *", "Europe/Berlin", {"gap": "skip", "repeat": "first"}, "2026-03-28T00:00",
     ["2026-03-28T01:30", "2026-03-30T00:30"]),
    ("berlin-gap-hourly", "0 * * * *", "Europe/Berlin", None, "2026-03-28T23:30",
     ["2026-03-29T00:00", "2026-03-29T01:00", "2026-03-29T02:00"]),
    ("berlin-gap-quarter", "*/15 * * * *", "Europe/Berlin", None, "2026-03-29T00:40",
     ["2026-03-29T00:45", "2026-03-29T01:00", "2026-03-29T01:15"]),
    ("berlin-repeat-fixed-first", "30 2 * * *", "Europe/Berlin", None, "2026-10-24T12:00",
     ["2026-10-25T00:30", "2026-10-26T01:30"]),
    ("berlin-repeat-fixed-both", "30 2 * * *", "Europe/Berlin", {"repeat": "both"}, "2026-10-24T12:00",
     ["2026-10-25T00:30", "2026-10-25T01:30", "2026-10-26T01:30"]),
    ("berlin-repeat-hourly", "0 * * * *", "Europe/Berlin", None, "2026-10-24T23:30",
     ["2026-10-25T00:00", "2026-10-25T01:00", "2026-10-25T02:00"]),
    ("berlin-repeat-quarter", "*/15 * * * *", "Europe/Berlin", None, "2026-10-25T00:40",
     ["2026-10-25T00:45", "2026-10-25T01:00", "2026-10-25T01:15"]),
    # Lord Howe Island moves by 30 minutes: 02:00-02:29 skipped on Oct 4, 01:30-01:59 repeated on Apr 5.
    ("lord-howe-gap-fixed", "15 2 * * *", "Australia/Lord_Howe", None, "2026-10-02T12:00",
     ["2026-10-02T15:45", "2026-10-03T15:30", "2026-10-04T15:15"]),
    ("lord-howe-gap-two-times", "15,45 2 * * *", "Australia/Lord_Howe", None, "2026-10-03T15:00",
     ["2026-10-03T15:30", "2026-10-03T15:45", "2026-10-04T15:15"]),
    ("lord-howe-gap-hourly", "0 * * * *", "Australia/Lord_Howe", None, "2026-10-03T14:00",
     ["2026-10-03T14:30", "2026-10-03T16:00"]),
    ("lord-howe-gap-half-past", "30 * * * *", "Australia/Lord_Howe", None, "2026-10-03T13:30",
     ["2026-10-03T14:00", "2026-10-03T15:00", "2026-10-03T15:30", "2026-10-03T16:30"]),
    ("lord-howe-repeat-fixed-first", "45 1 * * *", "Australia/Lord_Howe", None, "2026-04-04T00:00",
     ["2026-04-04T14:45", "2026-04-05T15:15"]),
    ("lord-howe-repeat-fixed-both", "45 1 * * *", "Australia/Lord_Howe", {"repeat": "both"}, "2026-04-04T00:00",
     ["2026-04-04T14:45", "2026-04-04T15:15", "2026-04-05T15:15"]),
    ("lord-howe-repeat-twenty", "*/20 * * * *", "Australia/Lord_Howe", None, "2026-04-04T14:30",
     ["2026-04-04T14:40", "2026-04-04T15:10", "2026-04-04T15:30"]),
    # Santiago skips midnight in September and repeats 23:00 on Saturday Apr 4.
    ("santiago-missing-midnight", "0 0 * * *", "America/Santiago", None, "2026-09-04T12:00",
     ["2026-09-05T04:00", "2026-09-06T04:00", "2026-09-07T03:00"]),
    ("santiago-missing-midnight-skip", "0 0 * * *", "America/Santiago", {"gap": "skip"}, "2026-09-04T12:00",
     ["2026-09-05T04:00", "2026-09-07T03:00"]),
    ("santiago-missing-hour-wildcard", "*/30 0 * * *", "America/Santiago", None, "2026-09-05T12:00",
     ["2026-09-07T03:00", "2026-09-07T03:30"]),
    ("santiago-repeat-fixed", "30 23 * * *", "America/Santiago", None, "2026-04-04T12:00",
     ["2026-04-05T02:30", "2026-04-06T03:30"]),
    ("santiago-repeat-both", "30 23 * * *", "America/Santiago", {"repeat": "both"}, "2026-04-04T12:00",
     ["2026-04-05T02:30", "2026-04-05T03:30", "2026-04-06T03:30"]),
    # Southern hemisphere: Sydney springs forward in October and falls back in April.
    ("sydney-gap-fixed", "30 2 * * *", "Australia/Sydney", None, "2026-10-02T12:00",
     ["2026-10-02T16:30", "2026-10-03T16:00", "2026-10-04T15:30"]),
    ("sydney-repeat-fixed", "30 2 * * *", "Australia/Sydney", None, "2026-04-03T12:00",
     ["2026-04-03T15:30", "2026-04-04T15:30", "2026-04-05T16:30"]),
    ("sydney-repeat-hourly", "0 * * * *", "Australia/Sydney", None, "2026-04-04T14:30",
     ["2026-04-04T15:00", "2026-04-04T16:00", "2026-04-04T17:00"]),
    ("auckland-gap-hourly", "0 * * * *", "Pacific/Auckland", None, "2026-09-26T12:30",
     ["2026-09-26T13:00", "2026-09-26T14:00", "2026-09-26T15:00"]),
    # Chatham's hour 3 only starts at 03:45 on Sep 27.
    ("chatham-partial-hour", "*/5 3 * * *", "Pacific/Chatham", None, "2026-09-26T12:00",
     ["2026-09-26T14:00", "2026-09-26T14:05", "2026-09-26T14:10", "2026-09-27T13:15"]),
    # UTC and a fixed offset zone: no transitions at all.
    ("utc-weekdays", "0 9 * * 1-5", "UTC", None, "2026-03-06T10:00",
     ["2026-03-09T09:00", "2026-03-10T09:00", "2026-03-11T09:00"]),
    ("kathmandu-quarter-offset", "0 9 * * *", "Asia/Kathmandu", None, "2026-06-01T00:00",
     ["2026-06-01T03:15", "2026-06-02T03:15"]),
]
# fmt: on


@pytest.mark.parametrize(
    ("expression", "zone", "policy", "after", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CRON_CASES],
)
def test_cron_fire_times(expression: str, zone: str, policy: dict | None, after: str, expected: list[str]) -> None:
    schedule = cron(expression, zone, dst_policy=policy)
    assert instants(schedule, after, len(expected)) == expected
    assert next_fire_time(schedule, utc(after)) == utc(expected[0])


@pytest.mark.parametrize(
    ("expression", "zone", "policy", "after", "flags"),
    [
        # (shifted, merged, fold) of the first fire
        ("30 2 * * *", "America/New_York", None, "2026-03-08T00:00", (True, False, 0)),
        ("30 1 * * *", "America/New_York", None, "2026-11-01T00:00", (False, True, 0)),
        ("30 1 * * *", "America/New_York", {"repeat": "both"}, "2026-11-01T05:30", (False, False, 1)),
        ("0 * * * *", "America/New_York", None, "2026-11-01T05:30", (False, False, 1)),
        ("0 9 * * *", "UTC", None, "2026-11-01T00:00", (False, False, 0)),
    ],
)
def test_fire_flags(expression: str, zone: str, policy: dict | None, after: str, flags: tuple) -> None:
    fire = next(iter_fire_times(cron(expression, zone, dst_policy=policy), utc(after)))
    assert (fire.shifted, fire.merged, fire.fold) == flags
    assert fire.local.fold == flags[2]


def test_shifted_fire_reports_real_local_time() -> None:
    fire = next(iter_fire_times(cron("30 2 * * *", "America/New_York"), utc("2026-03-08T00:00")))
    assert fire.local.replace(tzinfo=None) == datetime(2026, 3, 8, 3, 0)
    assert fire.local.utcoffset() == timedelta(hours=-4)


# --- cron syntax -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # Vixie cron: both day fields restricted, so the 13th OR any Friday.
        (
            "0 12 13 * 5",
            "2026-03-01T00:00",
            [
                "2026-03-06T12:00",
                "2026-03-13T12:00",
                "2026-03-20T12:00",
                "2026-03-27T12:00",
                "2026-04-03T12:00",
                "2026-04-10T12:00",
                "2026-04-13T12:00",
                "2026-04-17T12:00",
            ],
        ),
        # A day field starting with '*' turns the OR into AND: a 1st, 11th, 21st or 31st that is a Friday.
        ("0 12 */10 * 5", "2026-01-01T00:00", ["2026-05-01T12:00", "2026-07-31T12:00", "2026-08-21T12:00"]),
        ("0 0 29 2 *", "2026-01-01T00:00", ["2028-02-29T00:00", "2032-02-29T00:00"]),
        ("0 8 * jan,jul sun", "2026-01-01T00:00", ["2026-01-04T08:00", "2026-01-11T08:00"]),
        ("0 8 * JAN,Jul 7", "2026-01-01T00:00", ["2026-01-04T08:00", "2026-01-11T08:00"]),
        ("0 8 * 1,7 0", "2026-06-30T00:00", ["2026-07-05T08:00", "2026-07-12T08:00"]),
        (
            "0 8 * * fri-7",
            "2026-01-01T00:00",
            ["2026-01-02T08:00", "2026-01-03T08:00", "2026-01-04T08:00", "2026-01-09T08:00"],
        ),
        (
            "0 8 * * mon/2",
            "2026-01-05T00:00",
            ["2026-01-05T08:00", "2026-01-07T08:00", "2026-01-09T08:00", "2026-01-11T08:00", "2026-01-12T08:00"],
        ),
        (
            "10-50/20 1-5/2 1 1 *",
            "2026-01-01T00:00",
            ["2026-01-01T01:10", "2026-01-01T01:30", "2026-01-01T01:50", "2026-01-01T03:10"],
        ),
        # Vixie cron reads an equal range with a step as that single value (cronsim: 5, 15, 25, ...).
        ("5-5/10 3 * * *", "2026-01-01T00:00", ["2026-01-01T03:05", "2026-01-02T03:05"]),
        ("  0   9  *  *  1-5 ", "2026-03-06T10:00", ["2026-03-09T09:00"]),
        ("\t0\t9 * *\t\t1-5\t", "2026-03-06T10:00", ["2026-03-09T09:00"]),
        # Vixie cron: Sunday named at the end of a range is 7, so Fri-Sun is Friday to Sunday.
        ("0 0 * * Fri-Sun", "2026-03-02T00:00", ["2026-03-06T00:00", "2026-03-07T00:00", "2026-03-08T00:00"]),
        (
            "0 0 * * mon-sun/2",
            "2026-03-01T12:00",
            ["2026-03-02T00:00", "2026-03-04T00:00", "2026-03-06T00:00", "2026-03-08T00:00", "2026-03-09T00:00"],
        ),
        ("0 0 * * sun-sun", "2026-03-02T00:00", ["2026-03-08T00:00", "2026-03-15T00:00"]),
        # A step as long as the field's range is its first value alone.
        ("*/60 */24 * * *", "2026-03-02T00:00", ["2026-03-03T00:00", "2026-03-04T00:00"]),
        ("0 0 * * */8", "2026-03-02T00:00", ["2026-03-08T00:00", "2026-03-15T00:00"]),
        ("007 08 * * *", "2026-03-02T00:00", ["2026-03-02T08:07"]),
    ],
)
def test_cron_syntax(expression: str, after: str, expected: list[str]) -> None:
    assert instants(cron(expression, "UTC"), after, len(expected)) == expected


@pytest.mark.parametrize(
    ("alias", "equivalent"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@Daily", "0 0 * * *"),
    ],
)
def test_cron_aliases(alias: str, equivalent: str) -> None:
    after = "2026-03-28T12:00"
    assert instants(cron(alias, "Europe/Berlin"), after, 5) == instants(cron(equivalent, "Europe/Berlin"), after, 5)


def test_cron_alias_fires() -> None:
    assert instants(cron("@weekly", "Europe/Berlin"), "2026-03-25T00:00", 2) == [
        "2026-03-28T23:00",
        "2026-04-04T22:00",
    ]


# --- where cronsim differs (see tests/jobs/schedule/test_properties.py) -------------------------------


@pytest.mark.parametrize(
    ("expression", "zone", "after", "expected"),
    [
        # The repeated half hour holds a second 01:36 (+1030); cronsim jumps from 01:37 straight to 02:06.
        (
            "36 * * * *",
            "Australia/Lord_Howe",
            "2026-04-04T14:00",
            ["2026-04-04T14:36", "2026-04-04T15:06", "2026-04-04T16:06"],
        ),
        # After the 30-minute spring gap 02:46 (+11) exists; cronsim's minute jump passes over it.
        (
            "46 * * * *",
            "Australia/Lord_Howe",
            "2026-10-03T15:00",
            ["2026-10-03T15:16", "2026-10-03T15:46", "2026-10-03T16:46"],
        ),
        # Hour 4 exists in full after Chatham's gap; cronsim resets to 03:00 (in the gap) and misses it.
        (
            "*/30 4 * * *",
            "Pacific/Chatham",
            "2026-09-26T12:00",
            ["2026-09-26T14:15", "2026-09-26T14:45", "2026-09-27T14:15"],
        ),
        # Santiago's Sep 6 has no hour 0; cronsim resets to the missing midnight and fires at 04:00Z.
        ("*/30 0 6 9 *", "America/Santiago", "2026-01-01T00:00", ["2027-09-06T03:00", "2027-09-06T03:30"]),
    ],
)
def test_wildcard_jobs_at_odd_transitions(expression: str, zone: str, after: str, expected: list[str]) -> None:
    assert instants(cron(expression, zone), after, len(expected)) == expected


# --- startOn / endOn ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "zone", "bounds", "after", "expected"),
    [
        # A fire exactly at startOn or endOn counts.
        (
            "0 9 * * *",
            "UTC",
            {"start_on": utc("2026-05-01T09:00"), "end_on": utc("2026-05-03T09:00")},
            "2026-01-01T00:00",
            ["2026-05-01T09:00", "2026-05-02T09:00", "2026-05-03T09:00"],
        ),
        (
            "0 9 * * *",
            "UTC",
            {"start_on": utc("2026-05-01T09:00:01"), "end_on": utc("2026-05-03T08:59:59")},
            "2026-01-01T00:00",
            ["2026-05-02T09:00"],
        ),
        # Bare dates are local days: from local midnight through the end of the last day.
        (
            "0 * * * *",
            "America/New_York",
            {"start_on": date(2026, 5, 1)},
            "2026-01-01T00:00",
            ["2026-05-01T04:00", "2026-05-01T05:00"],
        ),
        (
            "0 23 * * *",
            "America/New_York",
            {"start_on": date(2026, 5, 2), "end_on": date(2026, 5, 3)},
            "2026-01-01T00:00",
            ["2026-05-03T03:00", "2026-05-04T03:00"],
        ),
        (
            "59 23 * * *",
            "Europe/Berlin",
            {"end_on": date(2026, 5, 3)},
            "2026-05-02T00:00",
            ["2026-05-02T21:59", "2026-05-03T21:59"],
        ),
        # Santiago's Sep 6 starts at 01:00 (-03): midnight does not exist.
        (
            "*/30 * * * *",
            "America/Santiago",
            {"start_on": date(2026, 9, 6)},
            "2026-01-01T00:00",
            ["2026-09-06T04:00", "2026-09-06T04:30"],
        ),
        # A naive datetime is read in the schedule's zone.
        (
            "*/30 * * * *",
            "Europe/Berlin",
            {"start_on": datetime(2026, 7, 1, 12, 0)},
            "2026-01-01T00:00",
            ["2026-07-01T10:00", "2026-07-01T10:30"],
        ),
        # startOn does not hold back an `after` that is already later.
        ("0 9 * * *", "UTC", {"start_on": date(2026, 5, 1)}, "2026-06-01T12:00", ["2026-06-02T09:00"]),
        # After endOn there is nothing left.
        ("0 9 * * *", "UTC", {"end_on": date(2026, 5, 3)}, "2026-05-03T09:00", []),
    ],
)
def test_bounds(expression: str, zone: str, bounds: dict, after: str, expected: list[str]) -> None:
    fires = instants(cron(expression, zone, **bounds), after, len(expected) + 1)
    # With an endOn the series must stop right there; without one only the first fires are checked.
    assert (fires if "end_on" in bounds else fires[: len(expected)]) == expected


@pytest.mark.parametrize(
    ("bounds", "after", "expected"),
    [
        (
            {"end_on": utc("2026-05-03T09:00")},
            "2026-05-01T00:00",
            ["2026-05-01T09:00", "2026-05-02T09:00", "2026-05-03T09:00"],
        ),
        ({"end_on": date(2026, 5, 2)}, "2026-05-01T00:00", ["2026-05-01T09:00", "2026-05-02T09:00"]),
        ({"end_on": date(2026, 5, 2)}, "2026-05-03T00:00", []),
    ],
)
def test_end_on_stops_the_series(bounds: dict, after: str, expected: list[str]) -> None:
    schedule = cron("0 9 * * *", "UTC", **bounds)
    assert instants(schedule, after, 100) == expected
    assert next_fire_time(schedule, utc(after)) == (utc(expected[0]) if expected else None)


def test_naive_start_in_gap_starts_when_the_gap_ends() -> None:
    schedule = cron("*/10 * * * *", "America/New_York", start_on=datetime(2026, 3, 8, 2, 30))
    assert instants(schedule, "2026-03-01T00:00", 2) == ["2026-03-08T07:00", "2026-03-08T07:10"]


# --- simple intervals --------------------------------------------------------------------------------


def simple(interval: str, zone: str, **fields: Any) -> Schedule:
    return parse_schedule(interval=interval, interval_type="simple", timezone=zone, **fields)


@pytest.mark.parametrize(
    ("interval", "zone", "fields", "after", "expected"),
    [
        # Minutes and hours are elapsed time, whatever the clock does.
        (
            "90 minutes",
            "America/New_York",
            {"start_on": utc("2026-03-08T05:00")},
            "2026-03-01T00:00",
            ["2026-03-08T05:00", "2026-03-08T06:30", "2026-03-08T08:00"],
        ),
        (
            "1 hour",
            "America/New_York",
            {"start_on": utc("2026-11-01T04:00")},
            "2026-10-01T00:00",
            ["2026-11-01T04:00", "2026-11-01T05:00", "2026-11-01T06:00", "2026-11-01T07:00"],
        ),
        (
            "1 Hours",
            "Europe/Berlin",
            {"anchor": utc("2026-03-29T00:30")},
            "2026-03-29T00:30",
            ["2026-03-29T01:30", "2026-03-29T02:30"],
        ),
        # Days keep the local time of day: 08:00 in New York is 13:00Z, then 12:00Z after Mar 8.
        (
            "1 day",
            "America/New_York",
            {"start_on": datetime(2026, 3, 6, 8, 0)},
            "2026-03-01T00:00",
            ["2026-03-06T13:00", "2026-03-07T13:00", "2026-03-08T12:00", "2026-03-09T12:00"],
        ),
        (
            "1 day",
            "America/New_York",
            {"start_on": datetime(2026, 10, 30, 8, 0)},
            "2026-10-31T00:00",
            ["2026-10-31T12:00", "2026-11-01T13:00", "2026-11-02T13:00"],
        ),
        # A local time in the gap shifts to its end; in the repeated hour the first occurrence runs.
        (
            "1 day",
            "America/New_York",
            {"start_on": datetime(2026, 3, 7, 2, 30)},
            "2026-03-01T00:00",
            ["2026-03-07T07:30", "2026-03-08T07:00", "2026-03-09T06:30"],
        ),
        (
            "1 day",
            "America/New_York",
            {"start_on": datetime(2026, 10, 31, 1, 30)},
            "2026-10-01T00:00",
            ["2026-10-31T05:30", "2026-11-01T05:30", "2026-11-02T06:30"],
        ),
        (
            "1 day",
            "America/New_York",
            {"start_on": datetime(2026, 10, 31, 1, 30), "dst_policy": {"repeat": "both"}},
            "2026-10-01T00:00",
            ["2026-10-31T05:30", "2026-11-01T05:30", "2026-11-01T06:30", "2026-11-02T06:30"],
        ),
        (
            "1 day",
            "America/New_York",
            {"start_on": datetime(2026, 3, 7, 2, 30), "dst_policy": {"gap": "skip"}},
            "2026-03-01T00:00",
            ["2026-03-07T07:30", "2026-03-09T06:30"],
        ),
        (
            "2 weeks",
            "Europe/Berlin",
            {"start_on": datetime(2026, 3, 16, 9, 0)},
            "2026-03-01T00:00",
            ["2026-03-16T08:00", "2026-03-30T07:00", "2026-04-13T07:00"],
        ),
        # Months from Jan 31: the last day of shorter months, never drifting (Mar 31, not Mar 28).
        (
            "1 month",
            "Europe/Berlin",
            {"start_on": datetime(2026, 1, 31, 8, 0)},
            "2026-01-01T00:00",
            ["2026-01-31T07:00", "2026-02-28T07:00", "2026-03-31T06:00", "2026-04-30T06:00", "2026-05-31T06:00"],
        ),
        (
            "1 month",
            "UTC",
            {"start_on": datetime(2028, 1, 31, 8, 0)},
            "2028-01-01T00:00",
            ["2028-01-31T08:00", "2028-02-29T08:00", "2028-03-31T08:00"],
        ),
        (
            "3 months",
            "UTC",
            {"start_on": date(2026, 11, 30)},
            "2026-01-01T00:00",
            ["2026-11-30T00:00", "2027-02-28T00:00", "2027-05-30T00:00", "2027-08-30T00:00"],
        ),
        # Without startOn the series counts from the moment the schedule was saved.
        (
            "15 minutes",
            "UTC",
            {"anchor": utc("2026-05-01T10:03:27")},
            "2026-05-01T10:03:27",
            ["2026-05-01T10:18", "2026-05-01T10:33"],
        ),
        # Far from the anchor the position is computed, not walked to.
        (
            "1 minute",
            "UTC",
            {"start_on": utc("2026-01-01T00:00")},
            "2100-06-01T12:00",
            ["2100-06-01T12:01", "2100-06-01T12:02"],
        ),
        ("1 day", "Europe/Berlin", {"start_on": datetime(2026, 1, 1, 8, 0)}, "2090-07-01T12:00", ["2090-07-02T06:00"]),
        (
            "1 month",
            "UTC",
            {"start_on": datetime(2026, 1, 31, 8, 0), "end_on": date(2026, 4, 29)},
            "2026-01-01T00:00",
            ["2026-01-31T08:00", "2026-02-28T08:00", "2026-03-31T08:00"],
        ),
    ],
)
def test_simple_intervals(interval: str, zone: str, fields: dict, after: str, expected: list[str]) -> None:
    fires = instants(simple(interval, zone, **fields), after, len(expected) + 1)
    assert (fires if "end_on" in fields else fires[: len(expected)]) == expected


def test_simple_keeps_whole_seconds_of_anchor() -> None:
    schedule = simple("15 minutes", "UTC", anchor=datetime(2026, 5, 1, 10, 3, 27, 500_000, tzinfo=UTC))
    assert next_fire_time(schedule, utc("2026-05-01T10:10")) == datetime(2026, 5, 1, 10, 18, 27, tzinfo=UTC)
    # The save moment itself is the first fire, so asking from that moment never returns it.
    assert next_fire_time(schedule, datetime(2026, 5, 1, 10, 3, 27, 600_000, tzinfo=UTC)) == utc("2026-05-01T10:18:27")


def test_start_on_with_microseconds_is_rounded_up() -> None:
    schedule = parse_schedule(
        interval=None, interval_type="once", timezone="UTC", start_on=datetime(2026, 5, 1, 10, 0, 0, 1, tzinfo=UTC)
    )
    assert next_fire_time(schedule, utc("2026-05-01T09:00")) == utc("2026-05-01T10:00:01")


def test_simple_daily_local_time_is_stable_over_a_year() -> None:
    schedule = simple("1 day", "Europe/Berlin", start_on=datetime(2026, 1, 1, 8, 0))
    fires = fire_times(schedule, utc("2026-01-01T00:00"), 365)
    assert {fire.local.strftime("%H:%M") for fire in fires} == {"08:00"}
    assert {fire.at.hour for fire in fires} == {6, 7}


# --- once --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_on", "zone", "after", "expected"),
    [
        (datetime(2026, 6, 1, 12, 0), "Europe/Berlin", "2026-01-01T00:00", "2026-06-01T10:00"),
        (datetime(2026, 6, 1, 12, 0), "Europe/Berlin", "2026-06-01T09:59:59", "2026-06-01T10:00"),
        (datetime(2026, 6, 1, 12, 0), "Europe/Berlin", "2026-06-01T10:00", None),
        (datetime(2026, 6, 1, 12, 0), "Europe/Berlin", "2026-07-01T00:00", None),
        (utc("2026-06-01T12:00"), "Asia/Kathmandu", "2026-01-01T00:00", "2026-06-01T12:00"),
        (date(2026, 6, 1), "America/New_York", "2026-01-01T00:00", "2026-06-01T04:00"),
        (date(2026, 9, 6), "America/Santiago", "2026-01-01T00:00", "2026-09-06T04:00"),
    ],
)
def test_once(start_on: date | datetime, zone: str, after: str, expected: str | None) -> None:
    schedule = parse_schedule(interval=None, interval_type="once", timezone=zone, start_on=start_on)
    assert next_fire_time(schedule, utc(after)) == (utc(expected) if expected else None)
    assert instants(schedule, after, 5) == ([expected] if expected else [])


def test_once_on_missing_midnight_is_shifted() -> None:
    schedule = parse_schedule(
        interval=None, interval_type="once", timezone="America/Santiago", start_on=date(2026, 9, 6)
    )
    (fire,) = fire_times(schedule, utc("2026-01-01T00:00"), 5)
    assert fire.shifted
    assert fire.local.replace(tzinfo=None) == datetime(2026, 9, 6, 1, 0)


# --- API details -------------------------------------------------------------------------------------


def test_after_must_be_aware() -> None:
    schedule = cron("0 9 * * *", "UTC")
    with pytest.raises(ValueError, match="aware"):
        next_fire_time(schedule, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        iter_fire_times(schedule, datetime(2026, 1, 1))


def test_after_in_another_zone_and_with_microseconds() -> None:
    schedule = cron("0 9 * * *", "UTC")
    berlin = datetime(2026, 5, 1, 11, 0, 0, 1, tzinfo=ZoneInfo("Europe/Berlin"))  # 09:00:00.000001Z
    assert next_fire_time(schedule, berlin) == utc("2026-05-02T09:00")
    assert next_fire_time(schedule, berlin - timedelta(microseconds=2)) == utc("2026-05-01T09:00")


def test_fire_times_count() -> None:
    schedule = cron("*/5 * * * *", "UTC")
    assert fire_times(schedule, utc("2026-01-01T00:00"), 0) == []
    fires = fire_times(schedule, utc("2026-01-01T00:00"), 1000)
    assert len(fires) == 1000
    assert all(isinstance(fire, FireTime) for fire in fires)
    assert fires[-1].at == utc("2026-01-04T11:20")
    with pytest.raises(ValueError):
        fire_times(schedule, utc("2026-01-01T00:00"), -1)


def test_schedule_is_immutable_and_reusable() -> None:
    schedule = cron("0 9 * * *", "Europe/Berlin")
    with pytest.raises(AttributeError):
        schedule.timezone = "UTC"  # type: ignore[misc]
    assert schedule == cron("0 9 * * *", "Europe/Berlin")
    assert fire_times(schedule, utc("2026-01-01T00:00"), 3) == fire_times(schedule, utc("2026-01-01T00:00"), 3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DstPolicy("shift", "first")),
        ({}, DstPolicy("shift", "first")),
        ({"gap": "skip"}, DstPolicy("skip", "first")),
        ({"repeat": "both"}, DstPolicy("shift", "both")),
        ({"gap": "skip", "repeat": "both"}, DstPolicy("skip", "both")),
        (DstPolicy("skip", "both"), DstPolicy("skip", "both")),
    ],
)
def test_parse_dst_policy(value: Any, expected: DstPolicy) -> None:
    assert parse_dst_policy(value) == expected


@pytest.mark.parametrize("day", ["mon", "tue", "wed", "thu", "fri", "sat", "1", "5"])
def test_a_range_ending_on_sunday_by_name_equals_one_ending_on_7(day: str) -> None:
    assert parse_cron(f"0 0 * * {day}-sun").weekdays == parse_cron(f"0 0 * * {day}-7").weekdays


def test_validate_timezone() -> None:
    assert validate_timezone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    with pytest.raises(ScheduleError) as caught:
        validate_timezone("Mars/Base")
    assert caught.value.field == "timezone"
    assert str(caught.value) == caught.value.message == "Unknown time zone 'Mars/Base'."


# --- invalid input -----------------------------------------------------------------------------------

VALID = {"interval": "0 9 * * *", "interval_type": "cron", "timezone": "UTC"}

# fmt: off
INVALID_CASES = [
    # id, overrides of VALID, field, message fragment
    ("cron-minute-range", {"interval": "61 * * * *"}, "interval",
     "Invalid cron expression '61 * * * *': minute 61 is out of range 0-59."),
    ("cron-hour-range", {"interval": "0 24 * * *"}, "interval", "hour 24 is out of range 0-23"),
    ("cron-dom-zero", {"interval": "0 0 0 * *"}, "interval", "day-of-month 0 is out of range 1-31"),
    ("cron-month-range", {"interval": "0 0 * 13 *"}, "interval", "month 13 is out of range 1-12"),
    ("cron-dow-range", {"interval": "0 0 * * 8"}, "interval", "day-of-week 8 is out of range 0-7"),
    ("cron-feb-30", {"interval": "0 0 30 2 *"}, "interval", "The cron expression '0 0 30 2 *' can never fire."),
    ("cron-short-months-31", {"interval": "0 0 31 4,6,9,11 *"}, "interval", "can never fire"),
    ("cron-four-fields", {"interval": "* * * *"}, "interval", "expected 5 fields"),
    ("cron-seconds-field", {"interval": "0 0 9 * * *"}, "interval", "expected 5 fields"),
    ("cron-seven-fields", {"interval": "0 0 9 * * * 2026"}, "interval", "expected 5 fields"),
    ("cron-last", {"interval": "0 0 L * *"}, "interval", "'L'"),
    ("cron-last-weekday", {"interval": "0 0 * * 5L"}, "interval", "'L'"),
    ("cron-nearest-weekday", {"interval": "0 0 15W * *"}, "interval", "'W'"),
    ("cron-nth-weekday", {"interval": "0 0 * * 1#2"}, "interval", "'#'"),
    ("cron-question-mark", {"interval": "0 0 ? * 1"}, "interval", "'?'"),
    ("cron-hash", {"interval": "H * * * *"}, "interval", "'H' is not a valid minute value"),
    ("cron-reversed-range", {"interval": "0 0 * * sat-mon"}, "interval",
     "range sat-mon in the day-of-week field is reversed"),
    ("cron-reversed-to-zero", {"interval": "0 0 * * 5-0"}, "interval", "reversed; write 7 for Sunday"),
    ("cron-superscript-step", {"interval": "*/\u00b2 * * * *"}, "interval",
     "U+00B2 (SUPERSCRIPT TWO) in the minute field is not allowed"),
    ("cron-superscript-range-step", {"interval": "1-10/\u00b9 * * * *"}, "interval",
     "U+00B9 (SUPERSCRIPT ONE) in the minute field is not allowed"),
    ("cron-arabic-indic-step", {"interval": "*/\u0661\u0665 * * * *"}, "interval",
     "U+0661 (ARABIC-INDIC DIGIT ONE) in the minute field is not allowed"),
    ("cron-fullwidth-step", {"interval": "*/\uff11\uff15 * * * *"}, "interval",
     "U+FF11 (FULLWIDTH DIGIT ONE) in the minute field is not allowed"),
    ("cron-fullwidth-hour", {"interval": "0 \uff19 * * *"}, "interval",
     "U+FF19 (FULLWIDTH DIGIT NINE) in the hour field is not allowed"),
    ("cron-arabic-indic-month", {"interval": "0 0 1 \u0663 *"}, "interval",
     "U+0663 (ARABIC-INDIC DIGIT THREE) in the month field is not allowed"),
    ("cron-kelvin-sign-name", {"interval": "0 0 * * \u212aun"}, "interval",
     "U+212A (KELVIN SIGN) in the day-of-week field is not allowed"),
    ("cron-no-break-space", {"interval": "0\u00a00 * * * *"}, "interval",
     "U+00A0 (NO-BREAK SPACE) in the minute field is not allowed"),
    ("cron-ideographic-space", {"interval": "0 0\u3000* * *"}, "interval",
     "U+3000 (IDEOGRAPHIC SPACE) in the hour field is not allowed"),
    ("cron-trailing-no-break-space", {"interval": "0 0 * * *\u00a0"}, "interval",
     "U+00A0 (NO-BREAK SPACE) in the day-of-week field is not allowed"),
    ("cron-newline", {"interval": "0 0 * *\n*"}, "interval",
     "U+000A (a control character) in the month field is not allowed"),
    ("cron-huge-step", {"interval": "*/99999999999999999999 * * * *"}, "interval",
     "step 99999999999999999999 in the minute field is larger than the field's range 0-59"),
    ("cron-minute-step-61", {"interval": "*/61 * * * *"}, "interval", "step 61 in the minute field is larger"),
    ("cron-hour-step-25", {"interval": "0 */25 * * *"}, "interval", "step 25 in the hour field is larger"),
    ("cron-dom-step-32", {"interval": "0 0 1-31/32 * *"}, "interval", "step 32 in the day-of-month field is larger"),
    ("cron-month-step-13", {"interval": "0 0 1 */13 *"}, "interval", "step 13 in the month field is larger"),
    ("cron-dow-step-9", {"interval": "0 0 * * mon/9"}, "interval", "step 9 in the day-of-week field is larger"),
    ("cron-huge-minute", {"interval": "99999999999999999999 * * * *"}, "interval",
     "minute 99999999999999999999 is out of range 0-59"),
    ("cron-step-zero", {"interval": "*/0 * * * *"}, "interval", "step 0"),
    ("cron-bad-step", {"interval": "*/x * * * *"}, "interval", "step 'x'"),
    ("cron-bad-month-name", {"interval": "0 0 * foo *"}, "interval", "'foo' is not a valid month"),
    ("cron-day-name-in-month", {"interval": "0 0 * mon *"}, "interval", "'mon' is not a valid month"),
    ("cron-name-in-minute", {"interval": "jan * * * *"}, "interval", "'jan' is not a valid minute value"),
    ("cron-empty-item", {"interval": "1,,2 * * * *"}, "interval", "empty list item in the minute field"),
    ("cron-unknown-alias", {"interval": "@reboot"}, "interval", "unknown alias '@reboot'"),
    ("cron-missing", {"interval": None}, "interval", "interval is required"),
    ("cron-blank", {"interval": "   "}, "interval", "interval is required"),
    ("simple-unknown-unit", {"interval_type": "simple", "interval": "2 fortnights"}, "interval",
     "Unknown interval unit 'fortnights'"),
    ("simple-seconds", {"interval_type": "simple", "interval": "30 seconds"}, "interval",
     "the shortest interval is 1 minute"),
    ("simple-zero", {"interval_type": "simple", "interval": "0 minutes"}, "interval", "at least 1"),
    ("simple-negative", {"interval_type": "simple", "interval": "-5 minutes"}, "interval", "at least 1"),
    ("simple-fraction", {"interval_type": "simple", "interval": "0.5 minutes"}, "interval", "whole number"),
    ("simple-no-unit", {"interval_type": "simple", "interval": "15"}, "interval", "'<number> <unit>'"),
    ("simple-words", {"interval_type": "simple", "interval": "every day"}, "interval", "'<number> <unit>'"),
    ("simple-too-long", {"interval_type": "simple", "interval": "40000 days"}, "interval", "100 years"),
    ("simple-huge", {"interval_type": "simple", "interval": "9" * 5000 + " minutes"}, "interval", "100 years"),
    ("simple-zeros", {"interval_type": "simple", "interval": "000 minutes"}, "interval", "at least 1"),
    ("simple-fullwidth", {"interval_type": "simple", "interval": "\uff11\uff15 minutes"}, "interval",
     "U+FF11 (FULLWIDTH DIGIT ONE) is not allowed"),
    ("simple-arabic-indic", {"interval_type": "simple", "interval": "\u0661\u0665 minutes"}, "interval",
     "U+0661 (ARABIC-INDIC DIGIT ONE) is not allowed"),
    ("simple-superscript", {"interval_type": "simple", "interval": "\u00b2 hours"}, "interval",
     "U+00B2 (SUPERSCRIPT TWO) is not allowed"),
    ("simple-no-break-space", {"interval_type": "simple", "interval": "15\u00a0minutes"}, "interval",
     "U+00A0 (NO-BREAK SPACE) is not allowed"),
    ("simple-ideographic-space", {"interval_type": "simple", "interval": "15 minutes\u3000"}, "interval",
     "U+3000 (IDEOGRAPHIC SPACE) is not allowed"),
    ("simple-missing", {"interval_type": "simple", "interval": None}, "interval", "interval is required"),
    ("type-unknown", {"interval_type": "daily"}, "intervalType", "Unknown intervalType 'daily'"),
    ("type-missing", {"interval_type": None}, "intervalType", "intervalType"),
    ("zone-unknown", {"timezone": "Mars/Base"}, "timezone", "Unknown time zone 'Mars/Base'."),
    ("zone-blank", {"timezone": ""}, "timezone", "time zone is required"),
    ("zone-host-local", {"timezone": "localtime"}, "timezone", "Unknown time zone 'localtime'."),
    ("zone-path", {"timezone": "../etc/passwd"}, "timezone", "Unknown time zone"),
    ("zone-absolute", {"timezone": "/etc/localtime"}, "timezone", "Unknown time zone '/etc/localtime'."),
    ("zone-nul", {"timezone": "UTC\x00"}, "timezone", "Unknown time zone"),
    ("zone-too-long", {"timezone": "A" * 10_000}, "timezone",
     "The time zone name is 10000 characters long; IANA names have at most 64."),
    ("zone-long-path", {"timezone": "Europe/" + "x" * 300}, "timezone", "307 characters long"),
    ("policy-gap", {"dst_policy": {"gap": "later"}}, "dstPolicy", "Invalid dstPolicy gap 'later'"),
    ("policy-repeat", {"dst_policy": {"repeat": "twice"}}, "dstPolicy", "Invalid dstPolicy repeat 'twice'"),
    ("policy-key", {"dst_policy": {"fold": "first"}}, "dstPolicy", "Unknown dstPolicy key 'fold'"),
    ("policy-type", {"dst_policy": "shift"}, "dstPolicy", "must be an object"),
    ("once-without-start", {"interval_type": "once", "interval": None}, "startOn", "needs startOn"),
    ("start-wrong-type", {"start_on": "2026-01-01"}, "startOn", "startOn must be a date or a datetime"),
    ("end-wrong-type", {"end_on": 20260101}, "endOn", "endOn must be a date or a datetime"),
    ("end-before-start", {"start_on": date(2026, 5, 2), "end_on": date(2026, 5, 1)}, "endOn",
     "endOn 2026-05-01 is before startOn 2026-05-02."),
    ("end-before-start-time", {"start_on": utc("2026-05-02T10:00"), "end_on": utc("2026-05-02T09:59")}, "endOn",
     "is before startOn"),
]
# fmt: on


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"), [pytest.param(*case[1:], id=case[0]) for case in INVALID_CASES]
)
def test_invalid_schedules(overrides: dict, field: str, fragment: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(**{**VALID, **overrides})
    assert caught.value.field == field
    assert fragment in caught.value.message
    assert str(caught.value) == caught.value.message
    assert caught.value.message.endswith(".")


def test_same_day_bounds_are_valid() -> None:
    schedule = cron("0 * * * *", "UTC", start_on=date(2026, 5, 1), end_on=date(2026, 5, 1))
    assert len(fire_times(schedule, utc("2026-01-01T00:00"), 100)) == 24


def test_direct_dst_policy_is_validated() -> None:
    with pytest.raises(ScheduleError) as caught:
        DstPolicy(gap="later")
    assert caught.value.field == "dstPolicy"


@pytest.mark.parametrize("interval", ["15 minutes", " 15  minutes ", "15\tminutes", "\t15minutes", "015 Minutes"])
def test_simple_interval_separators_are_ascii_spaces_and_tabs(interval: str) -> None:
    schedule = parse_schedule(interval=interval, interval_type="simple", timezone="UTC", anchor=utc("2026-05-01T00:00"))
    assert instants(schedule, "2026-05-01T00:00", 2) == ["2026-05-01T00:15", "2026-05-01T00:30"]
