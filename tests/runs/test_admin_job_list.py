"""The job list shows each job's last run (status, duration, error) in a fixed number of queries; times show
their seconds and zone; the job page lists the latest runs, never editable from there; the run list shows a
retry's attempt in its status."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.services import shares as share_services
from runs.models import Run, RunStatus, Trigger
from tests.factories import JobFactory, UserFactory
from tests.informer.admin.pages import logged_in, model_permissions, staff

NOW = datetime(2026, 12, 3, 7, 41, 5, tzinfo=UTC)
VIEWER = [*model_permissions("jobs", "job"), *model_permissions("runs", "run"), "jobs.run_job"]
CREDENTIAL_ERROR = "Webhook: POST https://ops:pa55word@hooks.example.com/in answered 500 " + "and more " * 20


def ended(job, status, *, minutes_ago, seconds, error=""):
    started = NOW - timedelta(minutes=minutes_ago)
    return Run.objects.create(
        job=job,
        tenant=job.tenant,
        trigger=Trigger.SCHEDULE,
        status=status,
        created_at=started,
        started_at=started,
        ended_at=started + timedelta(seconds=seconds),
        error=error,
    )


def row_of(page, job):
    """The list row of ``job``, as HTML."""
    start = page.index(f'href="/admin/jobs/job/{job.pk}/change/')
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


@pytest.fixture
def superuser(tenant):
    return UserFactory(username="root", tenant=tenant, is_staff=True, is_superuser=True)


def test_each_job_shows_its_last_run(superuser):
    # given
    failing = JobFactory(owner=superuser, name="Failing")
    ended(failing, RunStatus.SUCCEEDED, minutes_ago=90, seconds=4)
    latest = ended(failing, RunStatus.FAILED, minutes_ago=30, seconds=12.04, error=CREDENTIAL_ERROR)
    never = JobFactory(owner=superuser, name="Never run")

    # when
    with time_machine.travel(NOW, tick=False):
        page = logged_in(superuser).get("/admin/jobs/job/").content.decode()

    # then
    row = row_of(page, failing)
    assert f'<a href="/admin/runs/run/{latest.pk}/change/">✗ Failed</a>' in row
    assert '<span class="nowrap">2026-12-03</span> <span class="nowrap">07:11:05 UTC</span>' in row
    assert '<td class="field-last_duration">12.0 s</td>' in row
    assert "https://••••@hooks.example.com/in answered 500" in row  # redacted, as everywhere
    assert "pa55word" not in page
    shown = re.search(r'<td class="field-last_error"><span title="[^"]*">(.*?)</span></td>', row).group(1)
    assert shown.endswith("…") and len(shown) == 90
    never_row = row_of(page, never)
    for column in ("last_run", "last_duration", "last_error"):
        assert f'<td class="field-{column}">-</td>' in never_row


def test_a_running_run_shows_as_running(superuser):
    job = JobFactory(owner=superuser)
    Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL, status=RunStatus.RUNNING, started_at=NOW)

    page = logged_in(superuser).get("/admin/jobs/job/").content.decode()

    assert "… Running</a>" in row_of(page, job)
    assert '<td class="field-last_duration">running</td>' in row_of(page, job)


@pytest.mark.parametrize("as_superuser", [True, False])
def test_the_list_costs_the_same_queries_for_two_jobs_or_eight(tenant, superuser, as_superuser):
    # given
    viewer = superuser if as_superuser else staff(tenant, *VIEWER, username="viewer")
    client = logged_in(viewer)

    def jobs_with_runs(count):
        for index in range(count):
            job = JobFactory(owner=superuser, name=f"Job {index}")
            if not as_superuser:
                share_services.share_set(job=job, principal=viewer, level=1)
            for minutes in (30, 20, 10):
                ended(job, RunStatus.FAILED, minutes_ago=minutes, seconds=3, error="boom")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/admin/jobs/job/").status_code == 200
        return len(captured)

    # when
    jobs_with_runs(2)
    for_two = queries()
    jobs_with_runs(6)
    for_eight = queries()

    # then
    assert for_eight == for_two, (for_two, for_eight)
    assert for_two <= 12, for_two


def test_times_in_the_list_show_seconds_and_zone_and_a_disabled_job_says_so(superuser):
    weekly = JobFactory(
        owner=superuser,
        interval="0 8 * * mon",
        timezone="America/New_York",
        next_run_at=datetime(2026, 12, 7, 13, 0, 0, tzinfo=UTC),
    )
    off = JobFactory(owner=superuser, enabled=False)

    page = logged_in(superuser).get("/admin/jobs/job/").content.decode()

    row = row_of(page, weekly)
    expected = '<span class="nowrap">2026-12-07</span> <span class="nowrap">13:00:00 UTC</span>'
    assert f'<td class="field-next_run">{expected}</td>' in row
    assert '<td class="field-next_run">disabled</td>' in row_of(page, off)
    assert "0 8 * * mon (cron)" in row


def test_the_tenant_column_is_for_superusers(tenant, superuser):
    job = JobFactory(owner=superuser)
    viewer = staff(tenant, *VIEWER, username="viewer")
    share_services.share_set(job=job, principal=viewer, level=1)

    mine = logged_in(viewer).get("/admin/jobs/job/").content.decode()
    all_tenants = logged_in(superuser).get("/admin/jobs/job/").content.decode()

    assert "column-tenant" not in mine and "column-tenant" in all_tenants


def test_the_job_page_shows_its_latest_ten_runs_and_no_save_button_to_a_viewer(tenant, superuser):
    # given
    job = JobFactory(owner=superuser)
    runs = [ended(job, RunStatus.SUCCEEDED, minutes_ago=minutes, seconds=1) for minutes in range(12, 0, -1)]
    viewer = staff(tenant, *VIEWER, username="viewer")  # runs.change_run included: the inline stays read-only
    share_services.share_set(job=job, principal=viewer, level=1)

    # when
    page = logged_in(viewer).get(f"/admin/jobs/job/{job.pk}/change/").content.decode()

    # then
    shown = [run for run in runs if f"/admin/runs/run/{run.pk}/change/" in page]
    assert shown == runs[2:]
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    assert "Run now" not in page


def test_the_run_list_shows_a_retrys_attempt_in_its_status_and_times_to_the_second(superuser):
    job = JobFactory(owner=superuser)
    first = ended(job, RunStatus.FAILED, minutes_ago=20, seconds=1)
    retry = ended(job, RunStatus.FAILED, minutes_ago=10, seconds=1)
    Run.objects.filter(pk=retry.pk).update(attempt=2, trigger=Trigger.RETRY)

    page = logged_in(superuser).get("/admin/runs/run/").content.decode()

    assert '<td class="field-shown_status">✗ Failed, attempt 2</td>' in row_of_run(page, retry)
    assert '<td class="field-shown_status">✗ Failed</td>' in row_of_run(page, first)
    started = '<span class="nowrap">2026-12-03</span> <span class="nowrap">07:31:05 UTC</span>'
    assert f'<td class="field-started">{started}</td>' in row_of_run(page, retry)


def row_of_run(page, run):
    start = page.index(f'href="/admin/runs/run/{run.pk}/change/')
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]
