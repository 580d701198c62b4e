"""Operator pages: job actions inline, action preview, draft filter, run history steps, worker liveness."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from jobs.models import JobAction
from jobs.services import drafts as draft_services
from jobs.services import shares as share_services
from runs.models import Run, RunStatus, Trigger, Worker
from tests.factories import JobFactory, TenantFactory, UserFactory
from tests.informer.admin.pages import logged_in, model_permissions, staff


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


# --- Runs follow their job's permissions, as in the API -------------------------------------------------

RUN_STAFF = [
    *model_permissions("runs", "run"),
    *model_permissions("jobs", "job"),
    "jobs.run_job",
]


@pytest.fixture
def history(tenant):
    """A job with a queued run, and a staff user (every model permission) at each access level on it."""
    owner = UserFactory(username="owner", tenant=tenant)
    job = JobFactory(owner=owner, name="Nightly")
    run = Run.objects.create(job=job, tenant=tenant, trigger=Trigger.MANUAL, status=RunStatus.QUEUED)
    users = {level: staff(tenant, *RUN_STAFF, username=f"level{level}") for level in (0, 1, 2)}
    for level in (1, 2):
        share_services.share_set(job=job, principal=users[level], level=level)
    return job, run, users


@pytest.mark.parametrize(("level", "listed"), [(0, False), (1, True), (2, True)])
def test_the_run_list_shows_the_runs_of_jobs_the_staff_user_may_see(history, level, listed):
    _, run, users = history

    page = logged_in(users[level]).get("/admin/runs/run/").content.decode()

    assert (f"/admin/runs/run/{run.pk}/change/" in page) is listed


def test_a_run_of_another_tenant_is_not_found(history):
    _, run, _ = history
    stranger = staff(TenantFactory(slug="beta"), *RUN_STAFF)

    response = logged_in(stranger).get(f"/admin/runs/run/{run.pk}/change/")

    assert (response.status_code, response["Location"]) == (302, "/admin/")


@pytest.mark.parametrize(("level", "cancelled"), [(0, False), (1, False), (2, True)])
def test_cancelling_a_run_needs_job_run(history, db_state, level, cancelled):
    _, run, users = history
    client = logged_in(users[level])
    before = db_state()

    response = client.post("/admin/runs/run/", {"action": "cancel", "_selected_action": [run.pk], "index": 0})

    run.refresh_from_db()
    if cancelled:
        assert response.status_code == 302
        assert run.status == RunStatus.CANCELLED
    else:
        assert response.status_code in (302, 403)  # 302: nothing they may see was selected
        assert db_state() == before


@pytest.mark.parametrize(("level", "queued"), [(0, False), (1, False), (2, True)])
def test_run_now_needs_job_run(history, db_state, level, queued):
    job, _, users = history
    client = logged_in(users[level])
    before = db_state()

    response = client.post("/admin/jobs/job/", {"action": "run_now", "_selected_action": [job.pk], "index": 0})

    if queued:
        assert response.status_code == 302
        assert Run.objects.filter(job=job, trigger=Trigger.MANUAL).count() == 2
    else:
        assert response.status_code in (302, 403)  # 302: nothing they may see was selected
        assert db_state() == before


@pytest.mark.parametrize(("level", "deleted"), [(1, False), (2, True)])
def test_deleting_a_run_needs_job_edit(history, db_state, level, deleted):
    _, run, users = history
    client = logged_in(users[level])
    before = db_state()

    response = client.post(f"/admin/runs/run/{run.pk}/delete/", {"post": "yes"})

    if deleted:
        assert response.status_code == 302
        assert not Run.objects.filter(pk=run.pk).exists()
    else:
        assert response.status_code == 403
        assert db_state() == before


def test_a_run_page_is_read_only_even_for_a_superuser(operator, db_state):
    user, client = operator
    run = Run.objects.create(job=JobFactory(owner=user), tenant=user.tenant, trigger=Trigger.MANUAL)
    before = db_state()

    page = client.get(f"/admin/runs/run/{run.pk}/change/")
    posted = client.post(f"/admin/runs/run/{run.pk}/change/", {"status": "succeeded"})

    assert "Save" not in page.content.decode()
    assert posted.status_code == 403
    assert db_state() == before


# --- Credentials are redacted from run pages, for everyone, as in the API -------------------------------

HOOK = {
    "url": "https://ops:pa55word@hooks.example.com/in?token=t0k3n-abc",
    "headers": {"Authorization": "Bearer s3cret-value"},
}
CALL = {"url": "https://api.example.com/v1?apiKey=k3y-456", "headers": {"X-Api-Key": "k3y-789-long"}}
SECRETS = ("pa55word", "t0k3n-abc", "s3cret-value", "k3y-456", "k3y-789-long")


def run_with_credentials(job):
    """A failed run whose definition, progress and error hold the job's and its action's credentials."""
    return Run.objects.create(
        job=job,
        tenant=job.tenant,
        trigger=Trigger.MANUAL,
        status=RunStatus.FAILED,
        error="Webhook: POST https://ops:pa55word@hooks.example.com/in?token=t0k3n-abc sent Bearer s3cret-value",
        definition={
            "type": "api-call",
            "data": CALL,
            "actions": [
                {"type": "webhook", "name": "Hook", "data": HOOK, "attachments": [{"name": "a", "data": CALL}]}
            ],
        },
        progress=[
            {"key": "type", "name": "API call", "status": "success", "message": "X-Api-Key k3y-789-long accepted"},
            {"key": "action:1", "name": "Hook", "status": "error", "message": "answered 500 to Bearer s3cret-value"},
        ],
    )


def test_a_run_page_shows_no_credential_even_to_a_superuser(operator):
    # given
    user, client = operator
    run = run_with_credentials(JobFactory(owner=user, type="api-call", data=CALL))

    # when
    page = client.get(f"/admin/runs/run/{run.pk}/change/").content.decode()

    # then
    for secret in SECRETS:
        assert secret not in page
    assert "answered 500 to ••••" in page and "X-Api-Key •••• accepted" in page
    assert "https://••••@hooks.example.com/in?token=••••" in page  # the error, and the definition's URL
    assert "&quot;Authorization&quot;: &quot;••••&quot;" in page


def test_the_runs_on_a_job_page_show_their_errors_redacted(operator):
    user, client = operator
    job = JobFactory(owner=user, type="api-call", data=CALL)
    run_with_credentials(job)

    page = client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()

    assert "sent ••••" in page
    for secret in ("pa55word", "t0k3n-abc", "s3cret-value"):
        assert secret not in page
