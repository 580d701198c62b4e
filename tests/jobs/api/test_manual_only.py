"""Manual-only jobs (§5): ``intervalType: none`` or no interval; valid, never fired, run by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from jobs.models import Job
from runs import scheduler
from runs.models import Run
from tests.conftest import client_for

BASE = {"type": "email", "name": "Report"}
NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
ERROR_KEYS = {"statusCode", "error", "message", "details"}


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def create(user: Any, **fields: Any) -> dict[str, Any]:
    response = client_for(user).post("/api/jobs", {**BASE, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def patch(user: Any, job_id: str, **fields: Any) -> dict[str, Any]:
    response = client_for(user).patch(f"/api/jobs/{job_id}", fields, format="json")
    assert response.status_code == 200, response.content
    return response.json()


# (id, schedule fields of the create, the interval the job then shows)
SPELLINGS: list[tuple[str, dict[str, Any], str]] = [
    ("intervalType none", {"intervalType": "none"}, ""),
    ("no interval and no intervalType", {}, ""),
    ("an empty interval", {"interval": ""}, ""),
    ("an interval of blanks", {"interval": "  \t"}, ""),
    # As a once does, a manual-only schedule ignores its interval (kept, to switch back to it later).
    ("none with an interval", {"intervalType": "none", "interval": "0 8 * * *"}, "0 8 * * *"),
    # Bounds gone by do not matter to a job that never fires: not "would never fire again".
    ("none with past bounds", {"intervalType": "none", "startOn": "2026-01-01", "endOn": "2026-02-01"}, ""),
    ("none with a time zone", {"intervalType": "none", "timezone": "Europe/Berlin"}, ""),
]


@pytest.mark.parametrize(("fields", "interval"), [c[1:] for c in SPELLINGS], ids=[c[0] for c in SPELLINGS])
def test_both_spellings_make_a_manual_only_job(owner, fields, interval):
    # when
    body = create(owner, **fields)

    # then
    shown = (body["intervalType"], body["interval"], body["nextRunAt"], body["enabled"])
    assert shown == ("none", interval, None, True)
    stored = Job.objects.get(pk=body["id"])
    assert (stored.interval_type, stored.next_run_at) == ("none", None)


def test_an_explicit_cron_without_an_interval_is_still_a_400_naming_interval(owner, db_state):
    # given
    before = db_state()

    # when
    response = client_for(owner).post("/api/jobs", {**BASE, "intervalType": "cron", "interval": ""}, format="json")

    # then
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["details"] == {"interval": ["interval is required for cron schedules, e.g. '0 9 * * 1-5'."]}
    assert db_state() == before


def test_an_unknown_interval_type_names_none_among_the_choices(owner, db_state):
    # given
    before = db_state()

    # when
    response = client_for(owner).post("/api/jobs", {**BASE, "intervalType": "manual"}, format="json")

    # then
    assert response.status_code == 400, response.content
    assert response.json()["details"] == {"intervalType": ['"manual" is not a valid choice.']}
    assert db_state() == before


# (id, the job's schedule when created, the PATCH, the intervalType and nextRunAt it then has)
UPDATES: list[tuple[str, dict[str, Any], dict[str, Any], str, str | None]] = [
    ("cron, interval cleared", {"interval": "0 8 * * *"}, {"interval": ""}, "none", None),
    ("simple, interval cleared", {"interval": "1 day", "intervalType": "simple"}, {"interval": ""}, "none", None),
    ("cron, switched to none", {"interval": "0 8 * * *"}, {"intervalType": "none"}, "none", None),
    (
        "none, back to its cron",
        {"intervalType": "none", "interval": "0 8 * * *"},
        {"intervalType": "cron"},
        "cron",
        "2026-03-02T08:00:00Z",
    ),
    ("none, given a cron", {}, {"intervalType": "cron", "interval": "0 9 * * *"}, "cron", "2026-03-02T09:00:00Z"),
    ("none, renamed", {}, {"name": "Renamed"}, "none", None),
    ("none, enabled again", {"enabled": False}, {"enabled": True}, "none", None),
    # An interval without intervalType does not turn a manual-only job into a scheduled one behind its back.
    ("none, an interval alone", {}, {"interval": "0 9 * * *"}, "none", None),
]


@pytest.mark.parametrize(
    ("created", "change", "interval_type", "next_run_at"), [c[1:] for c in UPDATES], ids=[c[0] for c in UPDATES]
)
def test_updates_move_between_scheduled_and_manual_only(owner, created, change, interval_type, next_run_at):
    # given
    job_id = create(owner, **created)["id"]

    # when
    body = patch(owner, job_id, **change)

    # then
    assert (body["intervalType"], body["nextRunAt"]) == (interval_type, next_run_at)
    assert Job.objects.get(pk=job_id).interval_type == interval_type


def test_an_explicit_cron_on_a_manual_only_job_needs_an_interval(owner, db_state):
    # given
    job_id = create(owner)["id"]
    before = db_state()

    # when
    response = client_for(owner).patch(f"/api/jobs/{job_id}", {"intervalType": "cron"}, format="json")

    # then
    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == ["interval"]
    assert db_state() == before


def test_the_scheduler_never_fires_it_and_it_runs_by_hand(owner, clock):
    # given
    job_id = create(owner, intervalType="none")["id"]

    # when: a year of ticks later
    clock.move_to(NOW + timedelta(days=365))
    result = scheduler.tick()

    # then
    assert (result.claimed, result.runs, Run.objects.count()) == (0, 0, 0)
    response = client_for(owner).post(f"/api/jobs/{job_id}", {}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["trigger"] == "manual"
    assert Job.objects.get(pk=job_id).next_run_at is None


def test_a_job_from_the_manual_only_template_never_fires(owner):
    # when
    body = create(owner, templateId="on-demand-webhook")

    # then
    assert (body["intervalType"], body["nextRunAt"]) == ("none", None)
    (action,) = body["_embedded"]["inf:job-action"]
    assert action["type"] == "webhook"
    assert "run.triggeredBy" in action["data"]["body"]


def test_the_template_lists_it_as_manual_only(owner):
    response = client_for(owner).get("/api/job-templates/on-demand-webhook")

    assert response.status_code == 200, response.content
    assert response.json()["job"]["intervalType"] == "none"


# --- the fire-times preview ---------------------------------------------------------------------------

# Manual-only is a valid schedule with no fire at all: 200 with an empty list, as for a schedule that has
# ended, so a client previewing a form need not treat it apart.
NO_FIRES: list[tuple[str, dict[str, Any]]] = [
    ("intervalType none", {"intervalType": "none"}),
    ("nothing at all", {}),
    ("an empty interval", {"interval": ""}),
    ("none with an interval", {"intervalType": "none", "interval": "*/5 * * * *"}),
    ("none with bounds", {"intervalType": "none", "startOn": "2026-03-02", "endOn": "2026-03-09"}),
]


@pytest.mark.parametrize("query", [c[1] for c in NO_FIRES], ids=[c[0] for c in NO_FIRES])
def test_fire_times_of_a_manual_only_schedule_are_none(owner, query):
    response = client_for(owner).get("/api/job-fire-times", query)

    assert response.status_code == 200, response.content
    assert response.json() == {"fireTimes": []}


def test_fire_times_detail_of_a_manual_only_schedule_is_empty_too(owner):
    response = client_for(owner).get("/api/job-fire-times", {"intervalType": "none", "detail": "true"})

    assert response.status_code == 200, response.content
    assert response.json() == {"fireTimes": [], "detail": []}


def test_fire_times_of_an_explicit_cron_without_an_interval_is_the_jobs_400(owner):
    created = client_for(owner).post("/api/jobs", {**BASE, "intervalType": "cron"}, format="json")

    response = client_for(owner).get("/api/job-fire-times", {"intervalType": "cron"})

    assert created.status_code == response.status_code == 400
    assert response.json()["details"] == created.json()["details"]


def test_the_fire_times_command_takes_none(db):
    out = StringIO()

    call_command("fire_times", "--type", "none", stdout=out)

    assert out.getvalue() == "No fire times.\n"


# --- OpenAPI --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_openapi_enums_include_none(openapi):
    components = openapi["components"]["schemas"]
    enums = [schema["enum"] for name, schema in components.items() if "IntervalType" in name and "enum" in schema]
    assert enums and all("none" in enum for enum in enums), enums
    for path in ("/api/job-fire-times", "/api/jobs"):
        (parameter,) = [p for p in openapi["paths"][path]["get"]["parameters"] if p["name"] == "intervalType"]
        assert "none" in parameter["schema"]["enum"], path
    (interval,) = [p for p in openapi["paths"]["/api/job-fire-times"]["get"]["parameters"] if p["name"] == "interval"]
    assert not interval.get("required", False)
