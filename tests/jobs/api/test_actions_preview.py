"""``POST …/actions/{jobActionId}/_preview`` (§7): renders the action as it would run now and delivers nothing."""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any

import pytest
from django.core import mail

from jobs.models import Job, JobAction
from jobs.previews import PREVIEW_RUN_ID
from tests.conftest import client_for
from tests.jobs.api.test_actions import ERROR_KEYS, JobActionFactory, JobAttachmentFactory, top_fields, upload

PDF = b"%PDF-1.7\n" + bytes(range(64)) + b"\n%%EOF\n"


@pytest.fixture(autouse=True)
def network(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Any outgoing connection is recorded and refused: a preview must never open one."""
    state = SimpleNamespace(attempts=[])

    def refuse(*args: Any, **kwargs: Any) -> None:
        state.attempts.append(args)
        raise AssertionError(f"A preview opened a connection: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return state


@pytest.fixture(params=["locmem", "smtp"])
def email_backend(request: pytest.FixtureRequest, settings: Any) -> str:
    """Both backends: locmem would keep a sent message, SMTP would have to connect."""
    settings.EMAIL_BACKEND = f"django.core.mail.backends.{request.param}.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 2525
    return request.param


@pytest.fixture
def client(owner: Any) -> Any:
    return client_for(owner)


def preview_url(action: JobAction) -> str:
    return f"/api/jobs/{action.job_id}/actions/{action.pk}/_preview"


def assert_nothing_delivered(network: SimpleNamespace) -> None:
    assert mail.outbox == []
    assert network.attempts == []


def email_action(job: Job, **data: Any) -> JobAction:
    return JobActionFactory(job=job, type="email", name="Send", data=data)


def test_an_email_preview_renders_recipients_subject_body_and_lists_attachments(
    job, client, media, network, email_backend
):
    # given
    action = email_action(
        job,
        to="{{ params.to }}, boss@example.com",
        cc=["audit@example.com"],
        subject="Sales for {{ params.period }} - {{ job.name }}",
        body="Hello {{ params.who|default:'team' }},\nsee {{ job.naturalId }}.",
    )
    upload(JobAttachmentFactory(action=action, name="report.pdf"), PDF, "application/pdf")
    # an export of a dataset the job does not have: the preview says why a run would fail on it
    JobAttachmentFactory(action=action, type="dataset", name="sales.csv", data={"alias": "sales", "format": "csv"})
    JobAttachmentFactory(action=action, name="later.bin")  # no file uploaded yet

    # when
    response = client.post(preview_url(action), {"params": {"to": "ana@example.com", "period": "March"}}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json() == {
        "type": "email",
        "preview": {
            "to": ["ana@example.com", "boss@example.com"],
            "cc": ["audit@example.com"],
            "bcc": [],
            "replyTo": [],
            "subject": "Sales for March - Nightly",
            "body": "Hello team,\nsee alpha:nightly.",
            "format": "text",
            "attachments": [
                {"name": "report.pdf", "type": "file", "size": len(PDF)},
                {
                    "name": "sales.csv",
                    "type": "dataset",
                    "size": None,
                    "error": "Dataset 'sales' is neither one of the job's dataset aliases nor a dataset of its tenant.",
                },
                {
                    "name": "later.bin",
                    "type": "file",
                    "size": None,
                    "error": "No file uploaded yet; a run would fail on it.",
                },
            ],
        },
    }
    assert_nothing_delivered(network)


def test_an_html_email_preview_escapes_values_in_the_body_only(job, client, network):
    # given
    action = email_action(
        job, to="ops@example.com", subject="For {{ params.who }}", body="<p>{{ params.who }}</p>", format="html"
    )

    # when
    response = client.post(preview_url(action), {"params": {"who": "<b>Ana</b>"}}, format="json")

    # then
    assert response.status_code == 200, response.content
    preview = response.json()["preview"]
    assert (preview["subject"], preview["body"], preview["format"]) == (
        "For <b>Ana</b>",
        "<p>&lt;b&gt;Ana&lt;/b&gt;</p>",
        "html",
    )
    assert_nothing_delivered(network)


def test_a_rendered_subject_stays_on_one_line(job, client, network):
    action = email_action(job, to="ops@example.com", subject="Report {{ params.title }}")

    response = client.post(
        preview_url(action), {"params": {"title": "line one\r\nBcc: evil@example.com"}}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["preview"]["subject"] == "Report line one Bcc: evil@example.com"
    assert response.json()["preview"]["bcc"] == []
    assert_nothing_delivered(network)


# A preview has no run: the key a delivery sends is shown with the preview's stand-in run id.
KEY = f"{PREVIEW_RUN_ID}:ACTION"
WEBHOOKS = [
    (
        "templated",
        {
            "url": "https://example.com/hooks/{{ params.id }}",
            "method": "PUT",
            "headers": {"X-Job": "{{ job.naturalId }}", "Content-Type": "application/json"},
            "body": '{"job": "{{ job.name }}", "trigger": "{{ run.trigger }}", "id": {{ params.id }}}',
        },
        {
            "method": "PUT",
            "url": "https://example.com/hooks/42",
            # The action's own Content-Type stands; the Idempotency-Key a delivery adds shows the preview's run id.
            "headers": {"X-Job": "alpha:nightly", "Content-Type": "application/json", "Idempotency-Key": KEY},
            "body": '{"job": "Nightly", "trigger": "preview", "id": 42}',
        },
    ),
    (
        "defaults",
        {"url": "https://example.com/ping"},
        {"method": "POST", "url": "https://example.com/ping", "headers": {"Idempotency-Key": KEY}, "body": ""},
    ),
    (
        "a loopback target is shown, not contacted",
        {"url": "http://127.0.0.1:9/internal", "method": "DELETE"},
        {"method": "DELETE", "url": "http://127.0.0.1:9/internal", "headers": {"Idempotency-Key": KEY}, "body": ""},
    ),
]


@pytest.mark.parametrize(("data", "expected"), [case[1:] for case in WEBHOOKS], ids=[case[0] for case in WEBHOOKS])
def test_a_webhook_preview_renders_the_request(job, client, network, db_state, data, expected):
    # given
    action = JobActionFactory(job=job, type="webhook", name="Ping", data=data)
    before = db_state()

    # when
    response = client.post(preview_url(action), {"params": {"id": 42}}, format="json")

    # then
    assert response.status_code == 200, response.content
    headers = {name: value.replace("ACTION", str(action.pk)) for name, value in expected["headers"].items()}
    assert response.json() == {"type": "webhook", "preview": {**expected, "headers": headers}}
    assert db_state() == before
    assert_nothing_delivered(network)


def test_data_in_the_body_overrides_the_actions_without_saving_it(job, client, network, db_state, email_backend):
    # given
    action = email_action(job, to="ops@example.com", subject="Stored subject", body="Stored body")
    before = db_state()

    # when
    response = client.post(
        preview_url(action),
        {"data": {"subject": "Draft for {{ params.period }}", "cc": "cc@example.com"}, "params": {"period": "Q3"}},
        format="json",
    )

    # then
    assert response.status_code == 200, response.content
    preview = response.json()["preview"]
    assert (preview["to"], preview["cc"], preview["subject"], preview["body"]) == (
        ["ops@example.com"],
        ["cc@example.com"],
        "Draft for Q3",
        "Stored body",
    )
    assert db_state() == before
    assert JobAction.objects.get().data == {"to": "ops@example.com", "subject": "Stored subject", "body": "Stored body"}
    assert_nothing_delivered(network)


def test_an_empty_body_previews_the_stored_action(job, client, network):
    action = email_action(job, to="ops@example.com", subject="Hi {{ params.who|default:'all' }}")

    response = client.post(preview_url(action))

    assert response.status_code == 200, response.content
    assert response.json()["preview"]["subject"] == "Hi all"
    assert_nothing_delivered(network)


# (id, body, field named in details, text the message must contain)
BAD_PREVIEWS: list[tuple[str, dict[str, Any], str, str]] = [
    ("bad address", {"data": {"to": "nope"}}, "data", "'nope'"),
    ("bad template", {"data": {"subject": "{% if %}"}}, "data", "data.subject"),
    ("unknown data key", {"data": {"attachments": []}}, "data", "data.attachments: is not a known property"),
    ("a required key set to null", {"data": {"subject": None}}, "data", "data.subject"),
    ("data not an object", {"data": "x"}, "data", "data"),
    ("params not an object", {"params": ["a"]}, "params", "params"),
    ("unknown key", {"send": True}, "send", "send"),
]


@pytest.mark.parametrize(
    ("body", "field", "text"), [case[1:] for case in BAD_PREVIEWS], ids=[c[0] for c in BAD_PREVIEWS]
)
def test_overrides_are_validated(job, client, network, db_state, body, field, text):
    # given
    action = email_action(job, to="ops@example.com", subject="Stored")
    before = db_state()

    # when
    response = client.post(preview_url(action), body, format="json")

    # then
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert top_fields(error["details"]) == {field}
    assert text in error["message"]
    assert db_state() == before
    assert_nothing_delivered(network)


# (id, action type, data, params, the message)
RENDER_FAILURES: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    ("no recipient", "email", {"to": "{{ params.to }}", "subject": "x"}, {}, "The email has no recipient in 'to'."),
    (
        "a rendered bad address",
        "email",
        {"to": "{{ params.to }}", "subject": "x"},
        {"to": "not an address"},
        "'not an address' (to) is not a valid email address.",
    ),
    (
        "a rendered non-http url",
        "webhook",
        {"url": "{{ params.url }}"},
        {"url": "ftp://example.com/x"},
        "The rendered URL 'ftp://example.com/x' is not an http or https URL.",
    ),
    (
        "a library that is not the tenant's",
        "library",
        {"library": "5d2a9c3b-1e4f-4a6b-9c8d-7e6f5a4b3c21"},
        {},
        "Library '5d2a9c3b-1e4f-4a6b-9c8d-7e6f5a4b3c21' is not a library of the job's tenant.",
    ),
]


@pytest.mark.parametrize(
    ("kind", "data", "params", "message"),
    [case[1:] for case in RENDER_FAILURES],
    ids=[case[0] for case in RENDER_FAILURES],
)
def test_what_cannot_be_rendered_is_a_400_explaining_why(job, client, network, db_state, kind, data, params, message):
    # given
    action = JobActionFactory(job=job, type=kind, data=data)
    before = db_state()

    # when
    response = client.post(preview_url(action), {"params": params}, format="json")

    # then
    assert response.status_code == 400, response.content
    assert response.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": message,
        "details": {"data": [message]},
    }
    assert db_state() == before
    assert_nothing_delivered(network)


def test_previewing_an_unknown_action_is_a_404(job, client, network):
    response = client.post(f"/api/jobs/{job.pk}/actions/{job.pk}/_preview", {}, format="json")

    assert response.status_code == 404
    assert_nothing_delivered(network)


# --- Masks in an override stand for the stored values, as on a PUT ----------------------------------------

M = "••••"
SECRET_HOOK = {
    "url": "https://ops:pa55@hooks.example.com/in?token=t0k3n",
    "method": "POST",
    "headers": {"Authorization": "Bearer s3cret", "X-Team": "ops"},
    "body": "stored",
}
# The action as a GET shows it to a caller without job:edit, and as a form would send it back.
MASKED_HOOK = {
    "url": f"https://{M}@hooks.example.com/in?token={M}",
    "method": "POST",
    "headers": {"Authorization": M, "X-Team": M},
    "body": "stored",
}


def test_masks_in_the_override_preview_the_stored_values(job, client, network, db_state):
    # given
    action = JobActionFactory(job=job, type="webhook", name="Hook", data=SECRET_HOOK)
    before = db_state()

    # when: the masked data sent back with the body and one header changed
    data = {**MASKED_HOOK, "headers": {"Authorization": M, "X-Team": "finance"}, "body": "draft"}
    response = client.post(preview_url(action), {"data": data}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["preview"] == {
        "method": "POST",
        "url": SECRET_HOOK["url"],
        "headers": {
            "Authorization": "Bearer s3cret",
            "X-Team": "finance",
            "Idempotency-Key": f"{PREVIEW_RUN_ID}:{action.pk}",
        },
        "body": "draft",
    }
    assert db_state() == before
    assert_nothing_delivered(network)


def test_a_masked_header_name_matches_whatever_its_case(job, client, network):
    action = JobActionFactory(job=job, type="webhook", name="Hook", data=SECRET_HOOK)

    response = client.post(preview_url(action), {"data": {"headers": {"authorization": M}}}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["preview"]["headers"] == {
        "authorization": "Bearer s3cret",
        "Idempotency-Key": f"{PREVIEW_RUN_ID}:{action.pk}",
    }


# (id, data override, the start of the message)
MASKS_FOR_NOTHING = [
    (
        "a header never stored",
        {"headers": {"X-Signature": M}},
        f"data.headers.X-Signature: '{M}' stands for the stored value",
    ),
    (
        "a URL that is not the stored one",
        {"url": f"https://{M}@elsewhere.example.com/in?token={M}"},
        f"data.url: '{M}' stands for the stored URL's credentials",
    ),
]


@pytest.mark.parametrize(("data", "text"), [c[1:] for c in MASKS_FOR_NOTHING], ids=[c[0] for c in MASKS_FOR_NOTHING])
def test_a_mask_standing_for_nothing_is_a_400_naming_data(job, client, network, db_state, data, text):
    # given
    action = JobActionFactory(job=job, type="webhook", name="Hook", data=SECRET_HOOK)
    before = db_state()

    # when
    response = client.post(preview_url(action), {"data": data}, format="json")

    # then
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert list(error["details"]) == ["data"]
    assert error["message"].startswith(text)
    assert db_state() == before
    assert_nothing_delivered(network)
