"""JSON bodies carry JSON types (§2): a value of the wrong type is a 400 naming the field, never coerced."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from jobs.models import Job, JobAction, JobAttachment
from tests.conftest import client_for
from tests.factories import UserFactory

ERROR_KEYS = {"statusCode", "error", "message", "details"}
EMAIL_DATA = {"to": "ops@example.com", "subject": "Nightly report"}


def assert_400_naming(response: Any, field: str, message: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["details"] == {field: [message]}
    assert body["message"] == f"{field}: {message}"


@pytest.fixture
def client(owner: Any) -> APIClient:
    return client_for(owner)


@pytest.fixture
def action(job: Job) -> JobAction:
    return JobAction.objects.create(job=job, type="email", name="Send", index=0, data=dict(EMAIL_DATA))


@pytest.fixture
def attachment(action: JobAction) -> JobAttachment:
    return JobAttachment.objects.create(action=action, type="file", name="notes.txt", data={})


# (id, method, path with {job}/{action}/{attachment}/{user}, body, the field, its message)
WRONG: list[tuple[str, str, str, dict[str, Any], str, str]] = [
    (
        "job create: name a number",
        "post",
        "/api/jobs",
        {"type": "email", "name": 123},
        "name",
        "Must be a string, not a number (123).",
    ),
    (
        "job create: enabled a string",
        "post",
        "/api/jobs",
        {"type": "email", "name": "Report", "enabled": "yes"},
        "enabled",
        'Must be true or false, not a string ("yes").',
    ),
    (
        "job create: maxAttempts a string",
        "post",
        "/api/jobs",
        {"type": "email", "name": "Report", "maxAttempts": "3"},
        "maxAttempts",
        'Must be a whole number, not a string ("3").',
    ),
    (
        "job create: timeoutSeconds a fraction",
        "post",
        "/api/jobs",
        {"type": "email", "name": "Report", "timeoutSeconds": 2.5},
        "timeoutSeconds",
        "Must be a whole number, not 2.5.",
    ),
    (
        "job create: intervalType a number",
        "post",
        "/api/jobs",
        {"type": "email", "name": "Report", "intervalType": 1},
        "intervalType",
        "Must be a string, not a number (1).",
    ),
    (
        "job create: a tag a number",
        "post",
        "/api/jobs",
        {"type": "email", "name": "Report", "tags": ["ok", 7]},
        "tags.1",
        "Must be a string, not a number (7).",
    ),
    (
        "job create: startOn a number",
        "post",
        "/api/jobs",
        {"type": "email", "name": "Report", "startOn": 20260301},
        "startOn",
        "Must be a string, not a number (20260301).",
    ),
    (
        "job update: enabled a number",
        "patch",
        "/api/jobs/{job}",
        {"enabled": 0},
        "enabled",
        "Must be true or false, not a number (0).",
    ),
    (
        "job put: name a boolean",
        "put",
        "/api/jobs/{job}",
        {"name": True},
        "name",
        "Must be a string, not a boolean (true).",
    ),
    (
        "action create: enabled a string",
        "post",
        "/api/jobs/{job}/actions",
        {"type": "email", "name": "Mail", "data": EMAIL_DATA, "enabled": "false"},
        "enabled",
        'Must be true or false, not a string ("false").',
    ),
    (
        "action create: index a string",
        "post",
        "/api/jobs/{job}/actions",
        {"type": "email", "name": "Mail", "data": EMAIL_DATA, "index": "0"},
        "index",
        'Must be a whole number, not a string ("0").',
    ),
    (
        "action update: name a number",
        "patch",
        "/api/jobs/{job}/actions/{action}",
        {"name": 5},
        "name",
        "Must be a string, not a number (5).",
    ),
    (
        "attachment create: name a number",
        "post",
        "/api/jobs/{job}/actions/{action}/attachments",
        {"type": "file", "name": 42},
        "name",
        "Must be a string, not a number (42).",
    ),
    (
        "attachment update: type a boolean",
        "put",
        "/api/jobs/{job}/actions/{action}/attachments/{attachment}",
        {"type": False},
        "type",
        "Must be a string, not a boolean (false).",
    ),
    (
        "share: accessLevel a string",
        "put",
        "/api/jobs/{job}/shares/user:{user}",
        {"accessLevel": "3"},
        "accessLevel",
        'Must be a whole number, not a string ("3").',
    ),
    (
        "share: accessLevel a boolean",
        "put",
        "/api/jobs/{job}/shares/user:{user}",
        {"accessLevel": True},
        "accessLevel",
        "Must be a whole number, not a boolean (true).",
    ),
    (
        "token: name a number",
        "post",
        "/api/tokens",
        {"name": 1},
        "name",
        "Must be a string, not a number (1).",
    ),
    (
        "token: expiresDays a string",
        "post",
        "/api/tokens",
        {"name": "ci", "expiresDays": "30"},
        "expiresDays",
        'Must be a whole number, not a string ("30").',
    ),
    (
        "run now: params not an object",
        "post",
        "/api/jobs/{job}",
        {"params": "region=eu"},
        "params",
        'Expected a dictionary of items but got type "str".',
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "message"), [case[1:] for case in WRONG], ids=[case[0] for case in WRONG]
)
def test_a_value_of_the_wrong_json_type_is_a_400_naming_the_field(
    client, job, action, attachment, owner, tenant, db_state, method, path, body, field, message
):
    # given
    other = UserFactory(username="other", tenant=tenant)
    path = (
        path.replace("{job}", str(job.pk))
        .replace("{action}", str(action.pk))
        .replace("{attachment}", str(attachment.pk))
        .replace("{user}", str(other.pk))
    )
    before = db_state()

    # when
    response = getattr(client, method)(path, body, format="json")

    # then
    assert_400_naming(response, field, message)
    assert db_state() == before


def test_right_types_are_accepted_across_a_job_write(client, job):
    body = {"name": "123", "enabled": False, "maxAttempts": 3, "timeoutSeconds": 60.0, "tags": ["a"]}

    response = client.patch(f"/api/jobs/{job.pk}", body, format="json")

    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert (job.name, job.enabled, job.max_attempts, job.timeout_seconds) == ("123", False, 3, 60)


@pytest.mark.django_db
def test_login_with_a_password_sent_as_a_number_is_a_400():
    # given a user whose password is all digits
    UserFactory(username="ana", password="20260301")
    client = APIClient()

    # when
    response = client.post("/api/login", {"username": "ana", "password": 20260301}, format="json")

    # then
    assert_400_naming(response, "password", "Must be a string, not a number (20260301).")
    assert client.get("/api/me").status_code == 401


@pytest.mark.django_db
def test_login_with_a_username_sent_as_a_number_is_a_400():
    UserFactory(username="1234")

    response = APIClient().post("/api/login", {"username": 1234, "password": "secret-pass-123"}, format="json")

    assert_400_naming(response, "username", "Must be a string, not a number (1234).")


def test_a_form_body_is_still_read_as_text(client, job):
    # a form carries only strings, so types cannot be told apart there
    response = client.patch(
        f"/api/jobs/{job.pk}", "name=123&maxAttempts=4", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert (job.name, job.max_attempts) == ("123", 4)


def test_preview_params_keep_any_json_value(client, job, action):
    response = client.post(
        f"/api/jobs/{job.pk}/actions/{action.pk}/_preview", {"params": {"n": 1, "flag": True}}, format="json"
    )

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("template_id", ["api-health-check", "weekly-report-email"])
def test_a_template_job_is_still_created(client, template_id):
    # blueprints are Python values of the right types; the strict check must not refuse them
    response = client.post("/api/jobs", {"templateId": template_id, "name": "From a template"}, format="json")

    assert response.status_code == 201, response.content
    assert Job.objects.filter(name="From a template").exists()
