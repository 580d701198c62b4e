"""History pruning (``prune_history``, the scheduler's prune): each rule at its edge, and how they combine."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from runs import retention
from runs.models import Run, RunStatus
from tests.factories import JobFactory
from tests.runs.conftest import T0, RunFactory, finished_run, running_run

DAY = timedelta(days=1)
AGES = (1, 10, 29, 31, 60)  # days, of each job's five finished runs


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def prune(*args: str, stdout: StringIO | None = None) -> str:
    out = stdout if stdout is not None else StringIO()
    call_command("prune_history", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def frozen(db, time_machine):
    time_machine.move_to(T0, tick=False)


@pytest.fixture
def history(frozen):
    """Two jobs with finished runs 1, 10, 29, 31 and 60 days old; returns {run id: (job, age)}."""
    ages = {}
    for job in (JobFactory(), JobFactory()):
        for days in AGES:
            ages[finished_run(job, created_at=T0 - days * DAY).pk] = (job.pk, days)
    return ages


def kept_ages(ages: dict) -> set[int]:
    """The ages still there, the same for both jobs."""
    per_job: dict = {}
    for pk in Run.objects.values_list("pk", flat=True):
        job_id, age = ages[pk]
        per_job.setdefault(job_id, set()).add(age)
    assert len({frozenset(kept) for kept in per_job.values()}) <= 1
    return next(iter(per_job.values()), set())


@pytest.mark.parametrize(
    ("keep", "max_age_days", "kept"),
    [
        # Either rule deletes: the count rule takes 29, 31, 60; the age rule takes 31 and 60.
        (2, 30, {1, 10}),
        # 31 is among the four newest, and still goes: it is too old.
        (4, 30, {1, 10, 29}),
        # 29 is young enough, and still goes: it is beyond the two newest.
        (2, 90, {1, 10}),
        (2, 0, {1, 10}),  # 0: no age limit
        (0, 30, {1, 10, 29}),  # 0: no count limit
        (0, 0, set(AGES)),  # both off: nothing goes
        (5, 60, set(AGES)),  # exactly five, and the oldest exactly 60 days old: both edges keep
        (5, 59, {1, 10, 29, 31}),
        (4, 60, {1, 10, 29, 31}),
    ],
)
def test_a_run_goes_when_either_rule_says_so(history, keep, max_age_days, kept):
    # when
    output = prune("--keep", str(keep), "--max-age-days", str(max_age_days))

    # then
    assert kept_ages(history) == kept
    assert output.splitlines()[-1] == f"Deleted {2 * (len(AGES) - len(kept))} history record(s)."


def test_the_age_edge_is_exact_to_the_microsecond(frozen):
    # given
    job = JobFactory()
    at_the_limit = finished_run(job, created_at=T0 - 30 * DAY)
    just_older = finished_run(job, created_at=T0 - 30 * DAY - timedelta(microseconds=1))

    # when
    prune("--keep", "0", "--max-age-days", "30")

    # then
    assert list(Run.objects.values_list("pk", flat=True)) == [at_the_limit.pk]
    assert not Run.objects.filter(pk=just_older.pk).exists()


@pytest.mark.parametrize(("runs", "kept"), [(3, 3), (4, 3), (2, 2)])
def test_the_count_edge(frozen, runs, kept):
    # given
    job = JobFactory()
    made = [finished_run(job, created_at=T0 - index * DAY) for index in range(runs)]

    # when
    prune("--keep", "3", "--max-age-days", "0")

    # then: the newest stay
    assert set(Run.objects.values_list("pk", flat=True)) == {run.pk for run in made[:kept]}


def test_queued_and_running_runs_are_never_deleted_and_do_not_count(frozen):
    # given: three finished runs and two old runs still going
    job = JobFactory()
    finished = [finished_run(job, created_at=T0 - days * DAY) for days in (1, 2, 3)]
    queued = RunFactory(job=job, created_at=T0 - 400 * DAY)
    running = running_run(job, since=T0 - 300 * DAY, created_at=T0 - 300 * DAY)

    # when
    output = prune("--keep", "3", "--max-age-days", "30")

    # then
    assert set(Run.objects.values_list("pk", flat=True)) == {run.pk for run in [*finished, queued, running]}
    assert output == "Deleted 0 history record(s).\n"


def test_the_limits_default_to_the_settings(history, settings):
    # given
    settings.INFORMER_HISTORY_KEEP = 4
    settings.INFORMER_HISTORY_MAX_AGE_DAYS = 30

    # when
    deleted = retention.history_prune()

    # then
    assert (deleted, kept_ages(history)) == (4, {1, 10, 29})


def test_a_kept_retry_of_a_deleted_run_stays_and_forgets_it(frozen):
    # given
    job = JobFactory()
    first = finished_run(job, RunStatus.FAILED, created_at=T0 - 40 * DAY)
    retry = finished_run(job, created_at=T0 - 20 * DAY, retry_of=first, attempt=2)

    # when
    deleted = retention.history_prune(keep=0, max_age_days=30)

    # then
    assert deleted == 1
    assert list(Run.objects.values_list("pk", "retry_of")) == [(retry.pk, None)]


def test_plain_output_counts_the_jobs_pruned(history):
    output = prune("--keep", "2", "--max-age-days", "30")

    assert output == ("Pruning history: 1/2 jobs\nPruning history: 2/2 jobs\nDeleted 6 history record(s).\n")


def test_on_a_terminal_a_bar_counts_the_jobs_pruned(history):
    output = prune("--keep", "2", "--max-age-days", "30", stdout=Terminal())

    assert "\r" in output and "2/2" in output and "100%" in output
    assert output.endswith("\nDeleted 6 history record(s).\n")


def test_the_help_says_how_the_rules_combine(capsys):
    with pytest.raises(SystemExit):
        call_command("prune_history", "--help")

    text = " ".join(capsys.readouterr().out.split())
    assert "a run goes when either rule says so" in text
    assert "stays only while it is both among its job's N newest and at most D days old" in text
    assert "0 turns a rule off" in text
