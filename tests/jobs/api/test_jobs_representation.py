"""A job's representation is built directly (jobs/api/representation.py), and equals DRF's field by field.

The list reads its page as rows (no model per job) in a fixed, small number of queries; the detail, the
list and every response to a write show a job exactly as ``JobSerializer``'s declared fields would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIRequestFactory

from informer.api.serializers import ApiModelSerializer
from informer.models import Tenant, User
from jobs import selectors
from jobs.api.common import tags_prefetch
from jobs.api.jobs import JobSerializer
from jobs.models import IntervalType, Job, JobAction, JobAttachment, JobTag
from jobs.services import shares as share_services
from runs.models import Run
from tests.conftest import bearer_client, client_for
from tests.factories import JobFactory, TeamFactory, UserFactory, make_draft, make_token, tag

SECRET_DATA = {
    "url": "https://robot:hunter2@hooks.example.com/notify?x=1",
    "method": "POST",
    "headers": {"Authorization": "Bearer abc", "X-Trace": "on"},
}
EMAIL = {"to": "ops@example.com", "subject": "Nightly report"}
AT = datetime(2026, 3, 29, 0, 30, 15, 123456, tzinfo=UTC)


def drf_representation(job: Job, context: dict[str, Any]) -> dict[str, Any]:
    """The job as DRF's generic field-by-field path builds it from JobSerializer's declared fields."""
    return ApiModelSerializer.to_representation(JobSerializer(job, context=context), job)


def read_back(job: Job) -> Job:
    """The job as the detail reads it (tenant, owner and tags with it; lockedAt annotated)."""
    jobs = selectors.with_locked_at(Job.objects.select_related("tenant", "owner"))
    return jobs.prefetch_related(tags_prefetch()).get(pk=job.pk)


def context_for(user: User, job: Job) -> dict[str, Any]:
    request = APIRequestFactory().get(f"/api/jobs/{job.pk}")
    request.user = user
    permissions = selectors.job_permissions_for_user(user, [job.permission_target.pk])
    return {"request": request, "permissions": {job.pk: permissions[job.permission_target.pk]}}


def owner_named(tenant: Tenant, first: str, last: str) -> User:
    return UserFactory(tenant=tenant, first_name=first, last_name=last)


# (name, how to make the job from the tenant's owner): every field that can vary, and each way it can.
CASES = {
    "plain": lambda owner: JobFactory(owner=owner),
    "full owner name": lambda owner: JobFactory(owner=owner_named(owner.tenant, "Ada", "Lovelace")),
    "first name only": lambda owner: JobFactory(owner=owner_named(owner.tenant, "Ada", "")),
    "no owner": lambda owner: JobFactory(owner=None, tenant=owner.tenant),
    "tags out of order": lambda owner: tag(JobFactory(owner=owner), "zeta", "Alpha", "beta", "_x"),
    "credentials": lambda owner: JobFactory(owner=owner, type="api-call", data=SECRET_DATA),
    "schedule and times": lambda owner: JobFactory(
        owner=owner,
        interval="15 minutes",
        interval_type=IntervalType.SIMPLE,
        timezone="Australia/Lord_Howe",
        start_on="2026-03-01",
        end_on="2027-01-01T08:00:00Z",
        dst_policy={"gap": "shift", "repeat": "first"},
        next_run_at=AT,
        last_run_at=AT.replace(microsecond=0),
        last_success=False,
        enabled=False,
        timeout_seconds=60,
        max_attempts=3,
        max_catch_up=2,
        description="Every quarter hour.\nSecond line.",
    ),
    "succeeded": lambda owner: JobFactory(owner=owner, last_run_at=AT, last_success=True),
    "running": lambda owner: running(JobFactory(owner=owner)),
}


def running(job: Job) -> Job:
    Run.objects.create(job=job, tenant=job.tenant, trigger="manual", status="running", started_at=AT)
    return job


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_a_job_reads_exactly_as_drf_would_build_it(owner, case, role):
    # given: the job, read as the detail reads it, and a caller who owns it or may only view it
    job = CASES[case](owner)
    caller = owner
    if role == "viewer":
        caller = UserFactory(tenant=owner.tenant)
        share_services.share_set(job=job, principal=caller, level=1)
    job = read_back(job)
    context = context_for(caller, job)

    # when
    ours = JobSerializer(job, context=context).data

    # then: the same keys in the same order, the same values
    assert list(ours.items()) == list(drf_representation(job, context).items())


def test_a_draft_reads_exactly_as_drf_would_build_it(owner):
    draft = read_back(make_draft(JobFactory(owner=owner), description="edited"))
    context = context_for(owner, draft)

    ours = JobSerializer(draft, context=context).data

    assert ours["editingId"] == str(draft.editing_of_id)
    assert list(ours.items()) == list(drf_representation(draft, context).items())


def test_the_representation_covers_every_declared_field(owner):
    job = read_back(JobFactory(owner=owner))
    serializer = JobSerializer(job, context=context_for(owner, job))

    assert list(serializer.data) == list(serializer.fields)


@pytest.fixture
def mixed(owner):
    """Jobs of every case, readable by ``reader``: the owner's, one shared through a team, one viewed only."""
    reader = UserFactory(username="reader", tenant=owner.tenant, first_name="Rea", last_name="Der")
    team = TeamFactory(tenant=owner.tenant)
    reader.groups.add(team)
    jobs = [CASES[case](owner) for case in CASES]
    for index, job in enumerate(jobs):
        principal = team if index % 2 else reader
        share_services.share_set(job=job, principal=principal, level=1 + index % 3)
    own = tag(JobFactory(owner=reader), "mine")
    return reader, [*jobs, own]


def test_each_list_item_is_the_job_as_its_detail_shows_it(mixed):
    # given
    reader, jobs = mixed
    client = client_for(reader)

    # when
    items = client.get("/api/jobs?limit=100").json()["_embedded"]["inf:job"]

    # then
    assert len(items) == len(jobs)
    for item in items:
        detail = client.get(f"/api/jobs/{item['id']}").json()
        del detail["_embedded"]
        assert item == detail


def test_each_list_item_is_the_job_as_drf_would_build_it(mixed):
    # given
    reader, jobs = mixed
    request = APIRequestFactory().get("/api/jobs")
    request.user = reader
    permissions = selectors.job_permissions_for_user(reader, [job.pk for job in jobs])
    context = {"request": request, "permissions": permissions}

    # when
    items = client_for(reader).get("/api/jobs?limit=100&sort=name").json()["_embedded"]["inf:job"]

    # then
    expected = [drf_representation(read_back(job), context) for job in sorted(jobs, key=lambda job: job.name.lower())]
    assert [list(item.items()) for item in items] == [list(job.items()) for job in expected]


@pytest.fixture
def token_reader(tenant):
    """A token user reading 100 jobs of a colleague, half shared directly and half through a team."""
    colleague = UserFactory(tenant=tenant)
    user = UserFactory(username="reader", tenant=tenant)
    team = TeamFactory(tenant=tenant)
    user.groups.add(team)
    for index in range(100):
        job = tag(JobFactory(owner=colleague, name=f"Job {index:03d}"), "nightly")
        share_services.share_set(job=job, principal=user if index % 2 else team, level=1 + index % 3)
    _, secret = make_token(user, secret="inf_reader")
    client = bearer_client(secret)
    assert client.get("/api/me").status_code == 200  # the first use writes lastUsedAt; later ones do not
    return client


def test_a_page_of_100_builds_no_model_per_job(token_reader):
    # given: every model built while the page is served, by class
    built: dict[str, int] = {}

    def count(sender: type, **kwargs: Any) -> None:
        built[sender.__name__] = built.get(sender.__name__, 0) + 1

    post_init.connect(count)
    try:
        # when
        response = token_reader.get("/api/jobs?limit=100")
    finally:
        post_init.disconnect(count)

    # then: the token and its user, and one unsaved user per distinct owner (for the display name)
    assert response.json()["count"] == 100
    assert built.get(Job.__name__, 0) == 0
    assert built.get(JobTag.__name__, 0) == 0
    assert built.get(Tenant.__name__, 0) == 0
    assert built.get(User.__name__, 0) <= 2


def test_a_page_costs_five_queries_whatever_its_size(token_reader):
    # when
    counts, statements = [], []
    for limit in (1, 100):
        with CaptureQueriesContext(connection) as queries:
            assert token_reader.get(f"/api/jobs?limit={limit}").status_code == 200
        counts.append(len(queries))
        statements += [query["sql"] for query in queries]

    # then: the token, the count, the page, its tags, the caller's permissions on it; only the page joins
    # the tenant and the owner, whose columns it shows
    assert counts == [5, 5]
    count = next(sql for sql in statements if sql.startswith("SELECT COUNT(*)"))
    assert Tenant._meta.db_table not in count
    assert User._meta.db_table not in count.replace(User.groups.through._meta.db_table, "")


def test_a_detail_costs_seven_queries(token_reader):
    # given: a job with two actions, each with two attachments
    item = token_reader.get("/api/jobs?limit=1").json()["_embedded"]["inf:job"][0]
    for index in range(2):
        action = JobAction.objects.create(job_id=item["id"], type="email", name=f"S{index}", index=index, data=EMAIL)
        for number in range(2):
            JobAttachment.objects.create(action=action, type="report", name=f"Report {number}", data={})

    # when
    with CaptureQueriesContext(connection) as queries:
        response = token_reader.get(f"/api/jobs/{item['id']}")
    assert response.status_code == 200

    # then: the token, the job, its tags, the caller's permissions on it, its actions, their attachments and
    # its datasets
    assert len(queries) == 7
    actions = response.json()["_embedded"]["inf:job-action"]
    assert [len(action["attachments"]) for action in actions] == [2, 2]
    assert actions[0]["attachments"][0]["_links"]["self"]["href"].startswith(actions[0]["_links"]["self"]["href"])
