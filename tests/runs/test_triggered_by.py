"""Every run records who or what started it: ``triggeredBy`` (#12, item 6)."""

from __future__ import annotations

import getpass
import importlib
import socket
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from jobs.models import MisfirePolicy, OverlapPolicy
from runs import scheduler, services, triggers
from runs.models import Run, RunStatus, Trigger
from tests.conftest import client_for
from tests.factories import JobFactory, UserFactory
from tests.runs.conftest import RunFactory, at, running_run

ANA = {"username": "ana", "first_name": "Ana", "last_name": "Lima"}


@pytest.fixture
def ana(tenant: Any) -> Any:
    return UserFactory(tenant=tenant, **ANA)


def by_ana(ana: Any) -> dict[str, Any]:
    return {"type": "user", "id": ana.pk, "username": "ana", "name": "Ana Lima"}


# --- run now through the API --------------------------------------------------------------------------


def test_run_now_records_the_user_and_the_history_shows_it(ana):
    # given
    job = JobFactory(owner=ana)
    client = client_for(ana)

    # when
    response = client.post(f"/api/jobs/{job.pk}", {}, format="json")

    # then
    assert response.status_code == 202, response.content
    assert response.json()["triggeredBy"] == by_ana(ana)
    run = Run.objects.get(job=job)
    assert run.triggered_by == by_ana(ana)
    listed = client.get(f"/api/jobs/{job.pk}/history").json()["_embedded"]["inf:job-history"]
    assert [item["triggeredBy"] for item in listed] == [by_ana(ana)]
    assert client.get(f"/api/jobs/{job.pk}/history/{run.pk}").json()["triggeredBy"] == by_ana(ana)


def test_a_user_without_a_full_name_is_named_by_username(tenant):
    # given
    bo = UserFactory(tenant=tenant, username="bo", first_name="", last_name="")
    job = JobFactory(owner=bo)

    # when
    response = client_for(bo).post(f"/api/jobs/{job.pk}", {}, format="json")

    # then
    assert response.json()["triggeredBy"] == {"type": "user", "id": bo.pk, "username": "bo", "name": "bo"}


def test_the_record_outlives_a_rename(ana):
    # given
    job = JobFactory(owner=ana)
    client_for(ana).post(f"/api/jobs/{job.pk}", {}, format="json")

    # when
    ana.username, ana.first_name = "ana.lima", "Anabela"
    ana.save()

    # then: history says who it was then, as Rundeck keeps an execution's user
    assert Run.objects.get(job=job).triggered_by == {
        "type": "user",
        "id": ana.pk,
        "username": "ana",
        "name": "Ana Lima",
    }


def test_a_run_made_by_code_that_does_not_say_is_unknown(db):
    run = services.run_create_manual(job=JobFactory(), enqueue=False)

    assert run.triggered_by == {"type": "unknown", "name": "unknown"}


def test_a_command_records_the_account_and_host(db):
    run = services.run_create_manual(job=JobFactory(), enqueue=False, triggered_by=triggers.by_command("run_job"))

    account, host = getpass.getuser(), socket.gethostname()
    assert run.triggered_by == {
        "type": "command",
        "command": "run_job",
        "osUser": account,
        "host": host,
        "name": f"run_job ({account}@{host})",
    }


def test_a_command_without_a_login_name_still_records_the_host(db, monkeypatch):
    def nameless() -> str:
        raise KeyError("getpwuid(): uid not found: 12345")

    monkeypatch.setattr(getpass, "getuser", nameless)

    shape = triggers.by_command("run_job")

    assert (shape["osUser"], shape["name"]) == ("", f"run_job ({socket.gethostname()})")


@pytest.mark.parametrize("options", [[], ["--inline"]])
def test_run_job_records_the_command_the_account_and_the_host(db, options):
    # given
    job = JobFactory()

    # when
    call_command("run_job", str(job.pk), *options, stdout=StringIO(), stderr=StringIO())

    # then
    assert Run.objects.get(job=job).triggered_by == triggers.by_command("run_job")


# --- the scheduler ------------------------------------------------------------------------------------


def test_scheduled_runs_and_their_skipped_occurrences_say_schedule(db, time_machine):
    # given: a job whose previous run is still going (overlap skip)
    job = JobFactory(interval="*/5 * * * *", next_run_at=at(10, 0), overlap_policy=OverlapPolicy.SKIP)
    time_machine.move_to(at(10, 0, 3), tick=False)
    scheduler.tick()
    running_run(job)

    # when
    time_machine.move_to(at(10, 5, 1), tick=False)
    scheduler.tick()

    # then
    fired = list(Run.objects.filter(job=job, trigger=Trigger.SCHEDULE).order_by("scheduled_for"))
    assert [run.scheduled_for for run in fired] == [at(10, 0), at(10, 5)]
    assert fired[1].status == RunStatus.SKIPPED
    assert [run.triggered_by for run in fired] == [{"type": "schedule", "name": "schedule"}] * 2


def test_a_catch_up_says_catch_up_and_the_missed_say_schedule(db, time_machine, settings):
    # given: the scheduler was down from 07:00 to 10:30 (runOnce: the latest missed hour runs)
    settings.INFORMER_MISFIRE_GRACE = 60
    job = JobFactory(interval="0 * * * *", next_run_at=at(7, 0), misfire_policy=MisfirePolicy.RUN_ONCE)
    time_machine.move_to(at(10, 30), tick=False)

    # when
    scheduler.tick()

    # then
    shapes = {
        (run.trigger, run.status): run.triggered_by for run in Run.objects.filter(job=job).order_by("scheduled_for")
    }
    assert shapes == {
        (Trigger.SCHEDULE, RunStatus.MISSED): {"type": "schedule", "name": "schedule"},
        (Trigger.CATCH_UP, RunStatus.QUEUED): {"type": "catchUp", "name": "catch-up"},
    }


# --- retries ------------------------------------------------------------------------------------------


def failed_attempt(job: Any, **fields: Any) -> Run:
    """A run of ``job`` that just failed (its next attempt not made yet)."""
    run = running_run(job, **fields)
    assert services.run_finish(
        run_id=run.pk,
        token=run.lease_token,
        status=RunStatus.FAILED,
        error="boom",
        progress=[],
        data={},
        warnings=False,
    )
    return run


def test_every_retry_names_the_first_attempt(ana):
    # given
    job = JobFactory(owner=ana, max_attempts=3)
    first = failed_attempt(job, triggered_by=by_ana(ana))

    # when
    second = Run.objects.get(retry_of=first)
    Run.objects.filter(pk=second.pk).update(status=RunStatus.RUNNING, lease_token=first.lease_token)
    assert services.run_finish(
        run_id=second.pk, token=first.lease_token, status=RunStatus.FAILED, progress=[], data={}, warnings=False
    )
    third = Run.objects.get(retry_of=second)

    # then
    expected = {"type": "retry", "originalRunId": str(first.pk), "name": "retry"}
    assert (second.triggered_by, third.triggered_by) == (expected, expected)
    assert [run.attempt for run in (second, third)] == [2, 3]
    assert triggers.original_run_id(third) == str(first.pk)
    response = client_for(ana).get(f"/api/jobs/{job.pk}/history/{third.pk}")
    assert response.json()["triggeredBy"] == expected


def test_a_reaped_runs_retry_names_it(db):
    # given: a run whose worker stopped heartbeating
    job = JobFactory(max_attempts=2)
    now = timezone.now()
    lost = running_run(job, since=now - timedelta(seconds=settings.INFORMER_WORKER_TIMEOUT + 30))

    # when
    assert services.runs_reap(now=now) == [lost.pk]

    # then
    retry = Run.objects.get(retry_of=lost)
    assert retry.triggered_by == {"type": "retry", "originalRunId": str(lost.pk), "name": "retry"}


def test_a_retry_recorded_without_the_original_falls_back_to_the_attempt_it_retried(db):
    job = JobFactory()
    previous = RunFactory(job=job)
    retry = RunFactory(job=job, trigger=Trigger.RETRY, retry_of=previous, triggered_by={})

    assert triggers.original_run_id(retry) == previous.pk
    assert triggers.original_run_id(previous) == previous.pk


# --- the runs recorded before the field ---------------------------------------------------------------


def test_the_migration_fills_what_each_older_run_can_say(db):
    # given: runs as the previous version left them, and a retry chain whose middle attempt is gone
    job = JobFactory()
    scheduled = RunFactory(job=job, trigger=Trigger.SCHEDULE, scheduled_for=at(8), triggered_by={})
    caught_up = RunFactory(job=job, trigger=Trigger.CATCH_UP, scheduled_for=at(9), triggered_by={})
    manual = RunFactory(job=job, trigger=Trigger.MANUAL, triggered_by={})
    second = RunFactory(job=job, trigger=Trigger.RETRY, retry_of=manual, attempt=2, triggered_by={})
    third = RunFactory(job=job, trigger=Trigger.RETRY, retry_of=second, attempt=3, triggered_by={})
    orphan = RunFactory(job=job, trigger=Trigger.RETRY, retry_of=None, attempt=2, triggered_by={})
    after_orphan = RunFactory(job=job, trigger=Trigger.RETRY, retry_of=orphan, attempt=3, triggered_by={})
    migration = importlib.import_module("runs.migrations.0005_run_triggered_by")

    # when
    migration.record_what_started_each_run(apps, SimpleNamespace(connection=connection))  # it reads the alias

    # then
    def shape(run: Run) -> dict[str, Any]:
        return Run.objects.get(pk=run.pk).triggered_by

    assert shape(scheduled) == {"type": "schedule", "name": "schedule"}
    assert shape(caught_up) == {"type": "catchUp", "name": "catch-up"}
    assert shape(manual) == {"type": "unknown", "name": "unknown"}
    assert shape(second) == shape(third) == {"type": "retry", "originalRunId": str(manual.pk), "name": "retry"}
    assert shape(orphan) == shape(after_orphan) == {"type": "retry", "originalRunId": str(orphan.pk), "name": "retry"}


# --- OpenAPI ------------------------------------------------------------------------------------------


def test_the_openapi_schema_describes_triggered_by(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    field = schema["components"]["schemas"]["Run"]["properties"]["triggeredBy"]
    assert field["type"] == "object"
    assert field["properties"]["type"]["enum"] == ["user", "command", "schedule", "catchUp", "retry", "unknown"]
    assert set(field["required"]) == {"type", "name"}


def test_a_run_recorded_without_it_shows_unknown(ana):
    # given: a record made by code that set nothing (the column's default)
    job = JobFactory(owner=ana)
    run = RunFactory(job=job, triggered_by={})

    # when
    body = client_for(ana).get(f"/api/jobs/{job.pk}/history/{run.pk}").json()

    # then
    assert body["triggeredBy"] == {"type": "unknown", "name": "unknown"}
