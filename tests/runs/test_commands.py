"""Ops commands (§10): run_job, prune_history, scheduler."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jobs.drivers.base import StepFailed
from jobs.models import Job
from runs.models import Run, RunStatus, Trigger
from tests.factories import JobFactory
from tests.runs.conftest import T0, RunFactory, at, finished_run, running_run


def command(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


# -------------------------------------------------------------------------------------------- run_job


def test_run_job_inline_prints_progress_and_succeeds(owner):
    # given
    job = JobFactory(owner=owner, name="Nightly", slug="nightly")

    # when
    output = command("run_job", "alpha:nightly", "--inline", "--param", "limit=3", "--param", "who=ops")

    # then
    run = Run.objects.get(job=job)
    assert output == (
        f"Run {run.pk} of 'Nightly' executing here.\n"
        "status: succeeded\n"
        "  ✓ Email — Nothing to do before the actions.\n"
        f"Run {run.pk} succeeded.\n"
    )
    assert (run.trigger, run.status, run.params) == (Trigger.MANUAL, RunStatus.SUCCEEDED, {"limit": 3, "who": "ops"})


def test_run_job_exits_non_zero_when_the_run_fails(owner, email_step):
    # given
    def refuse(context):
        raise StepFailed("No recipients.", permanent=True)

    email_step(refuse)
    job = JobFactory(owner=owner, slug="nightly")

    # when
    with pytest.raises(CommandError) as failure:
        command("run_job", str(job.pk), "--inline")

    # then
    run = Run.objects.get(job=job)
    assert str(failure.value) == f"Run {run.pk} ended failed: Email: No recipients."


@pytest.mark.parametrize("key", ["alpha:missing", "missing", "00000000-0000-0000-0000-000000000000"])
def test_run_job_of_an_unknown_job_fails(owner, key):
    # when
    with pytest.raises(CommandError) as failure:
        command("run_job", key, "--inline")

    # then
    assert str(failure.value) == f"No job '{key}'."
    assert Run.objects.count() == 0


def test_run_job_without_inline_queues_the_run(owner):
    # given
    job = JobFactory(owner=owner, slug="nightly")

    # when
    output = command("run_job", "alpha:nightly")

    # then
    run = Run.objects.get(job=job)
    assert output == f"Run {run.pk} of '{job.name}' queued.\n"
    assert run.status == RunStatus.QUEUED  # the enqueue waits for a commit the test never makes


# -------------------------------------------------------------------------------------- prune_history


@pytest.fixture
def aged_history(db, time_machine):
    """Per job: finished runs 1, 2, 5, 40 and 100 days old, and an old queued and an old running run."""
    time_machine.move_to(T0, tick=False)
    jobs = [JobFactory(), JobFactory()]
    ages = {}
    for job in jobs:
        for days in (1, 2, 5, 40, 100):
            run = finished_run(job, created_at=T0 - timedelta(days=days))
            ages[run.pk] = (job.pk, days)
        queued = RunFactory(job=job, created_at=T0 - timedelta(days=200))
        running = running_run(job, since=T0 - timedelta(days=150), created_at=T0 - timedelta(days=150))
        ages[queued.pk] = (job.pk, "queued")
        ages[running.pk] = (job.pk, "running")
    return jobs, ages


def remaining(ages) -> dict:
    kept: dict = {}
    for pk in Run.objects.values_list("pk", flat=True):
        job_id, age = ages[pk]
        kept.setdefault(job_id, set()).add(age)
    return kept


@pytest.mark.parametrize(
    ("args", "kept", "deleted"),
    [
        (["--keep", "2", "--max-age-days", "0"], {1, 2, "queued", "running"}, 6),
        (["--keep", "0", "--max-age-days", "30"], {1, 2, 5, "queued", "running"}, 4),
        (["--keep", "4", "--max-age-days", "30"], {1, 2, 5, "queued", "running"}, 4),
        (["--keep", "2", "--max-age-days", "3"], {1, 2, "queued", "running"}, 6),
        (["--keep", "0", "--max-age-days", "0"], {1, 2, 5, 40, 100, "queued", "running"}, 0),
    ],
)
def test_prune_history(aged_history, args, kept, deleted):
    # given
    jobs, ages = aged_history

    # when
    output = command("prune_history", *args)

    # then
    assert output.splitlines()[-1] == f"Deleted {deleted} history record(s)."
    assert remaining(ages) == {job.pk: kept for job in jobs}


def test_prune_history_keeps_the_newest_even_when_they_share_a_timestamp(db, time_machine):
    # given: a scheduler tick records several occurrences at the same instant
    time_machine.move_to(T0, tick=False)
    job = JobFactory()
    runs = [finished_run(job, RunStatus.MISSED, scheduled_for=at(hour)) for hour in range(5)]

    # when
    command("prune_history", "--keep", "2", "--max-age-days", "0")

    # then
    assert Run.objects.filter(job=job).count() == 2
    assert set(Run.objects.values_list("pk", flat=True)) <= {run.pk for run in runs}


@pytest.mark.parametrize("args", [["--keep", "-1"], ["--max-age-days", "-5"]])
def test_prune_history_rejects_negative_limits(aged_history, args):
    with pytest.raises(CommandError, match="must not be negative"):
        command("prune_history", *args)
    assert Run.objects.count() == 14


# ------------------------------------------------------------------------------------------ scheduler


# A transactional test: the command, like the process it is, closes stale connections between passes.
@pytest.mark.usefixtures("keep_signal_handlers")
def test_scheduler_once_fires_a_due_job(transactional_db, time_machine):
    # given
    time_machine.move_to(at(10, 0, 2), tick=False)
    job = JobFactory(interval="*/5 * * * *", next_run_at=at(10, 0))
    later = JobFactory(interval="*/5 * * * *", next_run_at=at(10, 5))

    # when
    output = command("scheduler", "--once")

    # then
    assert output == "Scheduler started; passes at least every 1 s.\nScheduler stopped.\n"
    run = Run.objects.get(job=job)
    assert (run.scheduled_for, run.trigger, run.status) == (at(10, 0), Trigger.SCHEDULE, RunStatus.SUCCEEDED)
    assert Job.objects.get(pk=job.pk).next_run_at == at(10, 5)
    assert not Run.objects.filter(job=later).exists()
