"""The manual-only schedule (``none``) in the pure engine, and how a write's intervalType is read."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from jobs import schedule

AFTER = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("interval", [None, "", "0 8 * * *", "15 minutes", "not a schedule"])
def test_a_manual_only_schedule_never_fires_whatever_its_interval(interval):
    parsed = schedule.parse_schedule(interval=interval, interval_type="none", timezone="Europe/Berlin")

    assert parsed.interval_type == "none"
    assert schedule.next_fire_time(parsed, AFTER) is None
    assert schedule.fire_times(parsed, AFTER, 1000) == []
    assert list(schedule.iter_fire_times(parsed, datetime(1970, 1, 1, tzinfo=UTC))) == []


def test_a_manual_only_schedule_still_checks_its_zone_and_bounds():
    with pytest.raises(schedule.ScheduleError) as zone:
        schedule.parse_schedule(interval=None, interval_type="none", timezone="Mars/Olympus")
    with pytest.raises(schedule.ScheduleError) as bounds:
        schedule.parse_schedule(
            interval=None, interval_type="none", timezone="UTC", start_on=date(2026, 3, 5), end_on=date(2026, 3, 4)
        )

    assert zone.value.field == "timezone"
    assert (bounds.value.field, bounds.value.message) == ("endOn", "endOn 2026-03-04 is before startOn 2026-03-05.")


def test_an_unknown_interval_type_lists_none():
    with pytest.raises(schedule.ScheduleError) as error:
        schedule.parse_schedule(interval="0 8 * * *", interval_type="weekly", timezone="UTC")

    assert (error.value.field, error.value.message) == (
        "intervalType",
        "Unknown intervalType 'weekly': expected 'cron', 'simple', 'once' or 'none'.",
    )


# (interval, intervalType sent, the schedule's type before the write or None on a create, the type read)
READ: list[tuple[str | None, str | None, str | None, str]] = [
    (None, None, None, "none"),
    ("", None, None, "none"),
    (" \t", None, None, "none"),
    ("0 8 * * *", None, None, "cron"),
    ("", "cron", None, "cron"),  # sent explicitly: the engine then says the interval is missing
    ("0 8 * * *", "none", None, "none"),
    ("", None, "cron", "none"),
    ("", None, "simple", "none"),
    ("0 8 * * *", None, "cron", "cron"),
    ("", None, "once", "once"),
    ("0 8 * * *", None, "none", "none"),
    ("", "simple", "cron", "simple"),
]


@pytest.mark.parametrize(("interval", "given", "current", "expected"), READ)
def test_interval_type_for(interval, given, current, expected):
    assert schedule.interval_type_for(interval, given=given, current=current) == expected
