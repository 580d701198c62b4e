"""The admin records who ran a job (Run now, the list action, Re-run) and shows it (#12, item 6)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from runs import triggers
from runs.models import Run
from tests.factories import JobFactory, UserFactory
from tests.runs.conftest import finished_run


@pytest.fixture
def operator(db: Any) -> tuple[Any, Client]:
    user = UserFactory(username="ops", first_name="Olga", last_name="Pereira", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(user)
    return user, client


def by(user: Any) -> dict[str, Any]:
    return {"type": "user", "id": user.pk, "username": user.username, "name": user.get_full_name()}


def test_the_job_pages_run_now_records_the_user(operator):
    user, client = operator
    job = JobFactory(owner=user)

    response = client.post(f"/admin/jobs/job/{job.pk}/run/")

    assert response.status_code == 302
    assert Run.objects.get(job=job).triggered_by == by(user)


def test_the_job_lists_run_now_action_records_the_user(operator):
    user, client = operator
    jobs = [JobFactory(owner=user), JobFactory(owner=user)]

    response = client.post("/admin/jobs/job/", {"action": "run_now", "_selected_action": [job.pk for job in jobs]})

    assert response.status_code == 302
    assert [run.triggered_by for run in Run.objects.filter(job__in=jobs)] == [by(user), by(user)]


def test_a_re_run_records_who_asked_not_who_ran_it_first(operator, tenant):
    # given: a run someone else made
    user, client = operator
    job = JobFactory(owner=user)
    first = finished_run(job, triggered_by=triggers.by_command("run_job"), params={"region": "eu"})

    # when
    response = client.post(f"/admin/runs/run/{first.pk}/rerun/")

    # then
    assert response.status_code == 302
    again = Run.objects.exclude(pk=first.pk).get(job=job)
    assert (again.triggered_by, again.params) == (by(user), {"region": "eu"})


def test_the_run_list_and_page_show_who_triggered_it(operator):
    # given
    user, client = operator
    job = JobFactory(owner=user)
    manual = finished_run(job, triggered_by=by(user))
    scheduled = finished_run(job, triggered_by=dict(triggers.SCHEDULE))

    # when
    listing = client.get("/admin/runs/run/").content.decode()
    page = client.get(f"/admin/runs/run/{manual.pk}/change/").content.decode()

    # then
    assert "Triggered by" in listing
    assert '<span title="ops">Olga Pereira</span>' in listing
    assert f'<td class="field-triggered">{triggers.label(scheduled.triggered_by)}</td>' in listing
    assert "Triggered by" in page and "Olga Pereira" in page


def test_a_run_from_before_the_field_shows_unknown(operator):
    user, client = operator
    run = finished_run(JobFactory(owner=user), triggered_by={})

    page = client.get(f"/admin/runs/run/{run.pk}/change/").content.decode()

    assert "Triggered by" in page and "unknown" in page
