"""How the admin writes times and durations: seconds and a zone on every time, one format everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.utils import display_for_value

from informer.admin.display import admin_duration, admin_time, admin_time_cell

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        (datetime(2026, 12, 3, 7, 41, 5, tzinfo=UTC), None, "2026-12-03 07:41:05 UTC"),
        (datetime(2026, 12, 3, 7, 41, 5, 999_999, tzinfo=UTC), None, "2026-12-03 07:41:05 UTC"),
        (datetime(2026, 12, 3, 7, 41, 5, tzinfo=ZoneInfo("Europe/Berlin")), None, "2026-12-03 06:41:05 UTC"),
        (datetime(2026, 12, 3, 7, 41, 5, tzinfo=UTC), NEW_YORK, "2026-12-03 02:41:05 EST"),
        # The wall time that occurs twice keeps its zone (Django's own date_format drops it there).
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), NEW_YORK, "2026-11-01 01:30:00 EDT"),
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), NEW_YORK, "2026-11-01 01:30:00 EST"),
        (datetime(2026, 12, 3, 7, 41, 5), None, "2026-12-03 07:41:05 UTC"),  # naive: stored times are UTC
        ("2026-12-03T07:41:05.123456+00:00", None, "2026-12-03 07:41:05 UTC"),  # progress entries hold ISO text
        ("2026-12-03 08:41:05+01:00", None, "2026-12-03 07:41:05 UTC"),
        (None, None, "-"),
        ("", None, "-"),
    ],
)
def test_admin_time(value, zone, expected):
    assert admin_time(value, zone) == expected


def test_django_admin_formats_its_own_date_time_fields_the_same_way():
    moment = datetime(2026, 12, 3, 7, 41, 5, tzinfo=UTC)

    assert display_for_value(moment, "-") == admin_time(moment) == "2026-12-03 07:41:05 UTC"


def test_a_list_cell_breaks_only_between_the_date_and_the_clock():
    cell = admin_time_cell(datetime(2026, 12, 3, 7, 41, 5, tzinfo=UTC))

    assert cell == '<span class="nowrap">2026-12-03</span> <span class="nowrap">07:41:05 UTC</span>'
    assert admin_time_cell(None) == "-"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, "-"),
        (0, "0.0 s"),
        (4.24, "4.2 s"),
        (59.94, "59.9 s"),
        (60, "1 min 00 s"),
        (185.7, "3 min 05 s"),
        (3599, "59 min 59 s"),
        (3600, "1 h 00 min"),
        (7390, "2 h 03 min"),
        (90_000, "25 h 00 min"),
    ],
)
def test_admin_duration(seconds, expected):
    assert admin_duration(seconds) == expected
