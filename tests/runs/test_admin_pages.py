"""Operator pages: job actions inline, action preview, draft filter, run history steps, worker liveness."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from jobs import draft_services
from jobs.models import JobAction
from runs.models import Run, RunStatus, Trigger, Worker
from tests.factories import JobFactory, UserFactory


@pytest.fixture
def operator(db):
    user = UserFactory(is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(user)
    return user, client


def test_the_job_page_lists_its_actions_with_a_preview_link(operator):
    user, client = operator
    job = JobFactory(owner=user)
    action = JobAction.objects.create(
        job=job, type="email", name="Weekly mail", data={"to": "a@example.com", "subject": "Hi {{ job.name }}"}
    )

    page = client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()

    assert "Weekly mail" in page
    assert f"/admin/jobs/jobaction/{action.pk}/preview/" in page


def test_the_action_preview_renders_without_sending(operator, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user, client = operator
    job = JobFactory(owner=user, name="Nightly")
    action = JobAction.objects.create(
        job=job, type="email", name="Mail", data={"to": "a@example.com", "subject": "Hi {{ job.name }}"}
    )

    response = client.get(f"/admin/jobs/jobaction/{action.pk}/preview/")

    assert response.status_code == 200
    assert "Hi Nightly" in response.content.decode()
    assert mail.outbox == []


def test_drafts_are_visible_to_operators_through_the_draft_filter(operator):
    user, client = operator
    job = JobFactory(owner=user, name="Original")
    draft, _ = draft_services.draft_edit(job=job)
    draft_services.draft_edit(job=job)

    drafts = client.get("/admin/jobs/job/?draft=yes").content.decode()
    committed = client.get("/admin/jobs/job/?draft=no").content.decode()

    assert f"/admin/jobs/job/{draft.pk}/change/" in drafts
    assert f"/admin/jobs/job/{job.pk}/change/" not in drafts
    assert f"/admin/jobs/job/{job.pk}/change/" in committed


def test_the_run_page_shows_progress_step_by_step(operator):
    user, client = operator
    job = JobFactory(owner=user)
    run = Run.objects.create(
        job=job,
        tenant=job.tenant,
        trigger=Trigger.MANUAL,
        status=RunStatus.FAILED,
        progress=[
            {"key": "type", "name": "Email", "status": "success", "message": "Nothing to do", "startedAt": "x"},
            {"key": "action:1", "name": "Webhook", "status": "error", "message": "answered 500", "startedAt": "y"},
        ],
    )

    page = client.get(f"/admin/runs/run/{run.pk}/change/").content.decode()

    assert "answered 500" in page and "Nothing to do" in page
    assert page.index("Nothing to do") < page.index("answered 500")


def test_the_worker_list_shows_liveness(operator):
    _, client = operator
    Worker.objects.create(name="alive-one", host="h", pid=1)
    Worker.objects.create(name="lost-one", host="h", pid=2, last_heartbeat_at=timezone.now() - timedelta(seconds=600))

    page = client.get("/admin/runs/worker/").content.decode()

    assert "alive (" in page
    assert "lost (" in page
