"""The job and run pages act: "Run now" on a job, "Cancel" and "Re-run" on a run; each is a POST with CSRF, checked
as the API checks it, and a refusal changes nothing. The run page is named by its job and time."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client

from jobs.services import shares as share_services
from runs.models import Run, RunStatus, Trigger
from tests.factories import JobFactory, TenantFactory, UserFactory, make_draft
from tests.informer.admin.pages import logged_in, model_permissions, staff

RUNNER = [*model_permissions("runs", "run"), *model_permissions("jobs", "job"), "jobs.run_job"]
MOMENT = datetime(2026, 12, 3, 7, 41, 5, tzinfo=UTC)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def world(tenant):
    """A job, a finished run of it, and staff users with every model permission at access level 0, 1 and 2."""
    owner = UserFactory(username="owner", tenant=tenant)
    job = JobFactory(owner=owner, name="Nightly")
    run = Run.objects.create(
        job=job,
        tenant=tenant,
        trigger=Trigger.SCHEDULE,
        status=RunStatus.FAILED,
        scheduled_for=MOMENT,
        created_at=MOMENT,
        params={"region": "eu", "limit": 3},
    )
    users = {level: staff(tenant, *RUNNER, username=f"level{level}") for level in (0, 1, 2)}
    for level in (1, 2):
        share_services.share_set(job=job, principal=users[level], level=level)
    return job, run, users


def job_url(job, page="change/"):
    return f"/admin/jobs/job/{job.pk}/{page}"


def run_url(run, page="change/"):
    return f"/admin/runs/run/{run.pk}/{page}"


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def runs_of(job):
    return list(Run.objects.filter(job=job).order_by("created_at").values_list("pk", "trigger", "status", "params"))


# --- Run now --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "shown"), [(1, False), (2, True)])
def test_the_job_page_has_run_now_for_whoever_may_run_the_job(world, level, shown):
    job, _, users = world

    page = logged_in(users[level]).get(job_url(job)).content.decode()

    assert (f'action="{job_url(job, "run/")}"' in page) is shown
    assert ">Run now</button>" in page if shown else "Run now" not in page


def test_run_now_queues_a_run_and_links_to_it(world):
    # given
    job, _, users = world
    before = runs_of(job)

    # when
    response = logged_in(users[2]).post(job_url(job, "run/"))

    # then
    assert (response.status_code, response["Location"]) == (302, job_url(job))
    new = Run.objects.filter(job=job).exclude(pk__in=[pk for pk, *_ in before]).get()
    assert (new.trigger, new.status) == (Trigger.MANUAL, RunStatus.QUEUED)
    assert messages_of(response) == [f'Queued <a href="{run_url(new)}">{new}</a>.']
    assert str(new).startswith("Nightly, ")


@pytest.mark.parametrize(
    ("who", "status"),
    [("level0", 404), ("level1", 403), ("stranger", 404)],  # 404: a job they may not see does not exist for them
)
def test_run_now_is_refused_to_whoever_may_not_run_the_job(world, db_state, who, status):
    job, _, users = world
    user = staff(TenantFactory(slug="beta"), *RUNNER) if who == "stranger" else users[int(who[-1])]
    client = logged_in(user)
    before = db_state()

    response = client.post(job_url(job, "run/"))

    assert response.status_code == status
    assert db_state() == before


def test_run_now_needs_a_post_with_its_csrf_token(world, db_state):
    # given
    job, _, users = world
    client = Client(enforce_csrf_checks=True)
    client.force_login(users[2])
    before = db_state()

    # when
    read = client.get(job_url(job, "run/"))
    forged = client.post(job_url(job, "run/"))

    # then
    assert (read.status_code, forged.status_code) == (405, 403)
    assert db_state() == before


def test_run_now_of_a_draft_says_why_and_queues_nothing(world, db_state):
    job, _, users = world
    draft = make_draft(job)
    before = db_state()

    response = logged_in(users[2]).post(job_url(draft, "run/"))

    assert response.status_code == 302
    assert messages_of(response) == ["A draft cannot be run; commit it first."]
    assert db_state() == before


def test_the_run_now_action_links_to_the_run_it_queued(world):
    job, _, users = world

    response = logged_in(users[2]).post("/admin/jobs/job/", {"action": "run_now", "_selected_action": [str(job.pk)]})

    new = Run.objects.filter(job=job, trigger=Trigger.MANUAL).get()
    assert messages_of(response) == [f'Queued <a href="{run_url(new)}">{new}</a>.']


# --- The run page: its title, Cancel and Re-run ---------------------------------------------------------


def test_the_run_page_is_named_by_its_job_and_time(world):
    _, run, users = world

    page = logged_in(users[1]).get(run_url(run)).content.decode()

    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert title.startswith("Nightly, 2026-12-03 07:41:05 UTC | View run")
    assert "<h2>Nightly, 2026-12-03 07:41:05 UTC</h2>" in page
    # the breadcrumbs' last item: after "&rsaquo;" up to Django 5.2, an <li aria-current="page"> from 6.0
    assert re.search(r'(&rsaquo;|<li aria-current="page">)\s*Nightly, 2026-12-03 07:41:05 UTC', page)
    assert not UUID.search(title)
    assert page.count("Triggered by:") == 1  # by its label, not its JSON too


def test_a_manual_run_is_named_by_when_it_was_made():
    run = Run(job=JobFactory.build(name="Ad hoc"), created_at=MOMENT, trigger=Trigger.MANUAL)

    assert str(run) == "Ad hoc, 2026-12-03 07:41:05 UTC"


@pytest.mark.parametrize(
    ("status", "level", "cancel", "rerun"),
    [
        (RunStatus.QUEUED, 2, True, True),
        (RunStatus.RUNNING, 2, True, True),
        (RunStatus.FAILED, 2, False, True),
        (RunStatus.QUEUED, 1, False, False),
    ],
)
def test_the_run_page_has_cancel_while_it_goes_and_rerun_for_whoever_may_run_the_job(
    world, status, level, cancel, rerun
):
    _, run, users = world
    Run.objects.filter(pk=run.pk).update(status=status)

    page = logged_in(users[level]).get(run_url(run)).content.decode()

    assert (">Cancel</button>" in page) is cancel
    assert (">Re-run</button>" in page) is rerun
    assert 'name="_save"' not in page


@pytest.mark.parametrize(("status", "after"), [(RunStatus.QUEUED, RunStatus.CANCELLED), (RunStatus.RUNNING, None)])
def test_cancel_ends_a_queued_run_and_asks_a_running_one_to_stop(world, status, after):
    # given
    _, run, users = world
    Run.objects.filter(pk=run.pk).update(status=status)

    # when
    response = logged_in(users[2]).post(run_url(run, "cancel/"))

    # then
    run.refresh_from_db()
    assert (response.status_code, response["Location"]) == (302, run_url(run))
    assert run.status == (after or status)
    assert run.cancel_requested is True
    expected = "Cancelled." if after else "Asked the run to stop; it ends cancelled."
    assert messages_of(response) == [expected]


def test_cancel_of_a_run_that_ended_says_so_and_changes_nothing(world, db_state):
    _, run, users = world
    before = db_state()

    response = logged_in(users[2]).post(run_url(run, "cancel/"))

    assert response.status_code == 302
    assert messages_of(response) == ["The run is already failed; only queued or running runs can be cancelled."]
    assert db_state() == before


@pytest.mark.parametrize("page", ["cancel/", "rerun/"])
@pytest.mark.parametrize(("level", "status"), [(0, 404), (1, 403)])
def test_cancel_and_rerun_are_refused_to_whoever_may_not_run_the_job(world, db_state, page, level, status):
    _, run, users = world
    Run.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
    before = db_state()

    response = logged_in(users[level]).post(run_url(run, page))

    assert response.status_code == status
    assert db_state() == before


@pytest.mark.parametrize("page", ["cancel/", "rerun/"])
def test_cancel_and_rerun_need_a_post_with_its_csrf_token(world, db_state, page):
    _, run, users = world
    Run.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
    client = Client(enforce_csrf_checks=True)
    client.force_login(users[2])
    before = db_state()

    read = client.get(run_url(run, page))
    forged = client.post(run_url(run, page))

    assert (read.status_code, forged.status_code) == (405, 403)
    assert db_state() == before


def test_rerun_queues_a_manual_run_with_the_same_params_and_shows_it(world):
    # given
    job, run, users = world

    # when
    with time_machine.travel(datetime(2026, 12, 4, 9, 0, 1, tzinfo=UTC), tick=False):
        response = logged_in(users[2]).post(run_url(run, "rerun/"))

    # then
    again = Run.objects.exclude(pk=run.pk).get(job=job)
    assert (again.trigger, again.status, again.params) == (Trigger.MANUAL, RunStatus.QUEUED, run.params)
    assert (response.status_code, response["Location"]) == (302, run_url(again))
    assert messages_of(response) == [
        f'Queued <a href="{run_url(again)}">Nightly, 2026-12-04 09:00:01 UTC</a>, with the same params.'
    ]
