"""A workflow end to end through a real ``manage.py scheduler`` and ``manage.py qcluster`` (§6, §7).

The job: a webhook to a local HTTP endpoint; then, only when it succeeded, an email (to a local SMTP
server) with a file attachment; then, only when something failed, a failure notice. The scheduler
fires it when due; a worker of the cluster executes it; the history tells what happened.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from jobs.models import Job
from runs.models import FINAL_STATUSES, Run, RunStatus
from tests.conftest import client_for
from tests.integration.conftest import Stack, wait_for
from tests.runs.test_workflow_delivery import Endpoint, Inbox, LocalSmtp

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REPORT = b"%PDF-1.7\n" + bytes(range(256)) * 16 + b"\n%%EOF\n"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = LocalSmtp(inbox)
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()


@pytest.fixture
def shared_media(settings: Any, tmp_path: Path) -> Path:
    """Uploads made here must be readable by the worker processes."""
    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = media
    return media


def create_workflow(owner: Any, hook_url: str) -> Job:
    """Build the job through the API, as a client would, and return it."""
    client = client_for(owner)
    response = client.post(
        "/api/jobs",
        {"type": "email", "name": "Nightly", "slug": "nightly", "interval": "0 3 * * *", "timezone": "UTC"},
        format="json",
    )
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    actions = [
        {
            "type": "webhook",
            "name": "Ping",
            "data": {
                "url": hook_url,
                "method": "POST",
                "headers": {"Content-Type": "application/json"},
                "body": '{"job": "{{ job.naturalId }}", "run": "{{ run.id }}", "trigger": "{{ run.trigger }}"}',
            },
        },
        {
            "type": "email",
            "name": "Send the report",
            "data": {"to": "ana@example.com", "subject": "Report of {{ job.name }}", "body": "Attached."},
            "runCondition": {"status": "success"},
        },
        {
            "type": "email",
            "name": "Failure notice",
            "data": {"to": "oncall@example.com", "subject": "[Informer] {{ job.name }} failed", "body": "See the run."},
            "runCondition": {"status": "failure"},
        },
    ]
    ids = []
    for action in actions:
        created = client.post(f"/api/jobs/{job_id}/actions", action, format="json")
        assert created.status_code == 201, created.content
        ids.append(created.json()["id"])
    attachment = client.post(
        f"/api/jobs/{job_id}/actions/{ids[1]}/attachments", {"type": "file", "name": "report.pdf"}, format="json"
    )
    assert attachment.status_code == 201, attachment.content
    uploaded = client.put(
        f"/api/jobs/{job_id}/actions/{ids[1]}/attachments/{attachment.json()['id']}/action-attachment-file-contents",
        REPORT,
        content_type="application/pdf",
    )
    assert uploaded.status_code == 200, uploaded.content
    return Job.objects.get(pk=job_id)


def start_processes(stack: Stack, smtp_port: int, media: Path) -> None:
    stack.env.update(
        {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_USE_SSL": "false",
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "DEFAULT_FROM_EMAIL": "informer@example.com",
            "MEDIA_ROOT": str(media),
            "INFORMER_OUTBOUND_ALLOW": "127.0.0.1",
        }
    )
    stack.qcluster()
    stack.scheduler()


def fire_and_wait(job: Job) -> Run:
    """Make the job due now and wait for the run the scheduler records to finish."""
    due = timezone.now()
    Job.objects.filter(pk=job.pk).update(next_run_at=due)
    run = wait_for(
        lambda: Run.objects.filter(job=job, status__in=FINAL_STATUSES).first(),
        timeout=90,
        message="the scheduled run to finish",
        interval=0.2,
    )
    assert (run.trigger, run.scheduled_for) == ("schedule", due)
    return run


def steps(owner: Any, job: Job) -> list[tuple[str, str, str]]:
    """``(name, status, message)`` of each step of the job's one run, as the history API shows it."""
    response = client_for(owner).get(f"/api/jobs/{job.pk}/history")
    assert response.status_code == 200
    (item,) = response.json()["_embedded"]["inf:job-history"]
    return [(entry["name"], entry["status"], entry["message"]) for entry in item["progress"]]


# (target, what the endpoint answers, or None when it is stopped before the run)
TARGETS = {"healthy": 200, "answering 500": 500, "down": None}


@pytest.mark.parametrize("target", list(TARGETS))
def test_a_scheduled_workflow_runs_its_actions_by_their_conditions(stack, smtp, endpoint, shared_media, owner, target):
    # given
    inbox, smtp_port = smtp
    hook_url = f"{endpoint.url}/hooks/informer"
    job = create_workflow(owner, hook_url)
    status = TARGETS[target]
    if status is None:
        endpoint.close()
    else:
        endpoint.status, endpoint.body = status, b"received" if status == 200 else b"upstream exploded"
    start_processes(stack, smtp_port, shared_media)

    # when
    run = fire_and_wait(job)

    # then
    history = steps(owner, job)
    assert history[0] == ("Email", "success", "Nothing to do before the actions.")
    messages = [email.message_from_bytes(envelope.content, policy=email.policy.default) for envelope in inbox.envelopes]
    if status == 200:
        assert run.status == RunStatus.SUCCEEDED, (run.error, history)
        assert history[1:] == [
            ("Ping", "success", f"POST {hook_url} answered 200."),
            ("Send the report", "success", "Sent 'Report of Nightly' to 1 recipient(s) with 1 attachment(s)."),
            (
                "Failure notice",
                "skipped",
                "Skipped: its run condition is false (status is success, condition requires failure).",
            ),
        ]
        (received,) = endpoint.requests
        assert received.body == f'{{"job": "alpha:nightly", "run": "{run.pk}", "trigger": "schedule"}}'.encode()
        (message,) = messages
        assert (message["Subject"], message["To"]) == ("Report of Nightly", "ana@example.com")
        (attachment,) = message.iter_attachments()
        assert (attachment.get_filename(), attachment.get_payload(decode=True)) == ("report.pdf", REPORT)
    else:
        assert run.status == RunStatus.FAILED, history
        name, step_status, message_text = history[1]
        assert (name, step_status) == ("Ping", "error")
        if status == 500:
            assert message_text == f"POST {hook_url} answered 500; expected a 2xx status."
            assert run.data[f"action:{run.definition['actions'][0]['id']}"]["response"]["excerpt"] == (
                "upstream exploded"
            )
        else:
            assert message_text.startswith(f"POST {hook_url} failed: ")
        assert history[2:] == [
            (
                "Send the report",
                "skipped",
                "Skipped: its run condition is false (status is failure, condition requires success).",
            ),
            ("Failure notice", "success", "Sent '[Informer] Nightly failed' to 1 recipient(s) with 0 attachment(s)."),
        ]
        assert run.error == f"Ping: {message_text}"
        (message,) = messages
        assert (message["Subject"], message["To"]) == ("[Informer] Nightly failed", "oncall@example.com")
        assert list(message.iter_attachments()) == []
    assert Run.objects.filter(job=job).count() == 1
    job.refresh_from_db()
    assert job.next_run_at is not None and job.next_run_at > timezone.now()
    # The worker writes a job's last-run fields within a second of the run's end (runs.bookkeeping).
    wait_for(
        lambda: Job.objects.filter(pk=job.pk, last_success=(status == 200), last_run_at=run.started_at).exists(),
        timeout=5,
        message="the job's last-run fields follow its run",
    )
