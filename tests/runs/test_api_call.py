"""The api-call job type end to end: a real request to a local server, and the outbound guard's refusals."""

from __future__ import annotations

import socket

import pytest

from jobs.drivers.job_types import ApiCallJob
from runs import services
from runs.executor import execute_run
from runs.models import Run, RunStatus
from tests.factories import JobFactory
from tests.informer.test_outbound import REFUSED_URLS, connects, fake_dns, guarded_network  # noqa: F401


def run_api_call(data: dict, **fields) -> Run:
    job = JobFactory(type="api-call", name="Ping", data=data, **fields)
    run = services.run_create_manual(job=job, enqueue=False)
    execute_run(str(run.pk))
    run.refresh_from_db()
    return run


@pytest.fixture
def local_allowed(settings):
    settings.INFORMER_OUTBOUND_ALLOW = ["127.0.0.1"]


def test_a_successful_call_keeps_the_response_on_the_run(db, local_allowed, http_server):
    # when
    run = run_api_call({"url": f"{http_server}/hello", "headers": {"X-Ask": "1"}})

    # then
    assert (run.status, run.error) == (RunStatus.SUCCEEDED, "")
    response = run.data["type"]["response"]
    assert {key: response[key] for key in ("status", "body", "truncated", "url")} == {
        "status": 200,
        "body": "hello",
        "truncated": False,
        "url": f"{http_server}/hello",
    }
    assert (response["headers"]["X-Test"], response["headers"]["Content-Length"]) == ("yes", "5")
    assert isinstance(response["elapsedMs"], int)
    assert run.progress[0]["message"] == f"GET {http_server}/hello answered 200."


@pytest.mark.parametrize(
    ("path", "expect", "message"),
    [
        ("/status/503", None, "answered 503; expected a 2xx status."),
        ("/status/404", [200, 204], "answered 404; expected 200, 204."),
        ("/hello", [201], "answered 200; expected 201."),
    ],
)
def test_an_unexpected_status_fails_the_run(db, local_allowed, http_server, path, expect, message):
    # given
    data = {"url": f"{http_server}{path}", **({"expectStatus": expect} if expect else {})}

    # when
    run = run_api_call(data)

    # then
    assert run.status == RunStatus.FAILED
    assert run.error == f"API call: GET {http_server}{path} {message}"
    status = int(path.rsplit("/", 1)[1]) if path.startswith("/status/") else 200
    assert run.data["type"]["response"]["status"] == status  # kept to explain the failure


def test_a_network_failure_is_transient_and_retried(db, local_allowed):
    # given: a port nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    # when
    run = run_api_call({"url": f"http://127.0.0.1:{port}/", "timeoutSeconds": 2}, max_attempts=2)

    # then
    assert run.status == RunStatus.FAILED
    assert run.error.startswith(f"API call: GET http://127.0.0.1:{port}/ failed: ")
    assert Run.objects.filter(retry_of=run, attempt=2).count() == 1


# Non-http(s) URLs are left out: the job type's schema ("^https?://") rejects them when the job is saved,
# so no run ever sees one (test_the_schema_rejects_other_schemes).
HTTP_REFUSED = [(url, reason) for url, reason in REFUSED_URLS if url.startswith(("http://", "https://"))]


@pytest.mark.parametrize(("url", "reason"), HTTP_REFUSED)
def test_refused_urls_fail_the_run_without_connecting(db, settings, guarded_network, url, reason):  # noqa: F811
    # given
    settings.INFORMER_OUTBOUND_ALLOW = []
    assert ApiCallJob.validation_errors({"url": url}) == []

    # when
    run = run_api_call({"url": url}, max_attempts=3)

    # then
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("API call: Refusing ")
    assert reason in run.error
    assert guarded_network.seen == []  # refused before any connection attempt
    assert Run.objects.count() == 1  # a refusal is permanent: no retry


@pytest.mark.parametrize("url", [url for url, _ in REFUSED_URLS if (url, _) not in HTTP_REFUSED])
def test_the_schema_rejects_other_schemes(url):
    assert ApiCallJob.validation_errors({"url": url}) == [f'data.url: "{url}" does not match the pattern ^https?://.']
