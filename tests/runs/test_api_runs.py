"""Run now, run history and workers over the API (§6)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runs.models import Run, RunStatus, Trigger, Worker
from tests.conftest import client_for
from tests.factories import JobFactory, UserFactory
from tests.runs.conftest import T0, RunFactory, finished_run, iso, rows, running_run

RECORD_KEYS = {
    "_links",
    "id",
    "jobId",
    "ownerId",
    "status",
    "success",
    "warnings",
    "error",
    "duration",
    "trigger",
    "scheduledFor",
    "attempt",
    "workerId",
    "params",
    "data",
    "progress",
    "definition",
    "createdAt",
}


@pytest.fixture
def client(owner):
    return client_for(owner)


def history(client, job, query: str = "") -> list[dict]:
    response = client.get(f"/api/jobs/{job.pk}/history{query}")
    assert response.status_code == 200, response.content
    return response.json()["_embedded"]["inf:job-history"]


# -------------------------------------------------------------------------------------------- run now


def test_run_now_records_a_manual_run(client, job, time_machine):
    # given
    time_machine.move_to(T0, tick=False)

    # when
    response = client.post(f"/api/jobs/{job.pk}", {"params": {"region": "eu", "limit": 3}}, format="json")

    # then
    assert response.status_code == 202, response.content
    run = Run.objects.get(job=job)
    body = response.json()
    assert response["Location"] == body["_links"]["self"]["href"]
    assert body["_links"]["self"]["href"] == f"http://testserver/api/jobs/{job.pk}/history/{run.pk}"
    assert set(body) == RECORD_KEYS
    assert {key: body[key] for key in ("id", "jobId", "status", "trigger", "params", "attempt", "createdAt")} == {
        "id": str(run.pk),
        "jobId": str(job.pk),
        "status": "queued",
        "trigger": "manual",
        "params": {"region": "eu", "limit": 3},
        "attempt": 1,
        "createdAt": iso(T0),
    }
    assert (body["scheduledFor"], body["workerId"], body["duration"]) == (None, None, [None, None])


def test_run_now_is_executed_after_the_request_commits(client, job, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/jobs/{job.natural_id}")

    # then
    assert response.status_code == 202
    assert response.json()["status"] == "queued"  # answered before a worker touched it
    assert Run.objects.get(job=job).status == RunStatus.SUCCEEDED


def test_run_now_works_on_a_disabled_job(client, owner):
    # given
    job = JobFactory(owner=owner, enabled=False)

    # when
    response = client.post(f"/api/jobs/{job.pk}", {}, format="json")

    # then
    assert response.status_code == 202
    assert Run.objects.filter(job=job, trigger=Trigger.MANUAL).count() == 1


def test_a_draft_cannot_be_run(client, owner, job):
    # given
    draft = JobFactory(owner=owner, editing_of=job, slug=job.slug)

    # when
    response = client.post(f"/api/jobs/{draft.pk}")

    # then
    assert response.status_code == 409
    assert response.json()["message"] == "A draft cannot be run; commit it first."
    assert Run.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({"params": "x"}, "params"), ({"params": [1]}, "params"), ({"parameters": {}}, "parameters")],
)
def test_a_bad_run_now_body_is_a_400_naming_the_field(client, job, body, field):
    # when
    response = client.post(f"/api/jobs/{job.pk}", body, format="json")

    # then
    assert response.status_code == 400
    assert list(response.json()["details"]) == [field]
    assert field in response.json()["message"]
    assert Run.objects.count() == 0


# -------------------------------------------------------------------------------------------- history


@pytest.fixture
def runs(job, time_machine):
    """Four runs of ``job`` made a minute apart: succeeded, failed, running, queued."""
    made = []
    for index, status in enumerate([RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.RUNNING, RunStatus.QUEUED]):
        time_machine.move_to(T0 + timedelta(minutes=index), tick=False)
        if status == RunStatus.RUNNING:
            made.append(running_run(job))
        elif status == RunStatus.QUEUED:
            made.append(RunFactory(job=job))
        else:
            made.append(finished_run(job, status))
    return made


def test_history_is_newest_first_by_default(client, job, runs):
    # when
    response = client.get(f"/api/jobs/{job.pk}/history")

    # then
    body = response.json()
    assert (body["total"], body["count"], body["start"]) == (4, 4, 0)
    assert [item["id"] for item in body["_embedded"]["inf:job-history"]] == [str(run.pk) for run in reversed(runs)]


@pytest.mark.parametrize(
    ("query", "statuses"),
    [
        ("?status=failed", ["failed"]),
        ("?status=queued&status=running", ["queued", "running"]),
        ("?sort=status", ["failed", "queued", "running", "succeeded"]),
        ("?sort=-status", ["succeeded", "running", "queued", "failed"]),
        ("?sort=createdAt", ["succeeded", "failed", "running", "queued"]),
        ("?success=true", ["succeeded"]),
    ],
)
def test_history_filters_and_sorts(client, job, runs, query, statuses):
    assert [item["status"] for item in history(client, job, query)] == statuses


@pytest.mark.parametrize(("query", "field"), [("?sort=bogus", "sort"), ("?status=exploded", "status")])
def test_a_bad_history_query_is_a_400(client, job, runs, query, field):
    # when
    response = client.get(f"/api/jobs/{job.pk}/history{query}")

    # then
    assert response.status_code == 400
    assert list(response.json()["details"]) == [field]


def test_get_one_run(client, job, runs):
    # when
    response = client.get(f"/api/jobs/{job.pk}/history/{runs[0].pk}")

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["success"]) == (str(runs[0].pk), "succeeded", True)
    assert body["duration"] == [iso(T0), iso(T0)]


@pytest.mark.parametrize("key", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_an_unknown_run_is_a_404(client, job, runs, key):
    assert client.get(f"/api/jobs/{job.pk}/history/{key}").status_code == 404


def test_a_run_of_another_job_is_a_404(client, owner, job):
    # given
    other = finished_run(JobFactory(owner=owner))

    # when
    response = client.get(f"/api/jobs/{job.pk}/history/{other.pk}")

    # then
    assert response.status_code == 404


@pytest.mark.parametrize(("index", "status"), [(0, 204), (1, 204), (2, 409), (3, 204)])
def test_delete_one_run(client, job, runs, index, status):
    # given
    before = rows()

    # when
    response = client.delete(f"/api/jobs/{job.pk}/history/{runs[index].pk}")

    # then
    assert response.status_code == status
    if status == 409:
        assert response.json()["message"] == "The run is still running; cancel it first."
        assert rows() == before
    else:
        assert not Run.objects.filter(pk=runs[index].pk).exists()
        assert Run.objects.count() == 3


def test_clearing_the_history_keeps_queued_and_running_runs(client, owner, job, runs):
    # given
    other_job_run = finished_run(JobFactory(owner=owner))

    # when
    response = client.delete(f"/api/jobs/{job.pk}/history")

    # then
    assert response.status_code == 204
    assert set(Run.objects.values_list("pk", flat=True)) == {runs[2].pk, runs[3].pk, other_job_run.pk}


@pytest.mark.parametrize(
    ("index", "status", "after"),
    [(0, 409, "succeeded"), (1, 409, "failed"), (2, 200, "running"), (3, 200, "cancelled")],
)
def test_cancel(client, job, runs, index, status, after):
    # given
    before = rows()

    # when
    response = client.post(f"/api/jobs/{job.pk}/history/{runs[index].pk}/_cancel")

    # then
    assert response.status_code == status
    run = Run.objects.get(pk=runs[index].pk)
    assert run.status == after
    if status == 409:
        assert response.json()["message"] == (
            f"The run is already {after}; only queued or running runs can be cancelled."
        )
        assert rows() == before
    else:
        assert response.json()["status"] == after
        assert run.cancel_requested is True


# -------------------------------------------------------------------------------------------- workers


@pytest.fixture
def workers(db, settings, time_machine):
    settings.INFORMER_WORKER_TIMEOUT = 60
    time_machine.move_to(T0, tick=False)
    alive = Worker.objects.create(name="informer@a:1", host="a", pid=1, cluster="informer", concurrency=1)
    stale = Worker.objects.create(
        name="informer@b:2", host="b", pid=2, cluster="informer", last_heartbeat_at=T0 - timedelta(seconds=61)
    )
    stopped = Worker.objects.create(name="informer@c:3", host="c", pid=3, cluster="informer", stopped_at=T0)
    job = JobFactory()
    running_run(job, worker=alive)
    running_run(job, worker=alive)
    finished_run(job, worker=alive)
    return {"alive": alive, "stale": stale, "stopped": stopped}


def test_staff_see_workers_with_their_liveness(workers):
    # given
    staff = client_for(UserFactory(is_staff=True))

    # when
    response = staff.get("/api/job-workers?sort=name")

    # then
    assert response.status_code == 200
    items = response.json()["_embedded"]["inf:job-worker"]
    assert [(item["name"], item["alive"], item["runningRuns"]) for item in items] == [
        ("informer@a:1", True, 2),
        ("informer@b:2", False, 0),
        ("informer@c:3", False, 0),
    ]
    assert items[0]["lastHeartbeatAt"] == iso(T0)


def test_staff_get_one_worker(workers):
    # given
    staff = client_for(UserFactory(is_staff=True))

    # when
    found = staff.get(f"/api/job-workers/{workers['alive'].pk}")
    unknown = staff.get("/api/job-workers/00000000-0000-0000-0000-000000000000")

    # then
    assert (found.status_code, found.json()["pid"], found.json()["alive"]) == (200, 1, True)
    assert unknown.status_code == 404


@pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("user", 403), ("superuser", 200)])
@pytest.mark.parametrize("path", ["/api/job-workers", "/api/job-workers/{id}"])
def test_workers_are_for_staff_only(workers, api, role, status, path):
    # given
    if role == "user":
        api = client_for(UserFactory())
    elif role == "superuser":
        api = client_for(UserFactory(is_staff=True, is_superuser=True))

    # when
    response = api.get(path.replace("{id}", str(workers["alive"].pk)))

    # then
    assert response.status_code == status


# ---------------------------------------------------------------------------------- a job's lockedAt


def test_locked_at_is_the_start_of_the_oldest_run_still_going(client, job):
    # given: two runs going (allowed overlap), one finished, and a run of another job going
    running_run(job, since=T0 + timedelta(minutes=5))
    running_run(job, since=T0)
    finished_run(job, started_at=T0 - timedelta(hours=1))
    running_run(JobFactory(tenant=job.tenant), since=T0 - timedelta(days=1))

    # when
    detail = client.get(f"/api/jobs/{job.pk}").json()
    listed = next(item for item in client.get("/api/jobs").json()["_embedded"]["inf:job"] if item["id"] == str(job.pk))

    # then
    assert detail["lockedAt"] == listed["lockedAt"] == iso(T0)
    assert job.locked_at == T0


def test_locked_at_clears_when_the_last_run_going_ends(client, job):
    # given
    run = running_run(job, since=T0)

    # when
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, ended_at=T0 + timedelta(seconds=1))

    # then
    assert client.get(f"/api/jobs/{job.pk}").json()["lockedAt"] is None
    assert job.locked_at is None


def test_the_jobs_app_names_the_running_status_as_runs_store_it():
    from jobs.models import RUN_RUNNING

    assert RUN_RUNNING == RunStatus.RUNNING
