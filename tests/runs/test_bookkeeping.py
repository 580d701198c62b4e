"""Jobs' last-run fields: written at once, or deferred in a worker process and flushed by its heartbeat."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from jobs.models import Job
from runs import bookkeeping
from tests.factories import JobFactory
from tests.runs.conftest import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_process(monkeypatch):
    """This process defers as a worker process does (its state restored afterwards)."""
    monkeypatch.setattr(bookkeeping, "_owner", os.getpid())
    monkeypatch.setattr(bookkeeping, "_pending", {})


def last_run(job: Job) -> tuple:
    return Job.objects.values_list("last_run_at", "last_success").get(pk=job.pk)


def test_outside_a_worker_process_the_fields_are_written_at_once():
    job = JobFactory()

    bookkeeping.note(job.pk, T0, True)

    assert last_run(job) == (T0, True)


def test_a_worker_process_writes_them_when_it_flushes(worker_process):
    # given
    job = JobFactory()

    # when
    bookkeeping.note(job.pk, T0, False)
    before = last_run(job)
    written = bookkeeping.flush()

    # then
    assert before == (None, None)
    assert written == 1
    assert last_run(job) == (T0, False)
    assert bookkeeping.flush() == 0  # nothing left


def test_an_older_run_reported_late_does_not_move_last_run_back(worker_process):
    # given: the newer run is already recorded
    job = JobFactory()
    bookkeeping.note(job.pk, T0, True)
    bookkeeping.flush()

    # when: an older run's end arrives, deferred and written at once alike
    bookkeeping.note(job.pk, T0 - timedelta(minutes=1), False)
    bookkeeping.flush()
    bookkeeping._owner = None
    bookkeeping.note(job.pk, T0 - timedelta(minutes=2), False)

    # then
    assert last_run(job) == (T0, True)


def test_within_one_flush_the_latest_run_wins(worker_process):
    job = JobFactory()

    bookkeeping.note(job.pk, T0 + timedelta(seconds=5), False)
    bookkeeping.note(job.pk, T0, True)
    bookkeeping.flush()

    assert last_run(job) == (T0 + timedelta(seconds=5), False)


def test_a_failed_flush_keeps_the_fields_for_the_next_one(worker_process, monkeypatch):
    # given: the database refuses the write once
    job = JobFactory()
    bookkeeping.note(job.pk, T0, True)
    original = bookkeeping.statements.job_last_run

    def refuse(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(bookkeeping.statements, "job_last_run", refuse)

    # when
    with pytest.raises(RuntimeError):
        bookkeeping.flush()
    monkeypatch.setattr(bookkeeping.statements, "job_last_run", original)
    written = bookkeeping.flush()

    # then
    assert written == 1
    assert last_run(job) == (T0, True)
