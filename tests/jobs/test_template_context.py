"""The template context (README, "Template context"): every key renders, in a run and in a preview (#12, item 8)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core import mail

from jobs.drivers.actions import EmailAction, WebhookAction
from jobs.models import Job, JobAction
from jobs.previews import PREVIEW_RUN_ID
from jobs.rendering import CONTEXT_HELP
from runs import services, triggers
from runs.executor import execute_run
from runs.models import Run, RunStatus
from tests.conftest import client_for
from tests.factories import JobFactory, UserFactory
from tests.jobs.api.test_actions import JobActionFactory

NOW = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def author(tenant: Any) -> Any:
    return UserFactory(username="ana", first_name="Ana", last_name="Lima", tenant=tenant)


@pytest.fixture
def report(author: Any) -> Job:
    return JobFactory(
        owner=author,
        name="Nightly report",
        slug="nightly-report",
        description="Figures for ops",
        timezone="Europe/Berlin",
    )


# (template, what it renders to in a run, in a preview); RUN stands for the run's id, JOB for the job's.
KEYS: list[tuple[str, str, str]] = [
    ("{{ job.id }}", "JOB", "JOB"),
    ("{{ job.name }}", "Nightly report", "Nightly report"),
    ("{{ job.slug }}", "nightly-report", "nightly-report"),
    ("{{ job.naturalId }}", "alpha:nightly-report", "alpha:nightly-report"),
    ("{{ job.type }}", "email", "email"),
    ("{{ job.description }}", "Figures for ops", "Figures for ops"),
    ("{{ job.timezone }}", "Europe/Berlin", "Europe/Berlin"),
    ("{{ run.id }}", "RUN", PREVIEW_RUN_ID),
    ("{{ run.status }}", "running", "running"),
    ("{{ run.trigger }}", "manual", "preview"),
    ("{{ run.triggeredBy.type }}", "user", "user"),
    ("{{ run.triggeredBy.username }}", "ana", "ana"),
    ("{{ run.triggeredBy.name }}", "Ana Lima", "Ana Lima"),
    ("{{ run.attempt }}", "1", "1"),
    ("{{ run.scheduledFor|default:'none' }}", "none", "none"),
    ("{{ run.startedAt }}", "2026-03-09T10:00:00Z", "2026-03-09T10:00:00Z"),
    ("{{ params.period }}", "March", "March"),
    ("{{ datasets|length }}", "0", "0"),
]


def email_action(job: Job, subject: str) -> JobAction:
    return JobActionFactory(job=job, type="email", name="Tell", data={"to": "ops@example.com", "subject": subject})


def run_by(job: Job, user: Any, **params: Any) -> Run:
    run = services.run_create_manual(job=job, params=params, enqueue=False, triggered_by=triggers.by_user(user))
    execute_run(str(run.pk))
    run.refresh_from_db()
    return run


def expected(text: str, job: Job, run_id: str) -> str:
    return {"JOB": str(job.pk), "RUN": run_id}.get(text, text)


@pytest.mark.parametrize(("template", "in_run", "in_preview"), KEYS, ids=[key[0] for key in KEYS])
def test_each_key_renders_in_a_run(report, author, template, in_run, in_preview):
    # given
    email_action(report, f"[{template}]")

    # when
    run = run_by(report, author, period="March")

    # then
    assert run.status == RunStatus.SUCCEEDED, run.error
    (message,) = mail.outbox
    assert message.subject == f"[{expected(in_run, report, str(run.pk))}]"


@pytest.mark.parametrize(("template", "in_run", "in_preview"), KEYS, ids=[key[0] for key in KEYS])
def test_each_key_renders_in_a_preview(report, author, template, in_run, in_preview):
    # given
    action = email_action(report, f"[{template}]")

    # when
    response = client_for(author).post(
        f"/api/jobs/{report.pk}/actions/{action.pk}/_preview", {"params": {"period": "March"}}, format="json"
    )

    # then
    assert response.status_code == 200, response.content
    assert response.json()["preview"]["subject"] == f"[{expected(in_preview, report, PREVIEW_RUN_ID)}]"
    assert mail.outbox == []
    assert Run.objects.count() == 0


def test_a_preview_and_a_run_see_the_same_keys(report, author):
    # given: every key, printed with its name
    template = (
        "{% for key, value in job.items %}job.{{ key }} {% endfor %}"
        "{% for key, value in run.items %}run.{{ key }} {% endfor %}"
    )
    action = email_action(report, template)

    # when
    preview = client_for(author).post(f"/api/jobs/{report.pk}/actions/{action.pk}/_preview", {}, format="json")
    run_by(report, author)

    # then
    keys = mail.outbox[0].subject
    assert preview.json()["preview"]["subject"] == keys
    assert keys.split() == [
        *(f"job.{key}" for key in ("id", "name", "slug", "type", "naturalId", "description", "timezone")),
        *(f"run.{key}" for key in ("id", "status", "trigger", "triggeredBy", "attempt", "scheduledFor", "startedAt")),
    ]


def test_a_previews_triggered_by_has_the_shape_a_run_records(report, author):
    # given
    action = email_action(report, "{{ run.triggeredBy.id }}|{{ run.triggeredBy.name }}")

    # when
    preview = client_for(author).post(f"/api/jobs/{report.pk}/actions/{action.pk}/_preview", {}, format="json")
    run = run_by(report, author)

    # then
    assert run.triggered_by == triggers.by_user(author)
    assert preview.json()["preview"]["subject"] == mail.outbox[0].subject == f"{author.pk}|Ana Lima"


def test_run_status_says_failed_once_a_step_failed(report, author, settings):
    # given: a webhook refused by the outbound guard, then a notice that runs on failure
    settings.INFORMER_OUTBOUND_ALLOW = []
    JobActionFactory(job=report, type="webhook", name="Hook", data={"url": "http://127.0.0.1:9/hook"})
    notice = email_action(report, "{{ run.status }}")
    notice.run_condition = {"status": "any"}
    notice.save()

    # when
    run = run_by(report, author)

    # then
    assert run.status == RunStatus.FAILED
    assert [message.subject for message in mail.outbox] == ["failed"]


def test_a_retry_renders_its_own_id_and_attempt(report, author):
    # given: a first attempt that failed, and its next attempt due now
    report.max_attempts = 2
    report.save()
    first = run_by(report, author)
    email_action(report, "{{ run.id }} {{ run.attempt }} {{ run.trigger }} {{ run.triggeredBy.type }}")
    Run.objects.filter(pk=first.pk).update(status=RunStatus.FAILED)
    retry = services.run_retry(run=Run.objects.select_related("job").get(pk=first.pk), now=NOW)
    assert retry is not None
    Run.objects.filter(pk=retry.pk).update(not_before=NOW)

    # when
    execute_run(str(retry.pk))

    # then
    (message,) = mail.outbox
    assert message.subject == f"{retry.pk} 2 retry retry"


def test_the_drivers_schemas_describe_the_context():
    for schema in (EmailAction.schema, WebhookAction.schema):
        described = [name for name, prop in schema["properties"].items() if CONTEXT_HELP in prop.get("description", "")]
        assert described, schema
    assert "run.triggeredBy" in CONTEXT_HELP and "job.timezone" in CONTEXT_HELP and PREVIEW_RUN_ID in CONTEXT_HELP
