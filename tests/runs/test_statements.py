"""The runs' hot statements read and write exactly what the ORM would."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from jobs.models import JobAction, JobAttachment
from jobs.selectors import job_definition
from runs import statements
from runs.models import Run, RunStatus, Trigger
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db


def values(instance: Model) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


# The claim's read has two shapes: one joined statement (SQLite, or inside a transaction) and, on
# PostgreSQL outside a transaction, a statement per table sent as one message.
READS = [
    pytest.param("joined", id="joined"),
    pytest.param("by table", id="by table", marks=pytest.mark.django_db(transaction=True)),
]


@pytest.fixture
def read_shape(request, monkeypatch):
    """Makes ``run_for_claim`` take the shape under test, and fails the test if it takes the other."""
    shape = request.param
    if shape == "by table" and connection.vendor != "postgresql":
        pytest.skip("the read by table is PostgreSQL's")
    taken: list[str] = []
    for name, label in (("_read_joined", "joined"), ("_read_by_table", "by table")):
        original = getattr(statements, name)
        monkeypatch.setattr(statements, name, lambda pk, read=original, shape=label: taken.append(shape) or read(pk))
    yield shape
    assert taken and set(taken) == {shape}


@pytest.mark.parametrize("read_shape", READS, indirect=True)
def test_a_run_is_read_with_its_job_and_tenant_as_the_orm_reads_them(read_shape):
    # given: a run with every kind of column set (JSON, UUID, datetimes, booleans, nulls)
    job = JobFactory(data={"to": ["a@example.com"], "n": 1}, description="Nightly")
    run = Run.objects.create(
        job=job,
        tenant=job.tenant,
        owner_id=job.owner_id,
        trigger=Trigger.MANUAL,
        params={"region": "eu", "list": [1, 2]},
        scheduled_for=timezone.now() - timedelta(minutes=1),
        lease_token=uuid.uuid4(),
        success=None,
    )
    expected = Run.objects.select_related("job", "job__tenant").get(pk=run.pk)

    # when
    read, actions = statements.run_for_claim(str(run.pk))

    # then
    assert actions == []
    assert values(read) == values(expected)
    assert values(read.job) == values(expected.job)
    assert values(read.job.tenant) == values(expected.job.tenant)
    assert read._state.adding is False


@pytest.mark.parametrize("read_shape", READS, indirect=True)
def test_a_job_without_actions_is_read_in_one_round_trip(read_shape, django_assert_num_queries):
    job = JobFactory()
    run = Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL)

    with django_assert_num_queries(1):
        read, actions = statements.run_for_claim(run.pk)

    assert (read.pk, read.job.pk, actions) == (run.pk, job.pk, [])


@pytest.mark.parametrize("read_shape", READS, indirect=True)
def test_an_unknown_run_reads_as_none(read_shape):
    assert statements.run_for_claim(uuid.uuid4()) is None


@pytest.mark.parametrize("read_shape", READS, indirect=True)
def test_a_jobs_actions_and_attachments_read_in_two_round_trips_match_the_orm(read_shape, django_assert_num_queries):
    # given: actions out of creation order, one with two attachments, one with none, and two sharing
    # an index (ordered by creation, then id)
    job = JobFactory()
    run = Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL)
    second = JobAction.objects.create(job=job, type="webhook", name="Second", index=1, data={"url": "https://x"})
    first = JobAction.objects.create(job=job, type="email", name="First", index=0, run_condition={"failed": False})
    JobAction.objects.create(job=job, type="webhook", name="Third", index=1, data={"url": "https://y"})
    for name in ("b.csv", "a.csv"):
        JobAttachment.objects.create(action=first, type="file", name=name, data={})

    # when
    with django_assert_num_queries(2):
        read, actions = statements.run_for_claim(run.pk)

    # then
    assert [(action.name, [item.name for item in items]) for action, items in actions] == [
        ("First", ["b.csv", "a.csv"]),
        ("Second", []),
        ("Third", []),
    ]
    assert job_definition(read.job, actions) == job_definition(job)
    assert second.pk == actions[1][0].pk
    assert values(read) == values(Run.objects.get(pk=run.pk))


def test_a_fenced_write_needs_the_lease_token():
    # given
    job = JobFactory()
    token = uuid.uuid4()
    run = Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL, status=RunStatus.RUNNING)
    Run.objects.filter(pk=run.pk).update(lease_token=token)

    # when
    stale = statements.run_update_fenced(run.pk, uuid.uuid4(), {"progress": [{"key": "x"}]})
    current = statements.run_update_fenced(run.pk, token, {"progress": [{"key": "type"}], "warnings": True})

    # then
    run.refresh_from_db()
    assert (stale, current) == (0, 1)
    assert (run.progress, run.warnings) == ([{"key": "type"}], True)


@pytest.mark.parametrize("returning", [True, False], ids=["one statement", "update then probe"])
def test_a_runs_end_tells_whether_runs_wait_for_a_slot(monkeypatch, returning):
    # given: a running run, a run held back by a limit, a run already enqueued and a retry not yet due
    monkeypatch.setattr(statements, "_returning", lambda: returning)
    job = JobFactory()
    now = timezone.now()
    token = uuid.uuid4()
    run = Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL, status=RunStatus.RUNNING)
    Run.objects.filter(pk=run.pk).update(lease_token=token)
    Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL, enqueued_at=now)
    Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.RETRY, not_before=now + timedelta(seconds=30))
    ended = {
        "status": RunStatus.SUCCEEDED,
        "success": True,
        "error": "",
        "progress": [],
        "data": {"n": 1},
        "warnings": False,
        "ended_at": now,
        "lease_token": None,
    }

    # when: nothing waits, then a stale writer, then (another run) with one run waiting
    nothing_waits = statements.run_end(run.pk, token, ended, now)
    stale = statements.run_end(run.pk, token, dict(ended, data={"n": 2}), now)
    other = Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL, status=RunStatus.RUNNING)
    Run.objects.filter(pk=other.pk).update(lease_token=token)
    Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL, enqueued_at=None, not_before=now)
    one_waits = statements.run_end(other.pk, token, ended, now)

    # then
    assert (nothing_waits, stale, one_waits) == (False, None, True)
    run.refresh_from_db()
    assert (run.status, run.data, run.lease_token, run.ended_at) == (RunStatus.SUCCEEDED, {"n": 1}, None, now)


CLAIMS = {
    # name: (running runs, each (of the same tenant, of the same job)), cluster limit, tenant limit,
    #       exclusive, whether the claim wins)
    "a slot in the cluster": ([(False, False)], 2, 5, True, True),
    "the cluster is full": ([(False, False), (True, False)], 2, 5, True, False),
    "a slot in the tenant": ([(True, False)], 50, 2, True, True),
    "the tenant is full": ([(True, False)], 50, 1, True, False),
    "another tenant's runs do not count": ([(False, False)], 50, 1, True, True),
    "the job's run goes on, overlap not allowed": ([(True, True)], 50, 5, True, False),
    "the job's run goes on, overlap allowed": ([(True, True)], 50, 5, False, True),
}


@pytest.mark.parametrize("case", list(CLAIMS))
def test_a_claim_wins_only_under_every_limit(case):
    # given: a queued run and the runs already going
    running, cluster_limit, tenant_limit, exclusive, wins = CLAIMS[case]
    job = JobFactory()
    run = Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL)
    sibling, stranger = JobFactory(owner=job.owner), JobFactory()
    assert sibling.tenant_id == job.tenant_id and stranger.tenant_id != job.tenant_id
    for same_tenant, same_job in running:
        other = job if same_job else sibling if same_tenant else stranger
        Run.objects.create(job=other, tenant=other.tenant, trigger=Trigger.MANUAL, status=RunStatus.RUNNING)
    started = timezone.now()

    # when
    won = statements.run_claim(
        run,
        {"status": RunStatus.RUNNING, "started_at": started},
        cluster_limit=cluster_limit,
        tenant_limit=tenant_limit,
        exclusive=exclusive,
    )

    # then: a claim that loses changes nothing
    run.refresh_from_db()
    assert won is wins
    expected = (RunStatus.RUNNING, started) if wins else (RunStatus.QUEUED, None)
    assert (run.status, run.started_at) == expected
