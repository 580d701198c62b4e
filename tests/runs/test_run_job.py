"""``run_job``: its progress (a bar on a terminal, lines otherwise), its silence, its exit codes, no worker row."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F

from jobs.drivers.base import StepFailed, StepResult
from jobs.models import Job, JobAction
from runs import bookkeeping, services, workers
from runs.management.commands import run_job
from runs.models import Run, RunStatus, Worker
from tests.factories import JobFactory
from tests.runs.conftest import running_run, sleeper


class Terminal(StringIO):
    """What a command's stdout is on an interactive terminal."""

    def isatty(self) -> bool:
        return True


def command(*args: str, stdout: StringIO | None = None) -> str:
    out = stdout if stdout is not None else StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def failure_of(*args: str) -> CommandError:
    with pytest.raises(CommandError) as failure:
        command(*args)
    assert failure.value.returncode == 1  # what manage.py exits with
    return failure.value


class Collected(logging.Handler):
    """Every record that reaches the loggers it is attached to."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def emitted() -> Iterator[list[str]]:
    """The messages that reach the root logger, and django-q2's (which has its own handler when the
    settings configure no logging)."""
    handler = Collected()
    django_q = logging.getLogger("django-q")
    loggers = [logging.getLogger()] + ([] if django_q.propagate else [django_q])
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.messages
    for logger in loggers:
        logger.removeHandler(handler)


def chatty(context):
    """A step that logs as django-q2 and the drivers do, to stdout's neighbour stderr."""
    logging.getLogger("django-q").warning("django-q2 says hello")
    logging.getLogger("jobs.drivers").error("a driver complains")
    return StepResult(message="Logged twice.")


def with_actions(job: Job, count: int) -> None:
    for index in range(count):
        JobAction.objects.create(job=job, index=index, name=f"Hook {index}", type="webhook", enabled=False)


# --------------------------------------------------------------------------------------------- progress


def test_on_a_terminal_the_steps_advance_a_bar(owner):
    # given
    job = JobFactory(owner=owner, name="Nightly", slug="nightly")
    with_actions(job, 2)
    terminal = Terminal()

    # when
    output = command("run_job", "alpha:nightly", "--inline", stdout=terminal)

    # then: the step lines above a bar that counts the three steps, then the outcome
    run = Run.objects.get(job=job)
    assert "\r" in output
    assert "3/3" in output and "100%" in output
    lines = output.split("\n")
    assert "  ✓ Email — Nothing to do before the actions." in "".join(lines)
    assert "  - Hook 1 — The action is disabled." in "".join(lines)
    assert lines[-2] == f"Run {run.pk} succeeded."


def test_not_on_a_terminal_the_steps_are_plain_lines(owner):
    # given
    job = JobFactory(owner=owner, name="Nightly", slug="nightly")
    with_actions(job, 1)

    # when
    output = command("run_job", "alpha:nightly", "--inline")

    # then
    run = Run.objects.get(job=job)
    assert "\r" not in output
    assert output == (
        f"Run {run.pk} of 'Nightly' executing here.\n"
        "status: succeeded\n"
        "  ✓ Email — Nothing to do before the actions.\n"
        "  - Hook 0 — The action is disabled.\n"
        f"Run {run.pk} succeeded.\n"
    )


@pytest.mark.usefixtures("transactional_db")
def test_inline_shows_each_step_while_the_next_one_runs(tenant, owner, email_step):
    # given: the job type's step takes a while; outside a transaction the steps execute in a thread of
    # their own while the command follows them
    email_step(sleeper(1.2))
    job = JobFactory(owner=owner, name="Nightly", slug="nightly")

    # when
    output = command("run_job", "alpha:nightly", "--inline")

    # then: the run was seen running, its step first running and then done (and, if the first look came
    # before the thread's claim, queued)
    run = Run.objects.get(job=job)
    assert output.replace("status: queued\n", "", 1) == (
        f"Run {run.pk} of 'Nightly' executing here.\n"
        "status: running\n"
        "  … Email\n"
        "status: succeeded\n"
        "  ✓ Email — Slept 1.2 s.\n"
        f"Run {run.pk} succeeded.\n"
    )


# ---------------------------------------------------------------------------------------------- logging


def test_nothing_is_logged_while_it_follows(owner, email_step, emitted, capfd):
    # given
    email_step(chatty)
    job = JobFactory(owner=owner, slug="nightly")

    # when
    output = command("run_job", "alpha:nightly", "--inline")

    # then: the records were never emitted, on any stream; the command's own lines are all there is
    run = Run.objects.get(job=job)
    assert emitted == []
    streams = capfd.readouterr()
    assert "hello" not in streams.err + streams.out and "complains" not in streams.err + streams.out
    assert "hello" not in output and "complains" not in output
    assert f"Run {run.pk} succeeded." in output
    # and logging is back once it is done
    logging.getLogger("django-q").warning("after")
    assert emitted == ["after"]


def test_nothing_is_logged_while_it_waits_for_a_worker(owner, monkeypatch, emitted):
    # given: a worker, as seen from the command's polls, logs and then ends the run
    job = JobFactory(owner=owner, slug="nightly")

    def poll(seconds: float) -> None:
        logging.getLogger("django-q").info("Process-1 processing run")
        run = Run.objects.get(job=job)
        claimed = services.run_claim(run_id=run.pk, worker=None)
        assert claimed is not None and claimed.lease_token is not None
        services.run_finish(
            run_id=run.pk, token=claimed.lease_token, status=RunStatus.SUCCEEDED, progress=[], data={}, warnings=False
        )

    monkeypatch.setattr(run_job, "sleep", poll)

    # when
    output = command("run_job", "alpha:nightly", "--wait")

    # then
    run = Run.objects.get(job=job)
    assert emitted == []
    assert (
        output == f"Run {run.pk} of '{job.name}' queued.\nstatus: queued\nstatus: succeeded\nRun {run.pk} succeeded.\n"
    )


def test_verbosity_2_keeps_logging(owner, email_step, emitted):
    email_step(chatty)
    JobFactory(owner=owner, slug="nightly")

    command("run_job", "alpha:nightly", "--inline", "--verbosity", "2")

    assert {"django-q2 says hello", "a driver complains"} <= set(emitted)


# ------------------------------------------------------------------------------------------- exit codes


def test_a_failed_run_exits_non_zero(owner, email_step):
    # given
    def refuse(context):
        raise StepFailed("No recipients.", permanent=True)

    email_step(refuse)
    job = JobFactory(owner=owner, slug="nightly")

    # when
    failure = failure_of("run_job", "alpha:nightly", "--inline")

    # then
    run = Run.objects.get(job=job)
    assert str(failure) == f"Run {run.pk} ended failed: Email: No recipients."


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (RunStatus.TIMED_OUT, "The run exceeded the job's timeout of 3600 s."),
        (RunStatus.CANCELLED, "Cancelled."),
        (RunStatus.SKIPPED, "Skipped: the previous run is still going."),
        (RunStatus.FAILED, "The worker stopped responding: no heartbeat for 61 s (worker lost or hung)."),
    ],
)
def test_a_run_a_worker_ends_other_than_succeeded_exits_non_zero(owner, monkeypatch, status, error):
    # given: the worker's run ends with ``status`` between two polls
    job = JobFactory(owner=owner, slug="nightly")

    def poll(seconds: float) -> None:
        Run.objects.filter(job=job).update(status=status, error=error, success=False, ended_at=F("created_at"))

    monkeypatch.setattr(run_job, "sleep", poll)

    # when
    failure = failure_of("run_job", "alpha:nightly", "--wait")

    # then
    run = Run.objects.get(job=job)
    assert str(failure) == f"Run {run.pk} ended {status}: {error}"


def test_a_run_cancelled_while_it_waits_exits_non_zero(owner, monkeypatch):
    # given: someone cancels the queued run (the admin's "Cancel", the API) while the command waits
    job = JobFactory(owner=owner, slug="nightly")
    monkeypatch.setattr(run_job, "sleep", lambda seconds: services.run_cancel(run=Run.objects.get(job=job)))

    # when
    failure = failure_of("run_job", "alpha:nightly", "--wait")

    # then
    run = Run.objects.get(job=job)
    assert (str(failure), run.status) == (f"Run {run.pk} ended cancelled: Cancelled.", RunStatus.CANCELLED)


def test_a_run_that_ends_succeeded_with_warnings_exits_zero(owner, email_step):
    email_step(lambda context: StepResult(message="Two addresses bounced.", warning=True))
    job = JobFactory(owner=owner, slug="nightly")

    output = command("run_job", "alpha:nightly", "--inline")

    run = Run.objects.get(job=job)
    assert (run.status, run.warnings) == (RunStatus.SUCCEEDED, True)
    assert output.endswith(f"  ! Email — Two addresses bounced.\nRun {run.pk} succeeded.\n")


def test_a_run_that_cannot_start_here_is_cancelled_and_exits_non_zero(owner, settings):
    # given: the cluster's one slot is taken by another job's run
    settings.INFORMER_MAX_CONCURRENT_RUNS = 1
    running_run(JobFactory(owner=owner))
    job = JobFactory(owner=owner, slug="nightly")

    # when
    failure = failure_of("run_job", "alpha:nightly", "--inline")

    # then: it is not left queued for a worker to start later
    run = Run.objects.get(job=job)
    assert str(failure) == (
        f"Run {run.pk} could not start: a concurrency limit holds it back (INFORMER_MAX_CONCURRENT_RUNS, "
        "the tenant's maxConcurrentJobs, or a run of this job still going); it was cancelled."
    )
    assert (run.status, run.started_at) == (RunStatus.CANCELLED, None)


@pytest.mark.parametrize("inline", [True, False])
def test_a_draft_cannot_run_and_nothing_is_recorded(owner, inline):
    # given
    original = JobFactory(owner=owner, slug="nightly")
    draft = JobFactory(owner=owner, slug="nightly-draft", editing_of=original)

    # when
    failure = failure_of("run_job", str(draft.pk), *(["--inline"] if inline else ["--wait"]))

    # then
    assert str(failure) == f"Run of '{draft.name}' could not be made: A draft cannot be run; commit it first."
    assert Run.objects.count() == 0


def test_giving_up_on_a_worker_leaves_its_run_alone(owner, monkeypatch):
    # given: no worker takes the run
    job = JobFactory(owner=owner, slug="nightly")
    clock = iter(range(0, 100, 5))
    monkeypatch.setattr(run_job, "monotonic", lambda: next(clock))
    monkeypatch.setattr(run_job, "sleep", lambda seconds: None)

    # when
    failure = failure_of("run_job", "alpha:nightly", "--wait", "--timeout", "12")

    # then
    assert str(failure) == "Gave up waiting after 12 s; the run is still queued."
    assert Run.objects.get(job=job).status == RunStatus.QUEUED


@pytest.mark.usefixtures("transactional_db")
def test_a_run_over_its_job_timeout_here_ends_timed_out_and_exits_non_zero(tenant, owner, email_step):
    # given
    email_step(sleeper(10, stoppable=True))
    job = JobFactory(owner=owner, slug="nightly", timeout_seconds=1)

    # when
    failure = failure_of("run_job", "alpha:nightly", "--inline")

    # then
    run = Run.objects.get(job=job)
    assert str(failure) == f"Run {run.pk} ended timedOut: The run exceeded the job's timeout of 1 s."
    assert run.status == RunStatus.TIMED_OUT


@pytest.mark.usefixtures("transactional_db")
def test_giving_up_on_a_run_executing_here_cancels_it(tenant, owner, email_step):
    # given
    email_step(sleeper(10, stoppable=True))
    job = JobFactory(owner=owner, slug="nightly")
    out = StringIO()

    # when
    with pytest.raises(CommandError) as failure:
        call_command("run_job", "alpha:nightly", "--inline", "--timeout", "0.5", stdout=out, stderr=StringIO())

    # then
    run = Run.objects.get(job=job)
    assert str(failure.value) == f"Run {run.pk} ended cancelled: Cancelled."
    assert run.status == RunStatus.CANCELLED
    assert "Gave up waiting after 0.5 s: cancelling the run.\n" in out.getvalue()


# ---------------------------------------------------------------------------------------------- workers


@pytest.fixture
def worker_mode(monkeypatch):
    """django-q2 not in sync mode, as in production; this process's worker state restored afterwards."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(workers, "_worker", {})
    monkeypatch.setattr(bookkeeping, "_owner", None)
    monkeypatch.setattr(bookkeeping, "_pending", {})


def test_inline_registers_no_worker(owner, worker_mode):
    # given
    job = JobFactory(owner=owner, slug="nightly")

    # when
    command("run_job", "alpha:nightly", "--inline")

    # then: no worker row that would later show "lost"; the job's last run is written at once
    run = Run.objects.get(job=job)
    assert (run.status, run.worker_id) == (RunStatus.SUCCEEDED, None)
    assert Worker.objects.count() == 0
    assert Job.objects.values_list("last_run_at", "last_success").get(pk=job.pk) == (run.started_at, True)
    # and the process is a worker's again afterwards (as a django-q2 worker would be)
    assert workers._not_a_worker is False
