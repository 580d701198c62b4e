"""The job lists cost a fixed number of queries, whatever the page size or the number of shares."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.services import shares as share_services
from tests.conftest import bearer_client
from tests.factories import JobFactory, TeamFactory, UserFactory, make_token, tag

MAX_QUERIES = 8


@pytest.fixture
def reader(tenant):
    """A token user who reads 120 jobs of a colleague: 60 shared directly, 60 through a team."""
    colleague = UserFactory(tenant=tenant)
    user = UserFactory(username="reader", tenant=tenant)
    team = TeamFactory(tenant=tenant)
    user.groups.add(team)
    for index in range(120):
        job = tag(JobFactory(owner=colleague, name=f"Job {index:03d}"), "nightly", f"t{index % 3}")
        principal = user if index % 2 else team
        share_services.share_set(job=job, principal=principal, level=1 + index % 3)
    JobFactory(owner=colleague, name="Not shared")
    _, secret = make_token(user, secret="inf_reader")
    client = bearer_client(secret)
    assert client.get("/api/me").status_code == 200  # the first use writes lastUsedAt; later ones do not
    return client


def queries(client, url: str) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries), response.json()


def test_job_list_query_count_does_not_grow_with_the_page(reader):
    # when
    one, small = queries(reader, "/api/jobs?limit=1")
    hundred, large = queries(reader, "/api/jobs?limit=100")

    # then
    assert (small["count"], small["total"]) == (1, 120)
    assert (large["count"], large["total"]) == (100, 120)
    assert one == hundred
    assert hundred <= MAX_QUERIES
    assert all(item["tags"] for item in large["_embedded"]["inf:job"])
    assert {item["permissions"]["edit"] for item in large["_embedded"]["inf:job"]} == {True, False}


def test_job_list_query_count_with_filters_and_search(reader):
    plain, _ = queries(reader, "/api/jobs?limit=100")
    filtered, body = queries(reader, "/api/jobs?limit=100&tag=nightly&tag=t1&q=job&sort=-createdAt&enabled=true")

    assert body["total"] == 40
    assert filtered == plain


def test_flat_jobs_list_query_count_is_fixed(reader):
    count, body = queries(reader, "/api/jobs-list")

    assert len(body) == 120
    assert count <= MAX_QUERIES


def test_job_detail_query_count_does_not_depend_on_how_the_job_is_shared(reader):
    # given: one job shared through the team, one directly, and a warm-up read
    items = reader.get("/api/jobs?limit=2").json()["_embedded"]["inf:job"]
    via_team, direct = (item["id"] for item in items)
    reader.get(f"/api/jobs/{via_team}")

    # when
    team_count, team_body = queries(reader, f"/api/jobs/{via_team}")
    direct_count, direct_body = queries(reader, f"/api/jobs/{direct}")

    # then
    assert (team_body["id"], direct_body["id"]) == (via_team, direct)
    assert team_count == direct_count
