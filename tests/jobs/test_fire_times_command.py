"""``manage.py fire_times``: a schedule's next fire times as a table, local and UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
NEW_YORK = "--timezone=America/New_York"
HEADER_NEW_YORK = "   #  local (America/New_York)         UTC                   note"
HEADER_UTC = "   #  local (UTC)                      UTC                   note"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def fire_times(*args: str) -> list[str]:
    out = StringIO()
    call_command("fire_times", *args, stdout=out)
    return out.getvalue().splitlines()


# (id, arguments, the printed lines)
TABLES: list[tuple[str, list[str], list[str]]] = [
    (
        "spring forward: the 02:30 job runs when the gap ends",
        ["30 2 * * *", NEW_YORK, "--after=2026-03-07T00:00:00Z", "--count=3"],
        [
            HEADER_NEW_YORK,
            "   1  2026-03-07 02:30:00 EST-0500     2026-03-07T07:30:00Z",
            "   2  2026-03-08 03:00:00 EDT-0400     2026-03-08T07:00:00Z  shifted by DST",
            "   3  2026-03-09 02:30:00 EDT-0400     2026-03-09T06:30:00Z",
        ],
    ),
    (
        "spring forward with --dst-policy skip",
        ["30 2 * * *", NEW_YORK, "--after=2026-03-07T00:00:00Z", "--count=3", '--dst-policy={"gap": "skip"}'],
        [
            HEADER_NEW_YORK,
            "   1  2026-03-07 02:30:00 EST-0500     2026-03-07T07:30:00Z",
            "   2  2026-03-09 02:30:00 EDT-0400     2026-03-09T06:30:00Z",
            "   3  2026-03-10 02:30:00 EDT-0400     2026-03-10T06:30:00Z",
        ],
    ),
    (
        "fall back: the 01:30 job runs once",
        ["30 1 * * *", NEW_YORK, "--after=2026-10-31T00:00:00Z", "--count=3"],
        [
            HEADER_NEW_YORK,
            "   1  2026-10-31 01:30:00 EDT-0400     2026-10-31T05:30:00Z",
            "   2  2026-11-01 01:30:00 EDT-0400     2026-11-01T05:30:00Z  repeated hour, once",
            "   3  2026-11-02 01:30:00 EST-0500     2026-11-02T06:30:00Z",
        ],
    ),
    (
        "fall back with --dst-policy repeat both",
        ["30 1 * * *", NEW_YORK, "--after=2026-10-31T00:00:00Z", "--count=3", '--dst-policy={"repeat": "both"}'],
        [
            HEADER_NEW_YORK,
            "   1  2026-10-31 01:30:00 EDT-0400     2026-10-31T05:30:00Z",
            "   2  2026-11-01 01:30:00 EDT-0400     2026-11-01T05:30:00Z",
            "   3  2026-11-01 01:30:00 EST-0500     2026-11-01T06:30:00Z",
        ],
    ),
    (
        "--count",
        ["0 8 * * *", "--count=2"],
        [
            HEADER_UTC,
            "   1  2026-03-02 08:00:00 UTC+0000     2026-03-02T08:00:00Z",
            "   2  2026-03-03 08:00:00 UTC+0000     2026-03-03T08:00:00Z",
        ],
    ),
    (
        "ten by default, after now",
        ["0 0 * * *"],
        [HEADER_UTC]
        + [f"{n:>4}  2026-03-{n + 1:02d} 00:00:00 UTC+0000     2026-03-{n + 1:02d}T00:00:00Z" for n in range(1, 11)],
    ),
    (
        "--type simple counts from now",
        ["90 minutes", "--type=simple", "--count=2"],
        [
            HEADER_UTC,
            "   1  2026-03-01 13:30:30 UTC+0000     2026-03-01T13:30:30Z",
            "   2  2026-03-01 15:00:30 UTC+0000     2026-03-01T15:00:30Z",
        ],
    ),
    (
        "--type simple with --start-on",
        ["90 minutes", "--type=simple", "--start-on=2026-03-01T00:00:00Z", "--after=2026-03-01T02:00:00Z", "--count=2"],
        [
            HEADER_UTC,
            "   1  2026-03-01 03:00:00 UTC+0000     2026-03-01T03:00:00Z",
            "   2  2026-03-01 04:30:00 UTC+0000     2026-03-01T04:30:00Z",
        ],
    ),
    (
        "--type simple days keep local time across DST",
        ["1 day", "--type=simple", NEW_YORK, "--start-on=2026-03-07T08:00:00", "--count=2"],
        [
            HEADER_NEW_YORK,
            "   1  2026-03-07 08:00:00 EST-0500     2026-03-07T13:00:00Z",
            "   2  2026-03-08 08:00:00 EDT-0400     2026-03-08T12:00:00Z",
        ],
    ),
    (
        "--type once",
        ["--type=once", NEW_YORK, "--start-on=2026-03-08T02:30:00"],
        [HEADER_NEW_YORK, "   1  2026-03-08 03:00:00 EDT-0400     2026-03-08T07:00:00Z"],
    ),
    ("--end-on passed", ["0 8 * * *", "--end-on=2026-02-28"], ["No fire times."]),
    ("--type once spent", ["--type=once", "--start-on=2026-02-01"], ["No fire times."]),
]


@pytest.mark.parametrize(("args", "expected"), [case[1:] for case in TABLES], ids=[case[0] for case in TABLES])
def test_table(args, expected):
    assert fire_times(*args) == expected


# (id, arguments, the exact error)
ERRORS: list[tuple[str, list[str], str]] = [
    (
        "malformed cron",
        ["* * *"],
        (
            "interval: Invalid cron expression '* * *': expected 5 fields "
            "(minute hour day-of-month month day-of-week), got 3."
        ),
    ),
    (
        "cron out of range",
        ["61 * * * *"],
        "interval: Invalid cron expression '61 * * * *': minute 61 is out of range 0-59.",
    ),
    ("cron never fires", ["0 0 30 2 *"], "interval: The cron expression '0 0 30 2 *' can never fire."),
    ("no interval", [], "interval: interval is required for cron schedules, e.g. '0 9 * * 1-5'."),
    ("unknown time zone", ["0 8 * * *", "--timezone=Mars/Olympus"], "timezone: Unknown time zone 'Mars/Olympus'."),
    (
        "simple 0 minutes",
        ["0 minutes", "--type=simple"],
        (
            "interval: Invalid simple interval '0 minutes': the count must be a whole number of at least 1 "
            "(the shortest interval is 1 minute)."
        ),
    ),
    (
        "simple 5 fortnights",
        ["5 fortnights", "--type=simple"],
        "interval: Unknown interval unit 'fortnights' in '5 fortnights': use minutes, hours, days, weeks or months.",
    ),
    (
        "once without --start-on",
        ["--type=once"],
        "startOn: A one-off (once) schedule needs startOn: the moment it runs.",
    ),
    (
        "--end-on before --start-on",
        ["0 8 * * *", "--start-on=2026-03-05", "--end-on=2026-03-04"],
        "endOn: endOn 2026-03-04 is before startOn 2026-03-05.",
    ),
    (
        "--dst-policy gap maybe",
        ["0 8 * * *", '--dst-policy={"gap": "maybe"}'],
        "dstPolicy: Invalid dstPolicy gap 'maybe': expected 'shift' or 'skip'.",
    ),
    (
        "--dst-policy unknown key",
        ["0 8 * * *", '--dst-policy={"foo": 1}'],
        "dstPolicy: Unknown dstPolicy key 'foo': expected 'gap' or 'repeat'.",
    ),
    (
        "--dst-policy not an object",
        ["0 8 * * *", "--dst-policy=[]"],
        ('dstPolicy: dstPolicy must be an object such as {"gap": "shift", "repeat": "first"}.'),
    ),
    ("--dst-policy not JSON", ["0 8 * * *", "--dst-policy={gap"], "--dst-policy: '{gap' is not valid JSON."),
    ("--after not a datetime", ["0 8 * * *", "--after=soon"], "--after: 'soon' is not an ISO 8601 datetime."),
    (
        "--after without offset",
        ["0 8 * * *", "--after=2026-03-08T00:00:00"],
        "--after needs an offset, e.g. 2026-03-08T00:00:00Z.",
    ),
    (
        "--start-on not a date",
        ["0 8 * * *", "--start-on=nope"],
        "--start-on: 'nope' is not an ISO 8601 date (2026-03-01) or datetime (2026-03-01T08:00:00Z).",
    ),
    (
        "--end-on not a date",
        ["0 8 * * *", "--end-on=2026-02-30"],
        "--end-on: '2026-02-30' is not an ISO 8601 date (2026-03-01) or datetime (2026-03-01T08:00:00Z).",
    ),
    ("--count 0", ["0 8 * * *", "--count=0"], "--count must be between 1 and 1000."),
    ("--count 1001", ["0 8 * * *", "--count=1001"], "--count must be between 1 and 1000."),
]


@pytest.mark.parametrize(("args", "message"), [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS])
def test_errors_name_the_field(args, message):
    with pytest.raises(CommandError) as raised:
        fire_times(*args)

    assert str(raised.value) == message


def test_count_1000_is_allowed():
    lines = fire_times("*/5 * * * *", NEW_YORK, "--after=2026-03-08T05:00:00Z", "--count=1000")

    assert len(lines) == 1001
    assert lines[1] == "   1  2026-03-08 00:05:00 EST-0500     2026-03-08T05:05:00Z"
    assert lines[-1] == "1000  2026-03-11 12:20:00 EDT-0400     2026-03-11T16:20:00Z"
