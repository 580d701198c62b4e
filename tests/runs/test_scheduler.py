"""The scheduler (§6): occurrences fired once, nextRunAt advanced from the occurrence, misfires, overlap."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from jobs.models import Job
from runs import scheduler, services
from runs.models import Run, RunStatus, Trigger
from tests.factories import JobFactory
from tests.runs.conftest import T0, RunFactory, at, finished_run, running_run

GRACE = 60


@pytest.fixture(autouse=True)
def _grace(settings: Any) -> None:
    settings.INFORMER_MISFIRE_GRACE = GRACE


def records(job: Job) -> list[tuple[Any, str, str]]:
    """(scheduledFor, trigger, status) of the job's occurrences, oldest first."""
    return list(
        Run.objects.filter(job=job, trigger__in=[Trigger.SCHEDULE, Trigger.CATCH_UP])
        .order_by("scheduled_for")
        .values_list("scheduled_for", "trigger", "status")
    )


def next_run_at(job: Job) -> Any:
    return Job.objects.values_list("next_run_at", flat=True).get(pk=job.pk)


# ------------------------------------------------------------------------------------------- firing


def test_fires_once_and_advances_from_the_occurrence(db, time_machine, django_capture_on_commit_callbacks):
    # given
    job = JobFactory(interval="*/5 * * * *", next_run_at=at(10, 0))
    time_machine.move_to(at(10, 0, 3), tick=False)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = scheduler.tick()

    # then
    assert (result.claimed, result.runs, result.skipped, result.missed) == (1, 1, 0, 0)
    run = Run.objects.get(job=job)
    assert (run.scheduled_for, run.trigger, run.created_at) == (at(10, 0), Trigger.SCHEDULE, at(10, 0, 3))
    assert run.status == RunStatus.SUCCEEDED  # enqueued on commit and executed (django-q2 in sync mode)
    assert next_run_at(job) == at(10, 5)  # from the occurrence, not 10:05:03


def test_a_second_tick_fires_nothing_more(db, time_machine):
    # given
    job = JobFactory(interval="*/5 * * * *", next_run_at=at(10, 0))
    time_machine.move_to(at(10, 0, 3), tick=False)
    scheduler.tick()

    # when
    time_machine.move_to(at(10, 0, 4), tick=False)
    result = scheduler.tick()

    # then
    assert (result.claimed, result.runs) == (0, 0)
    assert Run.objects.filter(job=job).count() == 1
    assert next_run_at(job) == at(10, 5)


def test_fire_due_fires_every_due_job_and_no_other(db):
    # given
    due = [JobFactory(interval="*/5 * * * *", next_run_at=at(10, 0)), JobFactory(next_run_at=at(9, 59, 30))]
    later = JobFactory(interval="*/5 * * * *", next_run_at=at(10, 5))
    unscheduled = JobFactory(next_run_at=None)

    # when
    result = scheduler.fire_due(now=at(10, 0, 1))

    # then
    assert (result.claimed, result.runs) == (2, 2)
    assert records(due[0]) == [(at(10, 0), Trigger.SCHEDULE, RunStatus.QUEUED)]
    assert records(due[1]) == [(at(9, 59, 30), Trigger.SCHEDULE, RunStatus.QUEUED)]
    assert [next_run_at(job) for job in due] == [at(10, 5), at(8, 0, day=10)]
    assert not Run.objects.filter(job__in=[later, unscheduled]).exists()


def test_run_once_with_an_on_time_occurrence_runs_only_that_one(db):
    # given
    job = JobFactory(interval="*/5 * * * *", next_run_at=at(9, 50), misfire_policy="runOnce")

    # when
    scheduler.fire_due(now=at(10, 0, 30))

    # then
    assert records(job) == [
        (at(9, 50), Trigger.SCHEDULE, RunStatus.MISSED),
        (at(9, 55), Trigger.SCHEDULE, RunStatus.MISSED),
        (at(10, 0), Trigger.SCHEDULE, RunStatus.QUEUED),
    ]


@pytest.mark.parametrize(
    "fields",
    [{"enabled": False}, {"editing_of": "original"}],
    ids=["disabled", "draft"],
)
def test_disabled_jobs_and_drafts_never_fire(db, fields):
    # given
    original = JobFactory(slug="original")
    if fields.get("editing_of"):
        fields = {"editing_of": original, "slug": "original"}
    job = JobFactory(interval="* * * * *", next_run_at=at(10, 0), **fields)

    # when
    result = scheduler.tick(now=at(12, 0))

    # then
    assert result.claimed == 0
    assert not Run.objects.filter(job=job).exists()
    assert next_run_at(job) == at(10, 0)


def test_an_invalid_schedule_stops_the_job_without_recording(db):
    # given
    job = JobFactory(interval="61 * * * *", next_run_at=at(10, 0))

    # when
    plan = scheduler.plan_job(job, at(10, 0, 1), [], timedelta(seconds=GRACE))
    result = scheduler.fire_due(now=at(10, 0, 1))

    # then
    assert (plan.records, plan.next_run_at) == ([], None)
    assert (result.claimed, result.runs) == (1, 0)
    assert not Run.objects.filter(job=job).exists()
    assert next_run_at(job) is None


def test_plan_job_writes_nothing(db):
    # given
    job = JobFactory(interval="0 * * * *", next_run_at=at(8, 0), misfire_policy="runAll")

    # when
    plan = scheduler.plan_job(job, at(10, 0, 30), [], timedelta(seconds=GRACE))

    # then
    assert [(r.scheduled_for, r.trigger, r.status) for r in plan.records] == [
        (at(8, 0), Trigger.CATCH_UP, RunStatus.QUEUED),
        (at(9, 0), Trigger.CATCH_UP, RunStatus.QUEUED),
        (at(10, 0), Trigger.SCHEDULE, RunStatus.QUEUED),
    ]
    assert plan.next_run_at == at(11, 0)
    assert Run.objects.count() == 0
    assert next_run_at(job) == at(8, 0)


# ------------------------------------------------------------------------------------------ misfires

M, S, C, Q = RunStatus.MISSED, Trigger.SCHEDULE, Trigger.CATCH_UP, RunStatus.QUEUED

# An hourly job whose scheduler was down from before 06:00 to 10:30: five occurrences, all late.
MISFIRES = {
    "runOnce": (
        {"misfire_policy": "runOnce"},
        [(6, S, M), (7, S, M), (8, S, M), (9, S, M), (10, C, Q)],
    ),
    "skip": ({"misfire_policy": "skip"}, [(6, S, M), (7, S, M), (8, S, M), (9, S, M), (10, S, M)]),
    "runAll, maxCatchUp 3": (
        {"misfire_policy": "runAll", "max_catch_up": 3},
        [(6, S, M), (7, S, M), (8, C, Q), (9, C, Q), (10, C, Q)],
    ),
    "runAll, maxCatchUp 10": (
        {"misfire_policy": "runAll", "max_catch_up": 10},
        [(6, C, Q), (7, C, Q), (8, C, Q), (9, C, Q), (10, C, Q)],
    ),
}


@pytest.mark.parametrize("case", list(MISFIRES))
def test_misfire_policies_after_an_outage(db, case):
    # given
    fields, expected = MISFIRES[case]
    job = JobFactory(interval="0 * * * *", next_run_at=at(6, 0), **fields)

    # when
    result = scheduler.fire_due(now=at(10, 30))

    # then
    assert records(job) == [(at(hour), trigger, status) for hour, trigger, status in expected]
    assert next_run_at(job) == at(11, 0)
    assert result.missed == sum(status == M for _, _, status in expected)
    missed = Run.objects.filter(job=job, status=RunStatus.MISSED).first()
    if missed:
        assert (missed.success, missed.ended_at) == (False, at(10, 30))
        assert missed.error == "Missed: the scheduler was not running within 60 s of this occurrence."


@pytest.mark.parametrize(
    ("late_by", "trigger"),
    [(0, Trigger.SCHEDULE), (3, Trigger.SCHEDULE), (59, Trigger.SCHEDULE), (60, Trigger.SCHEDULE), (61, C)],
)
def test_an_occurrence_within_the_grace_runs_normally(db, late_by, trigger):
    # given
    job = JobFactory(interval="*/5 * * * *", next_run_at=at(10, 0))

    # when
    scheduler.fire_due(now=at(10, 0) + timedelta(seconds=late_by))

    # then
    assert records(job) == [(at(10, 0), trigger, RunStatus.QUEUED)]
    assert next_run_at(job) == at(10, 5)


def test_a_long_outage_is_walked_through_in_chunks(db, settings):
    # given: an every-minute job down for two days (2880 occurrences, more than one tick handles)
    settings.INFORMER_MISFIRE_GRACE = 10
    job = JobFactory(interval="* * * * *", next_run_at=at(10, 0, day=7), misfire_policy="runOnce")
    now = at(9, 59, 30, day=9)

    # when
    passes = 0
    while scheduler.fire_due(now=now).claimed:
        passes += 1

    # then
    assert passes == 3
    assert Run.objects.filter(job=job).count() == 2880
    assert Run.objects.filter(job=job).values("scheduled_for").distinct().count() == 2880
    assert list(Run.objects.filter(job=job).exclude(status=M).values_list("scheduled_for", "trigger")) == [
        (at(9, 59, day=9), Trigger.CATCH_UP)
    ]
    assert next_run_at(job) == at(10, 0, day=9)


# ------------------------------------------------------------------------------------------- overlap

SKIPPED_RUNNING = "Skipped: the previous run was still going."
SKIPPED_WAITING = "Skipped: a run is already waiting for the current one to finish."

OVERLAP = {
    # policy, runs before the tick, (status, error) of the new occurrence
    "skip, one running": ("skip", ["running"], (RunStatus.SKIPPED, SKIPPED_RUNNING)),
    "skip, one waiting": ("skip", ["queued"], (RunStatus.SKIPPED, SKIPPED_RUNNING)),
    "skip, none": ("skip", ["succeeded"], (RunStatus.QUEUED, "")),
    "queue, one running": ("queue", ["running"], (RunStatus.QUEUED, "")),
    "queue, one running and one waiting": ("queue", ["running", "queued"], (RunStatus.SKIPPED, SKIPPED_WAITING)),
    "allow, one running": ("allow", ["running"], (RunStatus.QUEUED, "")),
    "allow, one running and one waiting": ("allow", ["running", "queued"], (RunStatus.QUEUED, "")),
}


@pytest.mark.parametrize("case", list(OVERLAP))
def test_overlap_policies(db, case):
    # given
    policy, before, (status, error) = OVERLAP[case]
    job = JobFactory(interval="*/5 * * * *", next_run_at=at(10, 0), overlap_policy=policy)
    for state in before:
        if state == "running":
            running_run(job, since=at(9, 59))
        elif state == "queued":
            RunFactory(job=job)
        else:
            finished_run(job, state)

    # when
    result = scheduler.fire_due(now=at(10, 0, 1))

    # then
    occurrence = Run.objects.get(job=job, scheduled_for=at(10, 0))
    assert (occurrence.trigger, occurrence.status, occurrence.error) == (Trigger.SCHEDULE, status, error)
    assert (result.runs, result.skipped) == ((1, 0) if status == RunStatus.QUEUED else (0, 1))
    assert next_run_at(job) == at(10, 5)


def test_a_queued_occurrence_starts_only_after_the_running_one(db, django_capture_on_commit_callbacks):
    # given
    job = JobFactory(interval="*/5 * * * *", next_run_at=at(10, 0), overlap_policy="queue")
    first = services.run_claim(run_id=services.run_create_manual(job=job, enqueue=False).pk, worker=None)
    scheduler.fire_due(now=at(10, 0, 1))
    waiting = Run.objects.get(job=job, scheduled_for=at(10, 0))

    # when
    claimed_while_running = services.run_claim(run_id=waiting.pk, worker=None)
    status_while_running = Run.objects.get(pk=waiting.pk).status
    with django_capture_on_commit_callbacks(execute=True):
        services.run_finish(
            run_id=first.pk, token=first.lease_token, status=RunStatus.SUCCEEDED, progress=[], data={}, warnings=False
        )

    # then
    assert claimed_while_running is None
    assert status_while_running == RunStatus.QUEUED
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.SUCCEEDED  # dispatched when the slot freed
    assert waiting.started_at >= Run.objects.get(pk=first.pk).ended_at


def test_allow_runs_concurrently(db):
    # given
    job = JobFactory(interval="*/5 * * * *", next_run_at=at(10, 0), overlap_policy="allow")
    first = services.run_claim(run_id=services.run_create_manual(job=job, enqueue=False).pk, worker=None)
    scheduler.fire_due(now=at(10, 0, 1))
    second = Run.objects.get(job=job, scheduled_for=at(10, 0))

    # when
    claimed = services.run_claim(run_id=second.pk, worker=None)

    # then
    assert claimed is not None
    assert first.status == claimed.status == RunStatus.RUNNING
    assert Run.objects.filter(job=job, status=RunStatus.RUNNING).count() == 2


# ----------------------------------------------------------------------------------------- uniqueness


@pytest.mark.parametrize(
    ("first", "second", "unique"),
    [
        (Trigger.SCHEDULE, Trigger.SCHEDULE, True),
        (Trigger.SCHEDULE, Trigger.CATCH_UP, True),
        (Trigger.CATCH_UP, Trigger.CATCH_UP, True),
        (Trigger.SCHEDULE, Trigger.RETRY, False),
        (Trigger.SCHEDULE, Trigger.MANUAL, False),
    ],
)
def test_an_occurrence_is_recorded_once(db, first, second, unique):
    # given
    job = JobFactory()
    RunFactory(job=job, trigger=first, scheduled_for=T0)

    # when / then
    if unique:
        with pytest.raises(IntegrityError), transaction.atomic():
            RunFactory(job=job, trigger=second, scheduled_for=T0)
        assert Run.objects.filter(job=job).count() == 1
    else:
        RunFactory(job=job, trigger=second, scheduled_for=T0)
        assert Run.objects.filter(job=job).count() == 2


def test_two_schedulers_seeing_the_same_job_fire_it_once(db):
    # given: a second process read the job before the first one advanced it
    job = JobFactory(interval="*/5 * * * *", next_run_at=at(10, 0))
    stale = Job.objects.get(pk=job.pk)
    scheduler.fire_due(now=at(10, 0, 1))

    # when
    won = Job.objects.filter(pk=stale.pk, next_run_at=stale.next_run_at).update(next_run_at=at(10, 5))
    plan = scheduler.plan_job(stale, at(10, 0, 1), [], timedelta(seconds=GRACE))
    Run.objects.bulk_create(plan.records, ignore_conflicts=True)

    # then
    assert won == 0
    assert records(job) == [(at(10, 0), Trigger.SCHEDULE, RunStatus.QUEUED)]
