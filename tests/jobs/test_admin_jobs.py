"""The job page of the Django admin shows the next five fire times, local and UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import JobFactory, UserFactory

PASSWORD = "secret-pass-123"  # the factories' password
DISABLED_NOTE = "<p>Disabled: these are shown but will not fire.</p>"


@pytest.fixture
def admin_client(client: Any, tenant: Any) -> Any:
    """The Django test client for a superuser; `change_page` logs it in."""
    UserFactory(username="root", tenant=tenant, is_superuser=True, is_staff=True)
    return client


def change_page(client: Any, job: Any, moment: datetime) -> str:
    """The job's change page as it reads at ``moment`` (logged in then, so the session is fresh)."""
    with time_machine.travel(moment, tick=False):
        assert client.login(username="root", password=PASSWORD)
        response = client.get(f"/admin/jobs/job/{job.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def fire_list(zone: str, walls: list[datetime], moved: frozenset[int] = frozenset()) -> str:
    """The list the page must show, computed with zoneinfo alone: each local wall time and its UTC."""
    rows = []
    for index, wall in enumerate(walls):
        local = wall.replace(tzinfo=ZoneInfo(zone))
        utc = local.astimezone(UTC)
        note = " (moved by DST)" if index in moved else ""
        rows.append(f"<li>{local:%Y-%m-%d %H:%M %Z} &nbsp;({utc:%Y-%m-%d %H:%M} UTC){note}</li>")
    return f"<ul>{''.join(rows)}</ul>"


# (id, job fields, the frozen moment, the expected list)
UPCOMING: list[tuple[str, dict[str, Any], datetime, str]] = [
    (
        "daily in Berlin across spring forward",
        {"interval": "0 8 * * *", "timezone": "Europe/Berlin"},
        datetime(2026, 3, 27, 12, 0, tzinfo=UTC),
        fire_list("Europe/Berlin", [datetime(2026, 3, day, 8) for day in (28, 29, 30, 31)] + [datetime(2026, 4, 1, 8)]),
    ),
    (
        "02:30 in New York: the skipped one runs at 03:00",
        {"interval": "30 2 * * *", "timezone": "America/New_York"},
        datetime(2026, 3, 6, 12, 0, tzinfo=UTC),
        fire_list(
            "America/New_York",
            [datetime(2026, 3, 7, 2, 30), datetime(2026, 3, 8, 3, 0)]
            + [datetime(2026, 3, day, 2, 30) for day in (9, 10, 11)],
            moved=frozenset({1}),
        ),
    ),
    (
        "hourly in New York across fall back",
        {"interval": "0 * * * *", "timezone": "America/New_York"},
        datetime(2026, 11, 1, 4, 30, tzinfo=UTC),
        "<ul>"
        "<li>2026-11-01 01:00 EDT &nbsp;(2026-11-01 05:00 UTC)</li>"
        "<li>2026-11-01 01:00 EST &nbsp;(2026-11-01 06:00 UTC)</li>"
        "<li>2026-11-01 02:00 EST &nbsp;(2026-11-01 07:00 UTC)</li>"
        "<li>2026-11-01 03:00 EST &nbsp;(2026-11-01 08:00 UTC)</li>"
        "<li>2026-11-01 04:00 EST &nbsp;(2026-11-01 09:00 UTC)</li>"
        "</ul>",
    ),
    (
        "once",
        {"interval": "", "interval_type": "once", "start_on": "2026-03-05T10:00:00Z", "timezone": "Asia/Tokyo"},
        datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        fire_list("Asia/Tokyo", [datetime(2026, 3, 5, 19, 0)]),
    ),
]


@pytest.mark.parametrize(
    ("fields", "moment", "expected"), [case[1:] for case in UPCOMING], ids=[case[0] for case in UPCOMING]
)
def test_change_page_shows_the_next_five_fire_times(admin_client, owner, fields, moment, expected):
    job = JobFactory(owner=owner, **fields)

    page = change_page(admin_client, job, moment)

    assert "Next fire times" in page
    assert expected in page
    assert DISABLED_NOTE not in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"interval": "0 0 30 2 *"}, "The cron expression '0 0 30 2 *' can never fire."),
        ({"interval": "61 * * * *"}, "Invalid cron expression '61 * * * *': minute 61 is out of range 0-59."),
        ({"timezone": "Mars/Olympus"}, "Unknown time zone 'Mars/Olympus'."),
        ({"interval_type": "once", "interval": ""}, "A one-off (once) schedule needs startOn: the moment it runs."),
    ],
)
def test_an_invalid_stored_schedule_is_named_not_raised(admin_client, owner, fields, message):
    job = JobFactory(owner=owner, **fields)

    page = change_page(admin_client, job, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))

    assert escape(f"Invalid schedule: {message}") in page
    assert "<li>" not in page.split("Next fire times", 1)[1].split("</fieldset>", 1)[0]


def test_a_disabled_job_shows_its_fire_times_with_the_note(admin_client, owner):
    job = JobFactory(owner=owner, interval="0 8 * * *", timezone="Europe/Berlin", enabled=False)

    page = change_page(admin_client, job, datetime(2026, 3, 27, 12, 0, tzinfo=UTC))

    assert UPCOMING[0][3] + DISABLED_NOTE in page


def test_a_schedule_that_has_ended_says_so(admin_client, owner):
    job = JobFactory(owner=owner, interval="0 8 * * *", end_on="2026-02-28")

    page = change_page(admin_client, job, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))

    assert "No upcoming fire times." in page


def test_the_add_page_renders(admin_client):
    assert admin_client.login(username="root", password=PASSWORD)

    response = admin_client.get("/admin/jobs/job/add/")

    assert response.status_code == 200
