"""Schedules through ``/api/jobs`` (§5): ``nextRunAt`` on every write, and schedule validation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from jobs.models import Job
from tests.conftest import client_for

ERROR_KEYS = {"statusCode", "error", "message", "details"}
BASE = {"type": "email", "name": "Report"}
# A Sunday, half a minute past noon: "the save moment" of every job created below.
NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def create(user: Any, **fields: Any) -> dict[str, Any]:
    response = client_for(user).post("/api/jobs", {**BASE, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- nextRunAt on create ----------------------------------------------------------------------------

# (id, schedule fields, expected nextRunAt) with the clock at NOW.
CREATED: list[tuple[str, dict[str, Any], str | None]] = [
    ("cron daily UTC", {"interval": "0 8 * * *"}, "2026-03-02T08:00:00Z"),
    ("cron daily Berlin", {"interval": "0 8 * * *", "timezone": "Europe/Berlin"}, "2026-03-02T07:00:00Z"),
    ("cron every 15 minutes", {"interval": "*/15 * * * *"}, "2026-03-01T12:15:00Z"),
    ("cron at noon is strictly after now", {"interval": "0 12 * * *"}, "2026-03-02T12:00:00Z"),
    ("cron alias", {"interval": "@monthly"}, "2026-04-01T00:00:00Z"),
    # Sunday named at the end of a weekday range is 7 (Vixie cron): Friday to Sunday, and today's 08:00 is past.
    ("cron Fri-Sun", {"interval": "0 8 * * Fri-Sun"}, "2026-03-06T08:00:00Z"),
    ("cron Sat-Sun", {"interval": "0 13 * * Sat-Sun"}, "2026-03-01T13:00:00Z"),
    ("cron explicit type", {"interval": "0 9 * * mon-fri", "intervalType": "cron"}, "2026-03-02T09:00:00Z"),
    ("cron startOn in future", {"interval": "0 8 * * *", "startOn": "2026-04-01"}, "2026-04-01T08:00:00Z"),
    (
        "cron in a DST gap shifts to its end",
        {"interval": "30 2 * * *", "timezone": "America/New_York", "startOn": "2026-03-08"},
        "2026-03-08T07:00:00Z",
    ),
    (
        "cron in a DST gap with skip",
        {
            "interval": "30 2 * * *",
            "timezone": "America/New_York",
            "startOn": "2026-03-08",
            "dstPolicy": {"gap": "skip"},
        },
        "2026-03-09T06:30:00Z",
    ),
    ("cron endOn today is inclusive", {"interval": "0 20 * * *", "endOn": "2026-03-01"}, "2026-03-01T20:00:00Z"),
    ("cron endOn today, already fired", {"interval": "0 8 * * *", "endOn": "2026-03-01"}, None),
    ("cron disabled", {"interval": "0 8 * * *", "enabled": False}, None),
    (
        "simple 15 minutes: one interval after saving",
        {"interval": "15 minutes", "intervalType": "simple"},
        "2026-03-01T12:15:30Z",
    ),
    ("simple 1 minute", {"interval": "1 minute", "intervalType": "simple"}, "2026-03-01T12:01:30Z"),
    ("simple 2 hours", {"interval": "2 hours", "intervalType": "simple"}, "2026-03-01T14:00:30Z"),
    ("simple 1 day", {"interval": "1 day", "intervalType": "simple"}, "2026-03-02T12:00:30Z"),
    ("simple 2 weeks", {"interval": "2 weeks", "intervalType": "simple"}, "2026-03-15T12:00:30Z"),
    ("simple 1 month", {"interval": "1 month", "intervalType": "simple"}, "2026-04-01T12:00:30Z"),
    (
        "simple 1 day keeps local time across DST",
        {"interval": "1 day", "intervalType": "simple", "timezone": "America/New_York", "startOn": "2026-03-08"},
        "2026-03-08T05:00:00Z",
    ),
    (
        "simple startOn in future is the first fire",
        {"interval": "1 day", "intervalType": "simple", "startOn": "2026-03-10T06:00:00Z"},
        "2026-03-10T06:00:00Z",
    ),
    (
        "simple startOn in past counts from it",
        {"interval": "7 hours", "intervalType": "simple", "startOn": "2026-03-01T00:00:00Z"},
        "2026-03-01T14:00:00Z",
    ),
    ("simple disabled", {"interval": "15 minutes", "intervalType": "simple", "enabled": False}, None),
    ("once in future", {"intervalType": "once", "startOn": "2026-03-05T10:00:00Z"}, "2026-03-05T10:00:00Z"),
    (
        "once with an offset",
        {"intervalType": "once", "startOn": "2026-03-05T10:00:00+02:00"},
        "2026-03-05T08:00:00Z",
    ),
    (
        "once naive, read in the job's zone",
        {"intervalType": "once", "startOn": "2026-03-05T10:00:00", "timezone": "Europe/Berlin"},
        "2026-03-05T09:00:00Z",
    ),
    (
        "once bare date: that local midnight",
        {"intervalType": "once", "startOn": "2026-03-05", "timezone": "America/New_York"},
        "2026-03-05T05:00:00Z",
    ),
    (
        "once naive inside a DST gap runs when the gap ends",
        {"intervalType": "once", "startOn": "2026-03-08T02:30:00", "timezone": "America/New_York"},
        "2026-03-08T07:00:00Z",
    ),
    (
        "once naive in a repeated hour runs at the first occurrence",
        {"intervalType": "once", "startOn": "2026-11-01T01:30:00", "timezone": "America/New_York"},
        "2026-11-01T05:30:00Z",
    ),
    ("once disabled", {"intervalType": "once", "startOn": "2026-03-05T10:00:00Z", "enabled": False}, None),
    # A spent schedule (a past once, a past endOn) on an enabled job is a 400: test_jobs_write.py.
]


@pytest.mark.parametrize(("fields", "expected"), [case[1:] for case in CREATED], ids=[case[0] for case in CREATED])
def test_create_computes_next_run_at(owner, clock, fields, expected):
    body = create(owner, **fields)

    assert body["nextRunAt"] == expected
    stored = Job.objects.get(pk=body["id"]).next_run_at
    assert stored == (at(expected) if expected else None)


@pytest.mark.parametrize(
    ("tenant_zone", "fields", "zone", "expected"),
    [
        ("Europe/Berlin", {"interval": "0 8 * * *"}, "Europe/Berlin", "2026-03-02T07:00:00Z"),
        ("America/New_York", {"interval": "0 8 * * *"}, "America/New_York", "2026-03-01T13:00:00Z"),
        # A naive startOn is read in the tenant's zone when the job names none.
        (
            "Europe/Berlin",
            {"intervalType": "once", "startOn": "2026-03-05T10:00:00"},
            "Europe/Berlin",
            "2026-03-05T09:00:00Z",
        ),
        ("Europe/Berlin", {"interval": "0 8 * * *", "timezone": "Asia/Tokyo"}, "Asia/Tokyo", "2026-03-01T23:00:00Z"),
        ("UTC", {"interval": "0 8 * * *"}, "UTC", "2026-03-02T08:00:00Z"),
    ],
)
def test_timezone_defaults_to_the_tenants(owner, tenant, clock, tenant_zone, fields, zone, expected):
    # given
    tenant.timezone = tenant_zone
    tenant.save()

    # when
    body = create(owner, **fields)

    # then
    assert body["timezone"] == zone
    assert body["nextRunAt"] == expected
    assert Job.objects.get(pk=body["id"]).timezone == zone


# --- nextRunAt on update ----------------------------------------------------------------------------

SIMPLE_15 = {"interval": "15 minutes", "intervalType": "simple"}  # created at NOW: next 12:15:30
DAILY_8 = {"interval": "0 8 * * *"}  # created at NOW: next 2026-03-02T08:00

# (id, created with, clock at update, body, expected nextRunAt)
UPDATED: list[tuple[str, dict[str, Any], str, dict[str, Any], str | None]] = [
    ("name only keeps it", SIMPLE_15, "2026-03-01T12:05:00Z", {"name": "Renamed"}, "2026-03-01T12:15:30Z"),
    ("description only keeps it", SIMPLE_15, "2026-03-01T12:05:00Z", {"description": "x"}, "2026-03-01T12:15:30Z"),
    ("name only keeps it (cron)", DAILY_8, "2026-03-02T09:00:00Z", {"name": "Renamed"}, "2026-03-02T08:00:00Z"),
    ("same interval keeps it", SIMPLE_15, "2026-03-01T12:05:00Z", {"interval": "15 minutes"}, "2026-03-01T12:15:30Z"),
    (
        "interval re-anchors a simple job",
        SIMPLE_15,
        "2026-03-01T12:05:00Z",
        {"interval": "10 minutes"},
        "2026-03-01T12:15:00Z",
    ),
    ("cron interval", DAILY_8, "2026-03-02T09:00:00Z", {"interval": "0 10 * * *"}, "2026-03-02T10:00:00Z"),
    (
        "simple to cron",
        SIMPLE_15,
        "2026-03-01T12:05:00Z",
        {"intervalType": "cron", "interval": "0 * * * *"},
        "2026-03-01T13:00:00Z",
    ),
    (
        "cron to once",
        DAILY_8,
        "2026-03-01T13:00:00Z",
        {"intervalType": "once", "startOn": "2026-03-01T18:00:00Z"},
        "2026-03-01T18:00:00Z",
    ),
    ("timezone", DAILY_8, "2026-03-01T13:00:00Z", {"timezone": "America/Los_Angeles"}, "2026-03-01T16:00:00Z"),
    ("startOn", DAILY_8, "2026-03-01T13:00:00Z", {"startOn": "2026-03-10"}, "2026-03-10T08:00:00Z"),
    ("endOn in the past", DAILY_8, "2026-03-01T13:00:00Z", {"endOn": "2026-03-01"}, None),
    ("endOn in the past (simple)", SIMPLE_15, "2026-03-01T12:05:00Z", {"endOn": "2026-03-01T12:10:00Z"}, None),
    (
        "dstPolicy re-anchors",
        SIMPLE_15,
        "2026-03-01T12:05:00Z",
        {"dstPolicy": {"gap": "skip"}},
        "2026-03-01T12:20:00Z",
    ),
    ("disabled", SIMPLE_15, "2026-03-01T12:05:00Z", {"enabled": False}, None),
    ("disabled (cron)", DAILY_8, "2026-03-01T13:00:00Z", {"enabled": False}, None),
]


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    ("created", "moment", "body", "expected"), [case[1:] for case in UPDATED], ids=[case[0] for case in UPDATED]
)
def test_update_keeps_next_run_at_right(owner, clock, method, created, moment, body, expected):
    # given
    job_id = create(owner, **created)["id"]
    clock.move_to(at(moment))

    # when
    response = getattr(client_for(owner), method)(f"/api/jobs/{job_id}", body, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["nextRunAt"] == expected
    assert Job.objects.get(pk=job_id).next_run_at == (at(expected) if expected else None)


def test_enabling_again_counts_from_the_original_anchor(owner, clock):
    # given a simple job saved at 12:00:30, disabled at 12:05
    job_id = create(owner, **SIMPLE_15)["id"]
    client = client_for(owner)
    clock.move_to(at("2026-03-01T12:05:00Z"))
    assert client.patch(f"/api/jobs/{job_id}", {"enabled": False}, format="json").json()["nextRunAt"] is None

    # when it is enabled again at 12:40
    clock.move_to(at("2026-03-01T12:40:00Z"))
    response = client.patch(f"/api/jobs/{job_id}", {"enabled": True}, format="json")

    # then the series keeps its anchor: 12:00:30 plus three times 15 minutes
    assert response.json()["nextRunAt"] == "2026-03-01T12:45:30Z"


def test_drafts_never_have_a_next_run_at(owner, clock):
    # given
    client = client_for(owner)
    job_id = create(owner, interval="0 8 * * *")["id"]

    # when
    edit = client.post(f"/api/jobs/{job_id}/_edit")
    draft_id = edit.json()["id"]
    changed = client.patch(f"/api/jobs/{draft_id}", {"interval": "0 9 * * *"}, format="json")
    shown = client.get(f"/api/jobs/{draft_id}")

    # then
    assert edit.status_code == 201, edit.content
    assert edit.json()["nextRunAt"] is None
    assert changed.status_code == 200, changed.content
    assert changed.json()["nextRunAt"] is None
    assert shown.status_code == 200
    assert shown.json()["nextRunAt"] is None
    assert shown.json()["editingId"] == job_id
    assert Job.objects.get(pk=draft_id).next_run_at is None
    assert client.get(f"/api/jobs/{job_id}").json()["nextRunAt"] == "2026-03-02T08:00:00Z"


def test_committing_a_draft_recomputes_the_jobs_next_run_at(owner, clock):
    # given
    client = client_for(owner)
    job_id = create(owner, interval="0 8 * * *")["id"]
    client.post(f"/api/jobs/{job_id}/_edit")
    draft_id = client.get(f"/api/jobs/{job_id}/draft").json()["id"]
    client.patch(f"/api/jobs/{draft_id}", {"interval": "0 9 * * *", "timezone": "Europe/Berlin"}, format="json")

    # when
    response = client.post(f"/api/jobs/{job_id}/_commit")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["id"] == job_id
    assert response.json()["nextRunAt"] == "2026-03-02T08:00:00Z"
    assert Job.objects.get(pk=job_id).next_run_at == at("2026-03-02T08:00:00Z")


# --- validation -------------------------------------------------------------------------------------

GRAMMAR = "expected 5 fields (minute hour day-of-month month day-of-week)"
COUNT = "the count must be a whole number of at least 1 (the shortest interval is 1 minute)"
SIMPLE = {"intervalType": "simple"}
POLICY_OBJECT = 'dstPolicy must be an object such as {"gap": "shift", "repeat": "first"}.'
NOT_ASCII = (
    "is not allowed: a field holds ASCII digits 0-9, names and * , - / and fields are separated by spaces or tabs"
)

# (id, schedule fields, the field named, its exact message)
INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("cron 3 fields", {"interval": "* * *"}, "interval", f"Invalid cron expression '* * *': {GRAMMAR}, got 3."),
    (
        "cron minute 61",
        {"interval": "61 * * * *"},
        "interval",
        "Invalid cron expression '61 * * * *': minute 61 is out of range 0-59.",
    ),
    (
        "cron hour 24",
        {"interval": "* 24 * * *"},
        "interval",
        "Invalid cron expression '* 24 * * *': hour 24 is out of range 0-23.",
    ),
    (
        "cron day 32",
        {"interval": "0 0 32 * *"},
        "interval",
        "Invalid cron expression '0 0 32 * *': day-of-month 32 is out of range 1-31.",
    ),
    (
        "cron month 13",
        {"interval": "0 0 * 13 *"},
        "interval",
        "Invalid cron expression '0 0 * 13 *': month 13 is out of range 1-12.",
    ),
    (
        "cron weekday 8",
        {"interval": "0 0 * * 8"},
        "interval",
        "Invalid cron expression '0 0 * * 8': day-of-week 8 is out of range 0-7.",
    ),
    ("cron abc", {"interval": "abc"}, "interval", f"Invalid cron expression 'abc': {GRAMMAR}, got 1."),
    (
        "cron superscript step",
        {"interval": "*/\u00b2 * * * *"},
        "interval",
        f"Invalid cron expression '*/\u00b2 * * * *': U+00B2 (SUPERSCRIPT TWO) in the minute field {NOT_ASCII}.",
    ),
    (
        "cron superscript step of a range",
        {"interval": "1-10/\u00b9 * * * *"},
        "interval",
        f"Invalid cron expression '1-10/\u00b9 * * * *': U+00B9 (SUPERSCRIPT ONE) in the minute field {NOT_ASCII}.",
    ),
    (
        "cron Arabic-Indic step",
        {"interval": "*/\u0661\u0665 * * * *"},
        "interval",
        f"Invalid cron expression '*/\u0661\u0665 * * * *': U+0661 (ARABIC-INDIC DIGIT ONE) in the minute field"
        f" {NOT_ASCII}.",
    ),
    (
        "cron fullwidth step",
        {"interval": "*/\uff11\uff15 * * * *"},
        "interval",
        f"Invalid cron expression '*/\uff11\uff15 * * * *': U+FF11 (FULLWIDTH DIGIT ONE) in the minute field"
        f" {NOT_ASCII}.",
    ),
    (
        "cron no-break space between fields",
        {"interval": "0 8\u00a0* * *"},
        "interval",
        f"Invalid cron expression '0 8\u00a0* * *': U+00A0 (NO-BREAK SPACE) in the hour field {NOT_ASCII}.",
    ),
    (
        "cron ideographic space between fields",
        {"interval": "0 8 * *\u3000*"},
        "interval",
        f"Invalid cron expression '0 8 * *\u3000*': U+3000 (IDEOGRAPHIC SPACE) in the month field {NOT_ASCII}.",
    ),
    (
        "cron step of 20 digits",
        {"interval": "*/99999999999999999999 * * * *"},
        "interval",
        "Invalid cron expression '*/99999999999999999999 * * * *': step 99999999999999999999 in the minute field"
        " is larger than the field's range 0-59.",
    ),
    (
        "cron hour step 25",
        {"interval": "0 */25 * * *"},
        "interval",
        "Invalid cron expression '0 */25 * * *': step 25 in the hour field is larger than the field's range 0-23.",
    ),
    ("cron February 30", {"interval": "0 0 30 2 *"}, "interval", "The cron expression '0 0 30 2 *' can never fire."),
    ("cron April 31", {"interval": "0 0 31 4 *"}, "interval", "The cron expression '0 0 31 4 *' can never fire."),
    (
        # Explicit: without intervalType an empty interval is a manual-only job (§5; test_manual_only.py).
        "cron empty interval",
        {"interval": "", "intervalType": "cron"},
        "interval",
        "interval is required for cron schedules, e.g. '0 9 * * 1-5'.",
    ),
    (
        "unknown time zone",
        {"interval": "0 8 * * *", "timezone": "Mars/Olympus"},
        "timezone",
        "Unknown time zone 'Mars/Olympus'.",
    ),
    (
        "time zone 'localtime'",
        {"interval": "0 8 * * *", "timezone": "localtime"},
        "timezone",
        "Unknown time zone 'localtime'.",
    ),
    (
        "dstPolicy gap maybe",
        {"interval": "0 8 * * *", "dstPolicy": {"gap": "maybe"}},
        "dstPolicy",
        "Invalid dstPolicy gap 'maybe': expected 'shift' or 'skip'.",
    ),
    (
        "dstPolicy repeat twice",
        {"interval": "0 8 * * *", "dstPolicy": {"repeat": "twice"}},
        "dstPolicy",
        "Invalid dstPolicy repeat 'twice': expected 'first' or 'both'.",
    ),
    (
        "dstPolicy unknown key",
        {"interval": "0 8 * * *", "dstPolicy": {"foo": 1}},
        "dstPolicy",
        "Unknown dstPolicy key 'foo': expected 'gap' or 'repeat'.",
    ),
    ("dstPolicy a string", {"interval": "0 8 * * *", "dstPolicy": "skip"}, "dstPolicy", POLICY_OBJECT),
    ("dstPolicy a list", {"interval": "0 8 * * *", "dstPolicy": ["skip"]}, "dstPolicy", POLICY_OBJECT),
    ("dstPolicy an empty list", {"interval": "0 8 * * *", "dstPolicy": []}, "dstPolicy", POLICY_OBJECT),
    ("dstPolicy a number", {"interval": "0 8 * * *", "dstPolicy": 0}, "dstPolicy", POLICY_OBJECT),
    (
        "simple 0 minutes",
        {**SIMPLE, "interval": "0 minutes"},
        "interval",
        (f"Invalid simple interval '0 minutes': {COUNT}."),
    ),
    (
        "simple -5 hours",
        {**SIMPLE, "interval": "-5 hours"},
        "interval",
        f"Invalid simple interval '-5 hours': {COUNT}.",
    ),
    (
        "simple 30 seconds",
        {**SIMPLE, "interval": "30 seconds"},
        "interval",
        "Invalid simple interval '30 seconds': the shortest interval is 1 minute.",
    ),
    (
        "simple 5 fortnights",
        {**SIMPLE, "interval": "5 fortnights"},
        "interval",
        "Unknown interval unit 'fortnights' in '5 fortnights': use minutes, hours, days, weeks or months.",
    ),
    (
        "simple fullwidth count",
        {**SIMPLE, "interval": "\uff11\uff15 minutes"},
        "interval",
        "Invalid simple interval '\uff11\uff15 minutes': U+FF11 (FULLWIDTH DIGIT ONE) is not allowed;"
        " write the count with the digits 0-9, e.g. '15 minutes'.",
    ),
    (
        "simple Arabic-Indic count",
        {**SIMPLE, "interval": "\u0662 hours"},
        "interval",
        "Invalid simple interval '\u0662 hours': U+0662 (ARABIC-INDIC DIGIT TWO) is not allowed;"
        " write the count with the digits 0-9, e.g. '15 minutes'.",
    ),
    (
        "simple no-break space",
        {**SIMPLE, "interval": "15\u00a0minutes"},
        "interval",
        "Invalid simple interval '15\u00a0minutes': U+00A0 (NO-BREAK SPACE) is not allowed;"
        " write the count with the digits 0-9, e.g. '15 minutes'.",
    ),
    (
        "simple every day",
        {**SIMPLE, "interval": "every day"},
        "interval",
        "Invalid simple interval 'every day': expected '<number> <unit>', e.g. '15 minutes'.",
    ),
    (
        "simple empty",
        {**SIMPLE, "interval": ""},
        "interval",
        "interval is required for simple schedules, e.g. '15 minutes'.",
    ),
    (
        "once without startOn",
        {"intervalType": "once"},
        "startOn",
        "A one-off (once) schedule needs startOn: the moment it runs.",
    ),
    (
        "endOn before startOn",
        {"interval": "0 8 * * *", "startOn": "2026-03-05", "endOn": "2026-03-04"},
        "endOn",
        "endOn 2026-03-04 is before startOn 2026-03-05.",
    ),
    (
        "endOn before startOn (datetimes)",
        {"interval": "0 8 * * *", "startOn": "2026-03-05T10:00:00Z", "endOn": "2026-03-05T09:59:59Z"},
        "endOn",
        "endOn 2026-03-05T09:59:59+00:00 is before startOn 2026-03-05T10:00:00+00:00.",
    ),
]


def assert_names_the_field(response: Any, field: str, message: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["statusCode"] == 400
    assert body["error"] == "Bad Request"
    assert body["details"] == {field: [message]}
    # A detail that already opens with its field ("endOn 2026-… is before …") is not prefixed again.
    assert body["message"] == (message if message.startswith(f"{field} ") else f"{field}: {message}")


@pytest.mark.parametrize(("fields", "field", "message"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID])
def test_create_rejects_a_bad_schedule_and_writes_nothing(owner, db_state, clock, fields, field, message):
    # given
    before = db_state()

    # when
    response = client_for(owner).post("/api/jobs", {**BASE, **fields}, format="json")

    # then
    assert_names_the_field(response, field, message)
    assert Job.objects.count() == 0
    assert db_state() == before


@pytest.mark.parametrize(("fields", "field", "message"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID])
def test_update_rejects_a_bad_schedule_and_changes_nothing(owner, db_state, clock, fields, field, message):
    # given
    job_id = create(owner, interval="0 8 * * *")["id"]
    before = db_state()
    job_before = Job.objects.filter(pk=job_id).values().get()

    # when
    response = client_for(owner).put(f"/api/jobs/{job_id}", fields, format="json")

    # then
    assert_names_the_field(response, field, message)
    assert Job.objects.filter(pk=job_id).values().get() == job_before
    assert db_state() == before


def test_update_checks_the_merged_schedule(owner, db_state, clock):
    """An endOn alone is checked against the stored startOn."""
    # given
    job_id = create(owner, interval="0 8 * * *", startOn="2026-03-05")["id"]
    before = db_state()

    # when
    response = client_for(owner).patch(f"/api/jobs/{job_id}", {"endOn": "2026-03-04"}, format="json")

    # then
    assert_names_the_field(response, "endOn", "endOn 2026-03-04 is before startOn 2026-03-05.")
    assert db_state() == before


@pytest.mark.parametrize("method", ["post", "put"])
def test_a_time_zone_name_of_10000_characters_is_a_400(owner, db_state, clock, method):
    # given: zoneinfo would turn the name into a file path too long for the file system (an OSError)
    job_id = create(owner, interval="0 8 * * *")["id"]
    before = db_state()
    client = client_for(owner)
    body = {**BASE, "interval": "0 8 * * *", "timezone": "A" * 10_000}

    # when
    if method == "post":
        response = client.post("/api/jobs", body, format="json")
    else:
        response = client.put(f"/api/jobs/{job_id}", {"timezone": "A" * 10_000}, format="json")

    # then
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert list(body["details"]) == ["timezone"]
    assert body["message"] == "timezone: The time zone name is 10000 characters long; IANA names have at most 64."
    assert db_state() == before
