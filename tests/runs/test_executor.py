"""The executor (§6): idempotent claims, progress, the error boundary, retries, leases, timeouts, cancel."""

from __future__ import annotations

import signal
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest

from jobs.drivers import registry
from jobs.drivers.base import JobTypeDriver, StepFailed, StepResult
from jobs.models import Job
from runs import services, workers
from runs.executor import execute_run
from runs.models import Run, RunStatus, Trigger
from tests.factories import JobFactory
from tests.runs.conftest import T0, in_thread, iso, row, rows, running_run, sleeper


def run_now(job: Job, **params: Any) -> Run:
    """A manual run, recorded but not handed to django-q2."""
    return services.run_create_manual(job=job, params=params, enqueue=False)


def test_a_second_execution_of_the_same_run_does_nothing(db):
    # given
    run = run_now(JobFactory())
    assert execute_run(str(run.pk)) == RunStatus.SUCCEEDED
    before = row(run)

    # when
    outcome = execute_run(str(run.pk))

    # then
    assert outcome == "not claimed"
    assert row(run) == before


def test_a_worker_process_records_itself_on_the_run_it_claims(db):
    # given: a worker process (not django-q2's sync mode) with its registration
    worker = services.worker_register(name="w@host:1", host="host", pid=1, cluster="informer", concurrency=1)
    run = run_now(JobFactory())

    # when
    claimed = services.run_claim(run_id=str(run.pk), worker=worker)

    # then: the row and the returned run both name the worker
    assert claimed is not None
    assert (claimed.worker, claimed.status, claimed.lease_token) == (worker, RunStatus.RUNNING, row(run)["lease_token"])
    assert row(run)["worker_id"] == worker.pk


def test_a_run_records_its_progress_and_result(db, time_machine):
    # given
    time_machine.move_to(T0, tick=False)
    job = JobFactory(name="Report")
    run = run_now(job, region="eu")

    # when
    outcome = execute_run(str(run.pk))

    # then
    run.refresh_from_db()
    assert outcome == RunStatus.SUCCEEDED
    assert run.progress == [
        {
            "key": "type",
            "name": "Email",
            "status": "success",
            "message": "Nothing to do before the actions.",
            "startedAt": iso(T0),
            "endedAt": iso(T0),
        }
    ]
    assert (run.status, run.success, run.error, run.warnings) == (RunStatus.SUCCEEDED, True, "", False)
    assert (run.started_at, run.ended_at, run.heartbeat_at) == (T0, T0, T0)
    assert (run.lease_token, run.worker_id, run.params) == (None, None, {"region": "eu"})
    assert run.definition["name"] == "Report"
    job.refresh_from_db()
    assert (job.last_run_at, job.last_success, job.locked_at) == (T0, True, None)


def test_progress_is_visible_while_the_run_goes(db, email_step):
    # given
    seen: list[Any] = []

    def work(context):
        stored = Run.objects.get(pk=context.run_id)
        seen.append((stored.status, stored.progress))
        return StepResult(message="done", warning=True)

    email_step(work)
    run = run_now(JobFactory())

    # when
    execute_run(str(run.pk))

    # then
    [(status, progress)] = seen
    assert status == RunStatus.RUNNING
    assert [(entry["key"], entry["status"], entry["endedAt"]) for entry in progress] == [("type", "running", None)]
    run.refresh_from_db()
    assert (run.status, run.warnings, run.progress[0]["status"]) == (RunStatus.SUCCEEDED, True, "warning")


def test_an_exception_in_a_driver_becomes_the_runs_error(db, email_step):
    # given
    def explode(context):
        raise RuntimeError("boom")

    email_step(explode)
    run = run_now(JobFactory(max_attempts=1))

    # when
    outcome = execute_run(str(run.pk))

    # then
    run.refresh_from_db()
    assert outcome == RunStatus.FAILED
    assert (run.status, run.success, run.error) == (RunStatus.FAILED, False, "Email: RuntimeError: boom")
    assert [(entry["status"], entry["message"]) for entry in run.progress] == [("error", "RuntimeError: boom")]
    assert run.lease_token is None


class WithdrawnJob(JobTypeDriver):
    """A job type registered but not available on this installation (every real one is): it does no work."""

    id = "withdrawn"
    available = False
    name = "Withdrawn"
    schema = {"type": "object", "properties": {"libraryId": {"type": "string", "format": "uuid"}}}


@pytest.mark.parametrize(
    ("job_type", "name", "data"),
    [("withdrawn", "Withdrawn", {"libraryId": str(uuid.UUID(int=3))})],
)
def test_unavailable_job_types_fail_permanently(db, monkeypatch, job_type, name, data):
    # given
    monkeypatch.setitem(registry.JOB_DRIVERS, job_type, f"{__name__}.WithdrawnJob")
    run = run_now(JobFactory(type=job_type, data=data, max_attempts=3))

    # when
    outcome = execute_run(str(run.pk))

    # then
    run.refresh_from_db()
    assert outcome == RunStatus.FAILED
    assert run.error == f"{name}: The '{job_type}' job type is not available yet on this installation."
    assert Run.objects.count() == 1  # a permanent failure is not retried


def test_an_unknown_job_type_fails_permanently(db):
    # given
    run = run_now(JobFactory(type="fax", max_attempts=3))

    # when
    execute_run(str(run.pk))

    # then
    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, "Unknown job type 'fax'.")
    assert Run.objects.count() == 1


def test_a_transient_failure_is_retried_with_backoff(db, email_step, time_machine):
    # given
    time_machine.move_to(T0, tick=False)

    def busy(context):
        raise StepFailed("The mail server is busy.")

    email_step(busy)
    job = JobFactory(max_attempts=3)
    first = run_now(job, batch=7)

    # when
    execute_run(str(first.pk))
    second = Run.objects.get(retry_of=first)
    dispatched_early = services.runs_dispatch(now=T0 + timedelta(seconds=9))
    time_machine.move_to(T0 + timedelta(seconds=10), tick=False)
    dispatched_on_time = services.runs_dispatch()
    third = Run.objects.get(retry_of=second)
    time_machine.move_to(T0 + timedelta(seconds=30), tick=False)
    dispatched_last = services.runs_dispatch()

    # then
    assert (dispatched_early, dispatched_on_time, dispatched_last) == (0, 1, 1)
    attempts = Run.objects.order_by("attempt").values_list("attempt", "trigger", "status", "not_before", "params")
    assert list(attempts) == [
        (1, Trigger.MANUAL, RunStatus.FAILED, T0, {"batch": 7}),
        (2, Trigger.RETRY, RunStatus.FAILED, T0 + timedelta(seconds=10), {"batch": 7}),
        (3, Trigger.RETRY, RunStatus.FAILED, T0 + timedelta(seconds=30), {"batch": 7}),
    ]
    assert third.retry_of_id == second.pk
    assert Run.objects.get(pk=third.pk).error == "Email: The mail server is busy."


# --------------------------------------------------------------------------------------------- leases


@pytest.mark.parametrize(
    ("heartbeat_age", "reaped"),
    [(59, False), (60, False), (61, True), (None, True)],
    ids=["fresh", "at the limit", "stale", "never heartbeated"],
)
def test_the_reaper_fails_runs_whose_worker_stopped(db, settings, heartbeat_age, reaped):
    # given
    settings.INFORMER_WORKER_TIMEOUT = 60
    job = JobFactory(max_attempts=2)
    heartbeat = None if heartbeat_age is None else T0 - timedelta(seconds=heartbeat_age)
    run = running_run(job, since=T0 - timedelta(seconds=61), heartbeat_at=heartbeat)

    # when
    result = services.runs_reap(now=T0)

    # then
    run.refresh_from_db()
    if not reaped:
        assert (result, run.status) == ([], RunStatus.RUNNING)
        return
    assert result == [run.pk]
    assert (run.status, run.success, run.ended_at, run.lease_token) == (RunStatus.FAILED, False, T0, None)
    assert run.error == "The worker stopped responding: no heartbeat for 61 s (worker lost or hung)."
    retry = Run.objects.get(retry_of=run)
    assert (retry.attempt, retry.trigger, retry.status) == (2, Trigger.RETRY, RunStatus.QUEUED)


def test_a_reaped_worker_that_wakes_up_changes_nothing(db, settings):
    # given
    settings.INFORMER_WORKER_TIMEOUT = 60
    job = JobFactory()
    stale = running_run(job, since=T0 - timedelta(seconds=120), heartbeat_at=T0 - timedelta(seconds=90))
    silent = running_run(job, since=T0 - timedelta(seconds=120), heartbeat_at=None)
    services.runs_reap(now=T0)
    before = rows()

    # when
    writes = [
        call(run_id=run.pk, token=run.lease_token, **extra)
        for run in (stale, silent)
        for call, extra in [
            (services.run_heartbeat, {}),
            (services.run_write_progress, {"progress": [{"key": "late"}], "data": {"x": 1}, "warnings": True}),
            (
                services.run_finish,
                {"status": RunStatus.SUCCEEDED, "progress": [{"key": "late"}], "data": {"x": 1}, "warnings": True},
            ),
        ]
    ]

    # then
    assert writes == [False] * 6
    assert rows() == before
    assert set(Run.objects.filter(retry_of__isnull=True).values_list("status", flat=True)) == {RunStatus.FAILED}


@pytest.mark.parametrize(("elapsed", "timed_out"), [(70, False), (71, True)], ids=["within the grace", "past it"])
def test_the_reaper_times_out_a_run_past_its_jobs_timeout(db, settings, elapsed, timed_out):
    # given: the worker still heartbeats, but the step never yields to the executor's own check; the
    # reaper allows the job's timeout plus one heartbeat interval
    settings.INFORMER_HEARTBEAT_SECONDS = 10
    job = JobFactory(timeout_seconds=60)
    run = running_run(job, since=T0 - timedelta(seconds=elapsed), heartbeat_at=T0)

    # when
    result = services.runs_reap(now=T0)

    # then
    run.refresh_from_db()
    if not timed_out:
        assert (result, run.status, run.error) == ([], RunStatus.RUNNING, "")
        return
    assert result == [run.pk]
    assert (run.status, run.error) == (RunStatus.TIMED_OUT, "The run exceeded the job's timeout of 60 s.")


@pytest.mark.django_db(transaction=True)
def test_a_run_longer_than_its_timeout_ends_timed_out(settings, email_step):
    # given
    settings.INFORMER_HEARTBEAT_SECONDS = 0.2
    email_step(sleeper(3))
    run = run_now(JobFactory(timeout_seconds=1))

    # when
    outcome = execute_run(str(run.pk))

    # then
    run.refresh_from_db()
    message = "The run exceeded the job's timeout of 1 s."
    assert outcome == RunStatus.TIMED_OUT
    assert (run.status, run.success, run.error) == (RunStatus.TIMED_OUT, False, message)
    assert [(entry["status"], entry["message"]) for entry in run.progress] == [("error", message)]
    assert 1 <= (run.ended_at - run.started_at).total_seconds() < 2.5


@pytest.mark.django_db(transaction=True)
def test_one_keeper_thread_holds_the_leases_of_every_run_of_a_process(settings, email_step):
    # given: two runs going at once, in two threads of this process, each longer than a heartbeat
    settings.INFORMER_HEARTBEAT_SECONDS = 0.2
    email_step(sleeper(1.2))
    runs = [run_now(JobFactory()) for _ in range(2)]
    outcomes: list[str] = []

    # when
    threads = [in_thread(lambda run=run: outcomes.append(execute_run(str(run.pk)))) for run in runs]
    for thread in threads:
        thread.join(10)

    # then: both leases were renewed while the runs went, by the one keeper of this process
    assert outcomes == [RunStatus.SUCCEEDED] * 2
    for run in runs:
        run.refresh_from_db()
        assert run.heartbeat_at > run.started_at
    assert [thread.name for thread in threading.enumerate() if thread.name.startswith("lease")] == ["lease-keeper"]


# --------------------------------------------------------------------------------------------- cancel


def test_cancelling_a_queued_run_ends_it_at_once(db, time_machine):
    # given
    time_machine.move_to(T0, tick=False)
    run = run_now(JobFactory(max_attempts=3))

    # when
    services.run_cancel(run=run)
    outcome = execute_run(str(run.pk))

    # then
    run.refresh_from_db()
    assert outcome == "not claimed"
    assert (run.status, run.success, run.error, run.ended_at) == (RunStatus.CANCELLED, False, "Cancelled.", T0)
    assert Run.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_run_stops_it(settings, email_step):
    # given
    settings.INFORMER_HEARTBEAT_SECONDS = 0.2
    started = threading.Event()
    email_step(sleeper(10, started=started, stoppable=True))
    run = run_now(JobFactory(max_attempts=3))
    outcome: list[str] = []
    worker = in_thread(lambda: outcome.append(execute_run(str(run.pk))))
    assert started.wait(5)

    # when
    requested = services.run_cancel(run=Run.objects.get(pk=run.pk))
    worker.join(10)

    # then
    assert (requested.status, requested.cancel_requested) == (RunStatus.RUNNING, True)
    run.refresh_from_db()
    assert outcome == [RunStatus.CANCELLED]
    assert (run.status, run.success, run.error) == (RunStatus.CANCELLED, False, "Cancelled.")
    assert [(entry["status"], entry["message"]) for entry in run.progress] == [("error", "Cancelled.")]
    assert Run.objects.count() == 1  # a cancelled run is not retried


# ------------------------------------------------------------------------------------------ shutdown


def test_a_worker_told_to_release_its_run_gives_it_back_to_the_queue(db, email_step):
    # given: its cluster is stopping and the grace period is over: the release signal comes during a step
    def interrupted(context):
        workers._on_release(signal.SIGUSR1, None)
        raise AssertionError("not reached")

    email_step(interrupted)
    run = run_now(JobFactory(max_attempts=1))

    # when
    outcome = execute_run(str(run.pk))

    # then: queued again as before its claim, as the same attempt, and counted as handed to the broker
    run.refresh_from_db()
    assert outcome == "released"
    assert (run.status, run.attempt, run.error, run.success, run.lease_token, run.worker_id) == (
        RunStatus.QUEUED,
        1,
        "",
        None,
        None,
        None,
    )
    assert (run.started_at, run.heartbeat_at, run.progress, run.data) == (None, None, [], {})
    assert run.enqueued_at is not None
    assert Run.objects.count() == 1  # not failed and retried: a stop is not the run's failure


def test_a_released_run_whose_cancellation_was_asked_ends_cancelled(db, email_step):
    # given
    def interrupted(context):
        Run.objects.filter(pk=context.run_id).update(cancel_requested=True)
        workers._on_release(signal.SIGUSR1, None)

    email_step(interrupted)
    run = run_now(JobFactory(max_attempts=3))

    # when
    outcome = execute_run(str(run.pk))

    # then
    run.refresh_from_db()
    assert outcome == RunStatus.CANCELLED
    assert (run.status, run.error, run.lease_token) == (RunStatus.CANCELLED, "Cancelled.", None)
    assert Run.objects.count() == 1


def test_a_stopping_worker_hands_a_delivered_run_back_instead_of_starting_it(db, monkeypatch):
    # given
    sent: list[list] = []
    monkeypatch.setattr(services, "run_enqueue", lambda ids, **options: sent.append(list(ids)))
    monkeypatch.setattr("runs.executor.stopping", lambda: True)
    run = run_now(JobFactory())
    before = row(run)

    # when
    outcome = execute_run(str(run.pk))

    # then: untouched, and sent to the broker again for another worker
    assert outcome == "handed back"
    assert row(run) == before
    assert sent == [[run.pk]]
