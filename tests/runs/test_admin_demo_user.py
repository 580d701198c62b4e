"""The README's admin link works for the demo user: seed_demo makes it staff with the permissions its pages need."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from informer.models import User
from jobs.models import Job
from runs.models import Run, Trigger

PASSWORD = "informer-demo"


def seed() -> None:
    call_command("seed_demo", "--password", PASSWORD, stdout=io.StringIO())


@pytest.fixture
def demo(db) -> Client:
    seed()
    client = Client()
    assert client.login(username="demo", password=PASSWORD)
    return client


def test_the_demo_user_is_staff_and_the_viewer_is_not(db):
    seed()

    assert User.objects.get(username="demo").is_staff is True
    assert User.objects.get(username="viewer").is_staff is False


def test_the_demo_user_opens_its_jobs_runs_and_the_users_in_the_admin(demo):
    # given
    job = Job.objects.get(tenant__slug="default", slug="weekly-sales-report")
    run = Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL)

    # when
    pages = {
        url: demo.get(url)
        for url in (
            "/admin/",
            "/admin/jobs/job/",
            f"/admin/jobs/job/{job.pk}/change/",
            "/admin/jobs/job/add/",
            "/admin/runs/run/",
            f"/admin/runs/run/{run.pk}/change/",
            "/admin/informer/user/",
            "/admin/informer/apitoken/add/",
        )
    }

    # then
    assert {url: response.status_code for url, response in pages.items()} == dict.fromkeys(pages, 200)
    assert ">Run now</button>" in pages[f"/admin/jobs/job/{job.pk}/change/"].content.decode()
    assert ">Cancel</button>" in pages[f"/admin/runs/run/{run.pk}/change/"].content.decode()
    assert demo.get("/admin/runs/worker/").status_code == 403  # the installation's, for superusers


def test_seed_demo_gives_the_demo_user_back_what_it_needs(db):
    seed()
    demo = User.objects.get(username="demo")
    demo.is_staff = False
    demo.save(update_fields=["is_staff"])
    demo.user_permissions.clear()

    seed()

    demo = User.objects.get(username="demo")
    assert demo.is_staff and demo.has_perm("jobs.run_job") and demo.has_perm("runs.view_run")
