"""Concurrency limits (§6): the tenant's maxConcurrentJobs and INFORMER_MAX_CONCURRENT_RUNS; none dropped."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from jobs.drivers.base import StepResult
from runs import services, statements
from runs.models import Run, RunStatus
from tests.factories import JobFactory, TenantFactory, UserFactory

LIMITS = {
    # name: (tenant maxConcurrentJobs, INFORMER_MAX_CONCURRENT_RUNS, tenants the 5 runs are spread over,
    #        runs dispatched after the 1st and after the 2nd run finished, running runs each step saw)
    "tenant limit": (2, 50, 1, (3, 0), [2, 2, 2]),
    "cluster limit": (10, 2, 2, (1, 2), [2, 1, 1]),
}


@pytest.fixture(params=["in a transaction", "autocommit"])
def claims_db(request: pytest.FixtureRequest) -> str:
    """A test database, with the claim called inside a transaction or not (on PostgreSQL the latter is
    the one-message claim)."""
    request.getfixturevalue("db" if request.param == "in a transaction" else "transactional_db")
    return str(request.param)


def finish(run: Run) -> None:
    assert services.run_finish(
        run_id=run.pk, token=run.lease_token, status=RunStatus.SUCCEEDED, progress=[], data={}, warnings=False
    )


@pytest.mark.parametrize("limit", list(LIMITS))
def test_runs_over_a_limit_wait_and_none_is_dropped(db, settings, email_step, limit):
    # given
    max_jobs, max_runs, tenant_count, dispatches, seen = LIMITS[limit]
    settings.INFORMER_MAX_CONCURRENT_RUNS = max_runs
    owners = [UserFactory(tenant=TenantFactory(max_concurrent_jobs=max_jobs)) for _ in range(tenant_count)]
    runs = [
        services.run_create_manual(job=JobFactory(owner=owners[index % tenant_count]), enqueue=False)
        for index in range(5)
    ]
    running_seen: list[int] = []

    def observe(context: Any) -> StepResult:
        running_seen.append(Run.objects.filter(status=RunStatus.RUNNING).count())
        return StepResult()

    email_step(observe)

    # when: two workers take the first two runs; a third claim finds no slot
    first = services.run_claim(run_id=runs[0].pk, worker=None)
    second = services.run_claim(run_id=runs[1].pk, worker=None)
    third = services.run_claim(run_id=runs[2].pk, worker=None)
    statuses_at_the_limit = [Run.objects.get(pk=run.pk).status for run in runs]
    finish(first)
    dispatched = services.runs_dispatch()  # a slot freed: the waiting runs are handed out again
    finish(second)
    dispatched_after = services.runs_dispatch()

    # then
    assert (first is not None, second is not None, third) == (True, True, None)
    assert statuses_at_the_limit == [RunStatus.RUNNING] * 2 + [RunStatus.QUEUED] * 3
    # Dispatched runs execute inline (sync mode), one after the other, each only if a slot is free.
    assert (dispatched, dispatched_after) == dispatches
    assert running_seen == seen
    assert list(Run.objects.values_list("status", flat=True)) == [RunStatus.SUCCEEDED] * 5


def test_a_claim_over_the_tenant_limit_leaves_the_run_queued_and_unenqueued(claims_db, time_machine):
    # given
    tenant = TenantFactory(max_concurrent_jobs=1)
    owner = UserFactory(tenant=tenant)
    busy = services.run_create_manual(job=JobFactory(owner=owner), enqueue=False)
    waiting = services.run_create_manual(job=JobFactory(owner=owner), enqueue=False)
    services.run_claim(run_id=busy.pk, worker=None)
    Run.objects.filter(pk=waiting.pk).update(enqueued_at=waiting.created_at)

    # when
    claimed = services.run_claim(run_id=waiting.pk, worker=None)

    # then
    waiting.refresh_from_db()
    assert claimed is None
    assert (waiting.status, waiting.enqueued_at, waiting.started_at) == (RunStatus.QUEUED, None, None)


def test_other_tenants_are_not_held_back(claims_db):
    # given
    full = UserFactory(tenant=TenantFactory(max_concurrent_jobs=1))
    other = UserFactory(tenant=TenantFactory(max_concurrent_jobs=1))
    services.run_claim(run_id=services.run_create_manual(job=JobFactory(owner=full), enqueue=False).pk, worker=None)
    blocked = services.run_create_manual(job=JobFactory(owner=full), enqueue=False)
    free = services.run_create_manual(job=JobFactory(owner=other), enqueue=False)

    # when
    results = [services.run_claim(run_id=run.pk, worker=None) for run in (blocked, free)]

    # then
    assert [result is not None for result in results] == [False, True]


def test_concurrent_claims_never_overshoot_the_tenant_limit(transactional_db):
    # given: eight runs of one tenant allowed one at a time, claimed by eight threads at once
    owner = UserFactory(tenant=TenantFactory(max_concurrent_jobs=1))
    runs = [services.run_create_manual(job=JobFactory(owner=owner), enqueue=False) for _ in range(8)]
    start = threading.Barrier(len(runs))
    claimed: list[Any] = []

    def claim(run: Run) -> None:
        try:
            start.wait()
            claimed.append(services.run_claim(run_id=run.pk, worker=None))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=claim, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # then: exactly one started; the others wait, queued and un-enqueued
    assert sum(result is not None for result in claimed) == 1
    assert Run.objects.filter(status=RunStatus.RUNNING).count() == 1
    assert Run.objects.filter(status=RunStatus.QUEUED, enqueued_at__isnull=True).count() == 7


def test_on_postgresql_a_claim_outside_a_transaction_is_one_message(transactional_db, monkeypatch):
    # given
    if connection.vendor != "postgresql":
        pytest.skip("the one-message claim is PostgreSQL's")
    calls: list[Any] = []
    original = statements.run_claim
    monkeypatch.setattr(
        statements,
        "run_claim",
        lambda *args, **kwargs: calls.append(kwargs.get("take_lock", False)) or original(*args, **kwargs),
    )
    run = services.run_create_manual(job=JobFactory(), enqueue=False)

    # when
    claimed = services.run_claim(run_id=run.pk, worker=None)

    # then
    assert claimed is not None
    assert calls == [True]
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING
