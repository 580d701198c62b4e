"""Run now, run history and workers over the API (§6)."""

from __future__ import annotations

import io
import json
import logging
import socket
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from runs import services
from runs.executor import execute_run
from runs.management.commands.run_job import Command as RunJobCommand
from runs.models import Run, RunStatus, Trigger, Worker
from tests.conftest import ROLES, client_for
from tests.factories import JobFactory, UserFactory
from tests.jobs.api.test_actions import JobActionFactory
from tests.runs.conftest import T0, RunFactory, finished_run, iso, row, rows, running_run

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
    "triggeredBy",
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


# ------------------------------------------------------------------------------- credentials in history

M = "••••"
HOOK = {
    "url": "https://ops:pa55@hooks.example.com/in?token=t0k3n",
    "method": "POST",
    "headers": {"Authorization": "Bearer s3cret-value", "X-Api-Key": "k3y-123"},
}
SECRET_DEFINITION = {
    "id": "job",
    "type": "api-call",
    "name": "Nightly",
    "data": {"url": "https://api.example.com/report?apiKey=abc123", "headers": {"X-Api-Key": "k3y-456"}},
    "actions": [{"id": "a1", "type": "webhook", "name": "Hook", "data": HOOK, "attachments": []}],
}
REDACTED_DEFINITION = {
    **SECRET_DEFINITION,
    "data": {"url": f"https://api.example.com/report?apiKey={M}", "headers": {"X-Api-Key": M}},
    "actions": [
        {
            "id": "a1",
            "type": "webhook",
            "name": "Hook",
            "data": {
                "url": f"https://{M}@hooks.example.com/in?token={M}",
                "method": "POST",
                "headers": {"Authorization": M, "X-Api-Key": M},
            },
            "attachments": [],
        }
    ],
}
SECRETS = ("pa55", "t0k3n", "s3cret-value", "k3y-123", "abc123", "k3y-456")


def progress_entry(key: str, status: str, message: str) -> dict:
    return {"key": key, "name": key, "status": status, "message": message, "startedAt": "x", "endedAt": "x"}


@pytest.fixture
def old_record(roles):
    """A failed run recorded before messages were redacted at the source: every credential in plain text."""
    return finished_run(
        roles.job,
        RunStatus.FAILED,
        definition=SECRET_DEFINITION,
        progress=[
            progress_entry("type", "success", "GET https://api.example.com/report?apiKey=abc123 answered 200."),
            progress_entry(
                "action:a1",
                "error",
                "POST https://ops:pa55@hooks.example.com/in?token=t0k3n failed: header 'Bearer s3cret-value' rejected",
            ),
        ],
        error="Hook: POST https://ops:pa55@hooks.example.com/in?token=t0k3n failed: header 'Bearer s3cret-value'",
    )


HISTORY_ROUTES = {
    "list": ("/api/jobs/{job}/history", lambda body: body["_embedded"]["inf:job-history"][0]),
    "detail": ("/api/jobs/{job}/history/{run}", lambda body: body),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(HISTORY_ROUTES))
def test_history_redacts_credentials_for_everyone(roles, old_record, db_state, route, role):
    # given
    path, extract = HISTORY_ROUTES[route]
    path = path.replace("{job}", str(roles.job.pk)).replace("{run}", str(old_record.pk))
    before = db_state()

    # when
    response = roles.clients[role].get(path)

    # then
    assert db_state() == before
    denied = {"anonymous": 401, "other_tenant": 404, "no_share": 404}
    if role in denied:
        assert response.status_code == denied[role]
        return
    assert response.status_code == 200, response.content
    record = extract(response.json())
    assert record["definition"] == REDACTED_DEFINITION  # a record is history: editors see it masked too
    assert [entry["message"] for entry in record["progress"]] == [
        f"GET https://api.example.com/report?apiKey={M} answered 200.",
        f"POST https://{M}@hooks.example.com/in?token={M} failed: header '{M}' rejected",
    ]
    assert record["error"] == f"Hook: POST https://{M}@hooks.example.com/in?token={M} failed: header '{M}'"
    assert not any(secret in response.content.decode() for secret in SECRETS)
    assert row(old_record)["definition"] == SECRET_DEFINITION  # what runs is kept whole


@pytest.fixture
def local_allowed(settings):
    settings.INFORMER_OUTBOUND_ALLOW = ["127.0.0.1"]


def execute(job) -> Run:
    run = services.run_create_manual(job=job, enqueue=False)
    execute_run(str(run.pk))
    run.refresh_from_db()
    return run


def stored_text(run: Run) -> str:
    """Everything the run's row holds but its definition, as text."""
    stored = row(run)
    return json.dumps({key: value for key, value in stored.items() if key != "definition"}, default=str)


def test_a_webhook_run_stores_its_messages_without_credentials(owner, local_allowed, http_server):
    # given
    job = JobFactory(owner=owner)
    authority = http_server.replace("http://", "http://ops:pa55@")
    action = JobActionFactory(
        job=job,
        type="webhook",
        name="Hook",
        data={
            "url": f"{authority}/hello?token=t0k3n",
            "method": "GET",
            "headers": {"X-Api-Key": "k3y-123"},
            "expectStatus": [204],
        },
    )

    # when
    run = execute(job)

    # then
    shown = http_server.replace("http://", f"http://{M}@") + f"/hello?token={M}"
    (step,) = [entry for entry in run.progress if entry.get("actionId") == str(action.pk)]
    assert step["message"] == f"GET {shown} answered 200; expected 204."
    assert run.error == f"Hook: GET {shown} answered 200; expected 204."
    assert not any(secret in stored_text(run) for secret in SECRETS)


def test_a_failed_connection_stores_no_credential(owner, local_allowed):
    # given: a port nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    job = JobFactory(owner=owner)
    JobActionFactory(
        job=job,
        type="webhook",
        name="Hook",
        data={"url": f"http://ops:pa55@127.0.0.1:{port}/in?token=t0k3n", "headers": {"X-Api-Key": "k3y-123"}},
    )

    # when
    run = execute(job)

    # then
    assert run.status == RunStatus.FAILED
    assert run.error.startswith(f"Hook: POST http://{M}@127.0.0.1:{port}/in?token={M} failed: ")
    assert not any(secret in stored_text(run) for secret in SECRETS)


def test_an_api_call_keeps_the_final_url_without_its_query_values(owner, local_allowed, http_server):
    # given
    job = JobFactory(owner=owner, type="api-call", data={"url": f"{http_server}/hello?token=t0k3n"})

    # when
    run = execute(job)

    # then
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.data["type"]["response"]["url"] == f"{http_server}/hello?token={M}"
    assert run.progress[0]["message"] == f"GET {http_server}/hello?token={M} answered 200."
    assert "t0k3n" not in stored_text(run)


@pytest.fixture
def console_log():
    """What the console handler configured from settings.LOGGING writes, while the test runs."""
    from informer.redaction import RedactingFilter

    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactingFilter) for f in h.filters))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_an_unexpected_error_carrying_credentials_reaches_neither_history_nor_logs(owner, monkeypatch, console_log):
    # given: the request itself blows up with the header value and the URL in its message
    def explode(method, url, *, headers, **kwargs):
        raise RuntimeError(f"cannot send {headers['X-Api-Key']} to {url}")

    monkeypatch.setattr("jobs.drivers.job_types.outbound_request", explode)
    data = {"url": "https://ops:pa55@api.example.com/?token=t0k3n", "headers": {"X-Api-Key": "k3y-123"}}
    job = JobFactory(owner=owner, type="api-call", data=data)

    # when
    run = execute(job)

    # then
    expected = f"RuntimeError: cannot send {M} to https://{M}@api.example.com/?token={M}"
    assert run.progress[0]["message"] == expected
    assert run.error == f"API call: {expected}"
    logged = console_log.getvalue()
    assert "Traceback" in logged and f"RuntimeError: cannot send {M} to https://{M}@" in logged
    assert not any(secret in logged for secret in SECRETS)
    assert not any(secret in stored_text(run) for secret in SECRETS)


def test_run_job_prints_messages_and_the_error_without_credentials(owner, old_record):
    # given
    out = io.StringIO()
    command = RunJobCommand(stdout=out)

    # when
    with pytest.raises(CommandError) as failure:
        command._follow(old_record.pk, 0)

    # then
    printed = out.getvalue() + str(failure.value)
    assert f"POST https://{M}@hooks.example.com/in?token={M} failed: header '{M}' rejected" in printed
    assert not any(secret in printed for secret in SECRETS)


def test_run_job_inline_prints_no_credential(owner, local_allowed, http_server):
    # given
    data = {"url": f"{http_server}/hello?token=t0k3n", "headers": {"X-Api-Key": "k3y-123"}, "expectStatus": [204]}
    job = JobFactory(owner=owner, type="api-call", slug="calls", data=data)
    out = io.StringIO()

    # when
    with pytest.raises(CommandError) as failure:
        call_command("run_job", "alpha:calls", "--inline", stdout=out, stderr=io.StringIO())

    # then
    printed = out.getvalue() + str(failure.value)
    assert f"GET {http_server}/hello?token={M} answered 200; expected 204." in printed
    assert "t0k3n" not in printed
    assert Run.objects.get(job=job).status == RunStatus.FAILED
