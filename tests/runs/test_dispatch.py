"""The dispatcher: never-enqueued runs go at once; runs the broker lost go again only when it is idle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from runs import scheduler, services
from runs.models import Run, RunStatus, Trigger
from tests.factories import JobFactory


@pytest.fixture
def sent(monkeypatch):
    calls: list[list] = []
    monkeypatch.setattr(services, "run_enqueue", lambda ids, **options: calls.append(list(ids)))
    return calls


def queued(job, *, enqueued_ago: float | None) -> Run:
    enqueued = None if enqueued_ago is None else timezone.now() - timedelta(seconds=enqueued_ago)
    return Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL, enqueued_at=enqueued)


@pytest.mark.django_db
def test_a_run_never_enqueued_is_sent(sent):
    run = queued(JobFactory(), enqueued_ago=None)

    assert services.runs_dispatch() == 1
    assert sent == [[run.pk]]


@pytest.mark.django_db
@pytest.mark.parametrize(("broker_idle", "expected"), [(True, 1), (False, 0)])
def test_a_run_enqueued_long_ago_is_sent_again_only_when_the_broker_is_idle(sent, monkeypatch, broker_idle, expected):
    # given
    monkeypatch.setattr(services, "_broker_idle", lambda: broker_idle)
    run = queued(JobFactory(), enqueued_ago=settings.INFORMER_REDELIVER_AFTER + 5)

    # when
    count = services.runs_dispatch()

    # then
    assert count == expected
    assert sent == ([[run.pk]] if expected else [])
    assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED


@pytest.mark.django_db
def test_a_recently_enqueued_run_is_not_sent_again(sent, monkeypatch):
    monkeypatch.setattr(services, "_broker_idle", lambda: True)
    queued(JobFactory(), enqueued_ago=1)

    assert services.runs_dispatch() == 0
    assert sent == []


@pytest.mark.django_db
def test_runs_a_tick_records_are_not_sent_by_a_dispatch_before_the_tick_enqueues_them(
    sent, time_machine, django_capture_on_commit_callbacks
):
    # given: a tick recorded a run and will enqueue it when its transaction commits
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    job = JobFactory(interval="*/5 * * * *", next_run_at=now - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        scheduler.fire_due(now=now)
        run = Run.objects.get(job=job)

        # when: a worker's dispatch (a slot freed) runs before that enqueue
        count = services.runs_dispatch(now=now)
        waiting = services.dispatch_waiting()
        before_commit = list(sent)

    # then: the dispatch sent nothing; the tick's own enqueue, on commit, is the one delivery
    assert (count, waiting, before_commit) == (0, 0, [])
    assert run.enqueued_at == now
    assert sent == [[run.pk]]


@pytest.mark.django_db
def test_a_run_held_back_by_a_limit_is_sent_when_a_run_ends(sent):
    # given: a run that waits for a slot (never enqueued)
    run = queued(JobFactory(), enqueued_ago=None)

    # when
    count = services.dispatch_waiting()

    # then
    assert count == 1
    assert sent == [[run.pk]]
