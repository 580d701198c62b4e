"""Time zone names (§5): one check, run before zoneinfo, wherever a name becomes a zone."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from informer import services
from informer.models import Tenant, validate_timezone_name
from informer.timezones import MAX_NAME_LENGTH, UnknownTimeZone, load_zone, zone_names
from jobs import schedule
from jobs.api.schedule_fields import resolve_naive_bound

LONG = "A" * 10_000  # zoneinfo turns this into a file name: ENAMETOOLONG, an OSError
# (name, the message)
BAD_NAMES: list[tuple[str, str]] = [
    (LONG, "The time zone name is 10000 characters long; IANA names have at most 64."),
    ("Europe/" + "x" * 300, "The time zone name is 307 characters long; IANA names have at most 64."),
    ("Mars/Base", "Unknown time zone 'Mars/Base'."),
    ("../etc/passwd", "Unknown time zone '../etc/passwd'."),
    ("/etc/localtime", "Unknown time zone '/etc/localtime'."),
    ("Europe/../UTC", "Unknown time zone 'Europe/../UTC'."),
    ("UTC\x00", "Unknown time zone 'UTC\x00'."),
    ("Europe/Berlin ", "Unknown time zone 'Europe/Berlin '."),
    ("Europe/Berl\u0131n", "Unknown time zone 'Europe/Berl\u0131n'."),
    ("localtime", "Unknown time zone 'localtime'."),
    ("Factory", "Unknown time zone 'Factory'."),
    ("", "A time zone is required, e.g. 'Europe/Berlin'."),
    ("   ", "A time zone is required, e.g. 'Europe/Berlin'."),
]


@pytest.mark.parametrize(("name", "message"), BAD_NAMES, ids=[repr(name[:20]) for name, _ in BAD_NAMES])
def test_every_reader_refuses_a_bad_name_with_the_same_message(name: str, message: str) -> None:
    with pytest.raises(UnknownTimeZone) as helper:
        load_zone(name)
    with pytest.raises(schedule.ScheduleError) as engine:
        schedule.validate_timezone(name)
    with pytest.raises(ValidationError) as model:
        validate_timezone_name(name)

    assert str(helper.value) == message
    assert engine.value.field == "timezone" and engine.value.message == message
    assert model.value.messages == [message]


def test_every_listed_zone_loads() -> None:
    assert len(zone_names()) > 400
    for name in zone_names():
        assert len(name) <= MAX_NAME_LENGTH
        assert load_zone(name).key == name


def test_a_naive_bound_in_a_bad_zone_is_left_for_the_schedule_check() -> None:
    assert resolve_naive_bound("2026-03-08T02:30:00", LONG) == "2026-03-08T02:30:00"
    assert resolve_naive_bound("2026-03-08T02:30:00", "America/New_York") == "2026-03-08T07:00:00Z"


@pytest.mark.django_db
def test_a_tenant_with_a_long_zone_name_is_refused_and_not_saved() -> None:
    # when
    with pytest.raises(ValidationError) as caught:
        services.tenant_create(slug="acme", timezone_name=LONG)
    with pytest.raises(ValidationError) as cleaned:
        Tenant(slug="acme", name="Acme", timezone=LONG).full_clean()

    # then
    assert caught.value.messages == [BAD_NAMES[0][1]]
    assert BAD_NAMES[0][1] in cleaned.value.message_dict["timezone"]
    assert not Tenant.objects.filter(slug="acme").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", [LONG, "../etc/passwd", "UTC\x00"], ids=["long", "path", "nul"])
def test_create_tenant_refuses_a_bad_zone_and_creates_nothing(name: str) -> None:
    # given
    before = Tenant.objects.count()

    # when
    with pytest.raises(CommandError) as caught:
        call_command("create_tenant", "acme", "--timezone", name, stdout=io.StringIO(), stderr=io.StringIO())

    # then
    assert "time zone" in str(caught.value)
    assert Tenant.objects.count() == before
