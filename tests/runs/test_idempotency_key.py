"""Deliveries carry an Idempotency-Key stable across attempts, and a JSON Content-Type (#12, item 7).

A real HTTP server on 127.0.0.1 records every request's headers as they arrived on the wire (duplicates
included), and answers the statuses a test lines up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from jobs.models import Job
from jobs.previews import PREVIEW_RUN_ID
from runs import services
from runs.executor import Execution, execute_run
from runs.models import Run, RunStatus, Trigger
from tests.conftest import client_for
from tests.factories import JobFactory
from tests.jobs.api.test_actions import JobActionFactory

JSON_BODY = '{"job": "{{ job.naturalId }}", "run": "{{ run.id }}"}'


@dataclass
class Request:
    method: str
    path: str
    headers: list[tuple[str, str]]  # as sent: names in their case, in order, repeated ones repeated
    body: bytes

    def header(self, name: str) -> list[str]:
        """Every value sent under ``name``, whatever its case."""
        return [value for key, value in self.headers if key.lower() == name.lower()]


class Recorder:
    """An HTTP server on 127.0.0.1 answering the next of ``statuses`` (then 200) to every request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.statuses: list[int] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(Request(self.command, self.path, list(self.headers.items()), body))
                status = recorder.statuses.pop(0) if recorder.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def receiver(settings: Any) -> Iterator[Recorder]:
    settings.INFORMER_OUTBOUND_ALLOW = ["127.0.0.1"]
    server = Recorder()
    yield server
    server.close()


def webhook_job(receiver: Recorder, *, max_attempts: int = 1, owner: Any = None, **data: Any) -> tuple[Job, Any]:
    job = JobFactory(name="Nightly", max_attempts=max_attempts, **({"owner": owner} if owner else {}))
    action = JobActionFactory(
        job=job, type="webhook", name="Notify", data={"url": f"{receiver.url}/hook", "method": "POST", **data}
    )
    return job, action


def execute(run: Run) -> Run:
    """Execute ``run`` here, as a worker would, whatever its backoff."""
    Run.objects.filter(pk=run.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    execute_run(str(run.pk))
    run.refresh_from_db()
    return run


def next_attempt(run: Run) -> Run:
    return Run.objects.get(retry_of=run)


# --- the key and the content type ---------------------------------------------------------------------


def test_a_webhook_delivery_carries_the_key_and_a_json_content_type(db, receiver):
    # given
    job, action = webhook_job(receiver, body=JSON_BODY)
    run = services.run_create_manual(job=job, enqueue=False)

    # when
    run = execute(run)

    # then
    assert run.status == RunStatus.SUCCEEDED, run.error
    (request,) = receiver.requests
    assert request.header("Idempotency-Key") == [f"{run.pk}:{action.pk}"]
    assert request.header("Content-Type") == ["application/json"]
    assert request.body == f'{{"job": "{job.natural_id}", "run": "{run.pk}"}}'.encode()


# (id, the action's headers, its body, the Idempotency-Key and Content-Type values the receiver gets;
# None stands for the run's own key)
HEADERS: list[tuple[str, dict[str, str], str, list[str] | None, list[str]]] = [
    ("a JSON array", {}, "[1, 2]", None, ["application/json"]),
    ("a JSON string", {}, '"done"', None, ["application/json"]),
    ("text", {}, "hello", None, []),
    ("no body", {}, "", None, []),
    ("NaN is not JSON", {}, "NaN", None, []),
    ("JSON cut short", {}, '{"a": ', None, []),
    ("nested deeper than the decoder goes", {}, "[" * 100_000 + "]" * 100_000, None, []),
    ("the action's content type wins", {"Content-Type": "text/plain"}, "[1]", None, ["text/plain"]),
    ("whatever its case", {"content-TYPE": "application/vnd.api+json"}, "{}", None, ["application/vnd.api+json"]),
    ("the action's key wins", {"Idempotency-Key": "mine-1"}, "{}", ["mine-1"], ["application/json"]),
    ("whatever its case too", {"idempotency-key": "{{ run.id }}"}, "", ["RUN"], []),
]


@pytest.mark.parametrize(
    ("headers", "body", "key", "content_type"), [c[1:] for c in HEADERS], ids=[c[0] for c in HEADERS]
)
def test_the_actions_own_headers_win_and_only_json_is_labelled_json(db, receiver, headers, body, key, content_type):
    # given
    job, action = webhook_job(receiver, headers=headers, body=body)
    run = services.run_create_manual(job=job, enqueue=False)

    # when
    run = execute(run)

    # then
    assert run.status == RunStatus.SUCCEEDED, run.error
    (request,) = receiver.requests
    expected_key = [f"{run.pk}:{action.pk}"] if key is None else [str(run.pk) if k == "RUN" else k for k in key]
    assert request.header("Idempotency-Key") == expected_key
    assert request.header("Content-Type") == content_type


def test_each_action_has_its_own_key(db, receiver):
    # given
    job, first = webhook_job(receiver)
    second = JobActionFactory(job=job, type="webhook", name="Again", data={"url": f"{receiver.url}/again"})
    run = services.run_create_manual(job=job, enqueue=False)

    # when
    run = execute(run)

    # then
    keys = [request.header("Idempotency-Key") for request in receiver.requests]
    assert keys == [[f"{run.pk}:{first.pk}"], [f"{run.pk}:{second.pk}"]]


# --- stable across attempts ---------------------------------------------------------------------------


def test_every_retry_of_a_failed_delivery_sends_the_first_attempts_key(db, receiver):
    # given: the receiver fails twice, then takes it
    job, action = webhook_job(receiver, max_attempts=3, body=JSON_BODY)
    receiver.statuses = [503, 503]
    first = execute(services.run_create_manual(job=job, enqueue=False))

    # when
    second = execute(next_attempt(first))
    third = execute(next_attempt(second))

    # then
    assert [run.status for run in (first, second, third)] == [RunStatus.FAILED, RunStatus.FAILED, RunStatus.SUCCEEDED]
    assert [run.attempt for run in (first, second, third)] == [1, 2, 3]
    assert len({first.pk, second.pk, third.pk}) == 3  # a retry is a new run...
    keys = [request.header("Idempotency-Key") for request in receiver.requests]
    assert keys == [[f"{first.pk}:{action.pk}"]] * 3  # ...whose deliveries keep the first one's key
    # the body is the run's own: run.id in templates is the attempt's id
    assert [request.body for request in receiver.requests] == [
        f'{{"job": "{job.natural_id}", "run": "{run.pk}"}}'.encode() for run in (first, second, third)
    ]


def test_a_run_whose_worker_died_after_delivering_is_retried_with_the_same_key(db, receiver, monkeypatch):
    # given: the webhook is delivered, then the worker dies before it can record the end of the run
    job, action = webhook_job(receiver, max_attempts=2, body=JSON_BODY)
    first = services.run_create_manual(job=job, enqueue=False)

    def killed(self: Execution, status: str, error: str = "") -> bool:
        raise KeyboardInterrupt("the worker process was killed")

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(Execution, "finish", killed)
        execute_run(str(first.pk))
    first.refresh_from_db()
    assert first.status == RunStatus.RUNNING
    later = timezone.now() + timedelta(seconds=settings.INFORMER_WORKER_TIMEOUT + 5)
    assert services.runs_reap(now=later) == [first.pk]
    retry = next_attempt(first)

    # when
    retry = execute(retry)

    # then
    assert (retry.status, retry.trigger, retry.attempt) == (RunStatus.SUCCEEDED, Trigger.RETRY, 2)
    assert retry.triggered_by == {"type": "retry", "originalRunId": str(first.pk), "name": "retry"}
    keys = [request.header("Idempotency-Key") for request in receiver.requests]
    assert keys == [[f"{first.pk}:{action.pk}"], [f"{first.pk}:{action.pk}"]]


# --- the api-call job type ----------------------------------------------------------------------------


def test_an_api_call_job_sends_its_key_and_keeps_it_on_retry(db, receiver):
    # given
    job = JobFactory(
        type="api-call",
        name="Ping",
        max_attempts=2,
        data={"url": f"{receiver.url}/ping", "method": "POST", "body": '{"ping": true}'},
    )
    receiver.statuses = [503]
    first = execute(services.run_create_manual(job=job, enqueue=False))

    # when
    retry = execute(next_attempt(first))

    # then
    assert (first.status, retry.status) == (RunStatus.FAILED, RunStatus.SUCCEEDED)
    assert [request.header("Idempotency-Key") for request in receiver.requests] == [[f"{first.pk}:job"]] * 2
    assert [request.header("Content-Type") for request in receiver.requests] == [["application/json"]] * 2


@pytest.mark.parametrize(
    ("headers", "body", "key", "content_type"),
    [
        ({}, None, None, []),
        ({"Content-Type": "text/csv"}, '{"a": 1}', None, ["text/csv"]),
        ({"IDEMPOTENCY-KEY": "abc"}, "x", ["abc"], []),
    ],
)
def test_an_api_call_jobs_own_headers_win(db, receiver, headers, body, key, content_type):
    # given
    data = {"url": f"{receiver.url}/ping", "method": "PUT", "headers": headers}
    job = JobFactory(type="api-call", name="Ping", data={**data, **({"body": body} if body else {})})

    # when
    run = execute(services.run_create_manual(job=job, enqueue=False))

    # then
    assert run.status == RunStatus.SUCCEEDED, run.error
    (request,) = receiver.requests
    assert request.header("Idempotency-Key") == (key or [f"{run.pk}:job"])
    assert request.header("Content-Type") == content_type


# --- what the history and a preview show --------------------------------------------------------------


def test_the_key_and_content_type_are_no_secrets_in_the_history(db, receiver):
    # given: header values are masked in messages; the added ones are not the action's secrets
    job, _ = webhook_job(receiver, headers={"Authorization": "Bearer s3cret"}, body="{}")
    receiver.statuses = [500]

    # when
    run = execute(services.run_create_manual(job=job, enqueue=False))

    # then
    assert run.status == RunStatus.FAILED
    assert "s3cret" not in run.error
    assert run.error.endswith("answered 500; expected a 2xx status.")
    assert receiver.requests[0].header("Authorization") == ["Bearer s3cret"]


def test_a_webhook_preview_shows_the_headers_a_delivery_adds(owner, receiver):
    # given
    job, action = webhook_job(receiver, body=JSON_BODY, owner=owner)

    # when
    response = client_for(owner).post(f"/api/jobs/{job.pk}/actions/{action.pk}/_preview", {}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["preview"]["headers"] == {
        "Idempotency-Key": f"{PREVIEW_RUN_ID}:{action.pk}",
        "Content-Type": "application/json",
    }
    assert receiver.requests == []
