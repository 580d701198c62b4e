"""Driver listings and job templates (§4): ``/api/job-*drivers``, ``/api/job-templates``, ``templateId``."""

from __future__ import annotations

from typing import Any

import pytest

from informer.api.exceptions import DomainError
from jobs import blueprints
from jobs.blueprints import BLUEPRINTS
from jobs.drivers import registry
from jobs.drivers.registry import (
    ACTION_DRIVERS,
    ATTACHMENT_DRIVERS,
    JOB_DRIVERS,
    action_driver,
    attachment_driver,
    job_driver,
)
from jobs.models import Job, JobAction, JobAttachment
from jobs.services import actions as action_services
from jobs.services import jobs as job_services
from library.models import Library
from tests.conftest import client_for
from tests.factories import JobFactory
from tests.jobs.api.test_actions import ERROR_KEYS, JobActionFactory, JobAttachmentFactory
from tests.library.factories import LibraryFactory

DATASET = "0b7e4c1e-9d8f-4f7b-8f54-2f3c1d9a6e01"

# (path, rel, registry, driver lookup)
LISTINGS: dict[str, tuple[str, str, dict[str, str], Any]] = {
    "job types": ("/api/job-drivers", "inf:job-driver", JOB_DRIVERS, job_driver),
    "actions": ("/api/job-action-drivers", "inf:job-action-driver", ACTION_DRIVERS, action_driver),
    "attachments": ("/api/job-attachment-drivers", "inf:job-attachment-driver", ATTACHMENT_DRIVERS, attachment_driver),
}


@pytest.fixture
def client(owner: Any) -> Any:
    return client_for(owner)


@pytest.fixture
def without_attachment_type(monkeypatch: pytest.MonkeyPatch) -> Any:
    """An installation that lacks one attachment type (every one is available here: withdraw one)."""

    def withdraw(attachment_type: str) -> None:
        monkeypatch.setattr(attachment_driver(attachment_type), "available", False)

    return withdraw


@pytest.fixture
def without_driver(monkeypatch: pytest.MonkeyPatch) -> Any:
    """An installation that lacks a job or action type it has here (withdraw it)."""

    def withdraw(lookup: Any, driver_id: str) -> None:
        monkeypatch.setattr(lookup(driver_id), "available", False)

    return withdraw


@pytest.fixture
def docs(owner: Any) -> Library:
    """A library of the owner's (tenant alpha) they may sync: ``alpha:docs``."""
    library: Library = LibraryFactory(owner=owner, name="Docs", slug="docs")
    return library


@pytest.mark.parametrize("listing", list(LISTINGS))
def test_a_driver_listing_shows_every_registered_driver(client, listing):
    # given
    path, rel, registry, lookup = LISTINGS[listing]

    # when
    response = client.get(path)

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["_links"] == {"self": {"href": f"http://testserver{path}"}}
    assert (body["start"], body["count"], body["total"]) == (0, len(registry), len(registry))
    items = body["_embedded"][rel]
    assert [item["id"] for item in items] == list(registry)
    for item in items:
        driver = lookup(item["id"])
        assert item == {
            "_links": {"self": {"href": f"http://testserver{path}/{item['id']}"}},
            "id": driver.id,
            "name": driver.name,
            "description": driver.description,
            "available": driver.available,
            "schema": driver.schema,
        }
        assert item["name"] and item["description"]
        assert item["schema"]["type"] == "object"


@pytest.mark.parametrize(
    ("path", "driver_id", "name"),
    [
        ("/api/job-drivers", "email", "Email"),
        ("/api/job-drivers", "api-call", "API call"),
        ("/api/job-action-drivers", "email", "Email"),
        ("/api/job-action-drivers", "webhook", "Webhook"),
        ("/api/job-attachment-drivers", "file", "File"),
        ("/api/job-attachment-drivers", "dataset", "Dataset export"),
    ],
)
def test_one_driver_by_id(client, path, driver_id, name):
    response = client.get(f"{path}/{driver_id}")

    assert response.status_code == 200
    item = response.json()
    assert (item["id"], item["name"]) == (driver_id, name)
    assert item["_links"] == {"self": {"href": f"http://testserver{path}/{driver_id}"}}
    assert set(item) == {"_links", "id", "name", "description", "available", "schema"}


def test_the_webhook_schema_tells_clients_what_data_takes(client):
    schema = client.get("/api/job-action-drivers/webhook").json()["schema"]

    assert schema["required"] == ["url"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"url", "method", "headers", "body", "timeoutSeconds", "expectStatus"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/job-drivers/fax",
        "/api/job-action-drivers/fax",
        "/api/job-attachment-drivers/fax",
        "/api/job-action-drivers/EMAIL",
        "/api/job-templates/nope",
    ],
)
def test_an_unknown_driver_or_template_is_a_404(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS


@pytest.mark.parametrize(
    "path",
    [
        "/api/job-drivers",
        "/api/job-drivers/email",
        "/api/job-action-drivers",
        "/api/job-action-drivers/email",
        "/api/job-attachment-drivers",
        "/api/job-attachment-drivers/file",
        "/api/job-templates",
        "/api/job-templates/weekly-report-email",
    ],
)
def test_anonymous_reads_are_401(api, db, path):
    response = api.get(path)

    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS


# --- Templates ------------------------------------------------------------------------------------------


def test_the_templates_listing_has_every_blueprint(client):
    # when
    response = client.get("/api/job-templates")

    # then
    assert response.status_code == 200
    body = response.json()
    items = body["_embedded"]["inf:job-template"]
    assert len(items) >= 5
    assert [item["id"] for item in items] == list(BLUEPRINTS)
    assert (body["count"], body["total"]) == (len(BLUEPRINTS), len(BLUEPRINTS))
    names = {item["name"] for item in items}
    assert {"Nightly dataset refresh", "Weekly report email", "Hourly library sync"} <= names
    for item in items:
        assert set(item) == {"_links", "id", "name", "description", "available", "job", "actions"}
        assert item["_links"] == {"self": {"href": f"http://testserver/api/job-templates/{item['id']}"}}
        assert item["job"]["type"] in JOB_DRIVERS
        assert all(action["type"] in ACTION_DRIVERS for action in item["actions"])


def test_one_template_by_id(client):
    response = client.get("/api/job-templates/weekly-report-email")

    assert response.status_code == 200
    item = response.json()
    assert (item["id"], item["name"], item["job"]["interval"]) == (
        "weekly-report-email",
        "Weekly report email",
        "0 8 * * mon",
    )
    assert [action["name"] for action in item["actions"]] == ["Send the report"]


# template id → (what the body must add, expected job fields, expected (action name, type, runCondition))
FROM_TEMPLATE: dict[str, tuple[dict[str, Any], dict[str, Any], list[tuple[str, str, Any]]]] = {
    "weekly-report-email": (
        {},
        {"type": "email", "name": "Weekly report", "interval": "0 8 * * mon", "data": {}},
        [("Send the report", "email", None)],
    ),
    "api-health-check": (
        {},
        {
            "type": "api-call",
            "interval": "*/5 * * * *",
            "misfirePolicy": "skip",
            "timeoutSeconds": 60,
            "data": {"url": "https://example.com/health", "method": "GET", "expectStatus": [200]},
        },
        [("Failure notice", "email", {"status": "failure"})],
    ),
    "nightly-dataset-refresh": (
        {"data": {"datasets": ["sales"]}},
        {
            "type": "dataset-refresh",
            "name": "Nightly dataset refresh",
            "interval": "0 2 * * *",
            "data": {"datasets": ["sales"]},
        },
        [("Failure notice", "email", {"status": "failure"})],
    ),
    "monthly-snapshot-cleanup": (
        {},
        {"type": "snapshot-cleanup", "interval": "0 3 1 * *", "data": {"datasets": "all", "keep": 30}},
        [],
    ),
    "hourly-library-sync": (
        {"data": {"library": "alpha:docs"}},
        {"type": "library-sync", "interval": "0 * * * *", "overlapPolicy": "skip", "data": {"library": "alpha:docs"}},
        [],
    ),
    "webhook-with-failure-notice": (
        {},
        {"type": "email", "name": "Daily webhook", "interval": "0 9 * * *"},
        [("Notify the endpoint", "webhook", None), ("Failure notice", "email", {"status": "failure"})],
    ),
    "on-demand-webhook": (
        {},
        {"type": "email", "name": "Webhook on demand", "interval": "", "nextRunAt": None},
        [("Notify the endpoint", "webhook", None)],
    ),
}


# template id → (what the body must add for its data to be valid, the job type withdrawn, as named)
UNAVAILABLE_TEMPLATES: dict[str, tuple[dict[str, Any], str]] = {
    "hourly-library-sync": ({"data": {"library": "alpha:docs"}}, "library-sync"),
}


def test_every_blueprint_has_a_creation_case():
    assert set(FROM_TEMPLATE) == set(BLUEPRINTS)
    assert set(UNAVAILABLE_TEMPLATES) <= set(BLUEPRINTS)


@pytest.mark.parametrize("template_id", list(FROM_TEMPLATE))
def test_a_job_is_created_from_a_template(client, owner, docs, template_id):
    # given
    extra, expected, actions = FROM_TEMPLATE[template_id]

    # when
    response = client.post("/api/jobs", {"templateId": template_id, **extra}, format="json")

    # then
    assert response.status_code == 201, response.content
    item = response.json()
    assert {key: item[key] for key in expected} == expected
    assert item["intervalType"] == BLUEPRINTS[template_id]["job"]["intervalType"]
    assert item["ownerId"] == owner.pk
    job = Job.objects.get()
    assert response["Location"] == f"http://testserver/api/jobs/{job.pk}"
    stored = list(JobAction.objects.filter(job=job).order_by("index").values_list("name", "type", "run_condition"))
    assert stored == actions
    assert [action.index for action in job.actions.order_by("index")] == list(range(len(actions)))
    embedded = item["_embedded"]["inf:job-action"]
    assert [(action["name"], action["type"], action["runCondition"]) for action in embedded] == actions
    template_actions = BLUEPRINTS[template_id]["actions"]
    assert [action["data"] for action in embedded] == [action["data"] for action in template_actions]


def test_the_bodys_fields_override_the_templates(client):
    # when
    response = client.post(
        "/api/jobs",
        {
            "templateId": "api-health-check",
            "name": "Billing API",
            "interval": "*/10 * * * *",
            "tags": ["ops"],
            "data": {"url": "https://billing.example.com/ping", "expectStatus": [200, 204]},
        },
        format="json",
    )

    # then
    assert response.status_code == 201, response.content
    item = response.json()
    assert (item["type"], item["name"], item["slug"], item["interval"], item["tags"]) == (
        "api-call",
        "Billing API",
        "billing-api",
        "*/10 * * * *",
        ["ops"],
    )
    # data is merged key by key: the template's method stays, the body's url and statuses win
    assert item["data"] == {"url": "https://billing.example.com/ping", "method": "GET", "expectStatus": [200, 204]}
    assert (item["timeoutSeconds"], item["misfirePolicy"]) == (60, "skip")
    assert [action["name"] for action in item["_embedded"]["inf:job-action"]] == ["Failure notice"]


def test_the_template_is_not_changed_by_a_creation(client):
    before = {key: value for key, value in BLUEPRINTS["api-health-check"]["job"].items()}

    client.post(
        "/api/jobs", {"templateId": "api-health-check", "data": {"url": "https://x.example.com"}}, format="json"
    )

    assert BLUEPRINTS["api-health-check"]["job"] == before
    assert before["data"] == {"url": "https://example.com/health", "method": "GET", "expectStatus": [200]}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"templateId": "nope"}, "templateId", "templateId: Unknown job template 'nope'."),
        ({"templateId": 7, "name": "x"}, "templateId", "templateId: Unknown job template '7'."),
        (
            {"templateId": "api-health-check", "data": {"method": "FETCH"}},
            "data",
            'data.method: "FETCH" is not one of: "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS".',
        ),
        ({"templateId": "weekly-report-email", "interval": "0 0 30 2 *"}, "interval", None),
        ({"templateId": "weekly-report-email", "bogus": True}, "bogus", "bogus: Unknown field 'bogus'."),
    ],
)
def test_a_bad_template_creation_is_a_400_and_creates_nothing(client, db_state, body, field, message):
    # given
    before = db_state()

    # when
    response = client.post("/api/jobs", body, format="json")

    # then
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert list(error["details"]) == [field]
    if message is not None:
        assert error["message"] == message
    assert (Job.objects.count(), JobAction.objects.count()) == (0, 0)
    assert db_state() == before


def test_a_slug_taken_when_creating_from_a_template_is_a_409_and_creates_nothing(client, db_state):
    # given
    assert (
        client.post("/api/jobs", {"templateId": "weekly-report-email", "slug": "weekly"}, format="json").status_code
        == 201
    )
    before = db_state()

    # when
    response = client.post("/api/jobs", {"templateId": "weekly-report-email", "slug": "weekly"}, format="json")

    # then
    assert response.status_code == 409
    assert (Job.objects.count(), JobAction.objects.count()) == (1, 1)
    assert db_state() == before


def test_anonymous_cannot_create_from_a_template(api, db, db_state):
    # given
    before = db_state()

    # when
    response = api.post("/api/jobs", {"templateId": "weekly-report-email"}, format="json")

    # then
    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS
    assert db_state() == before


# --- Availability ---------------------------------------------------------------------------------------

# What this installation can run: every registered driver (tests withdraw one to see an unavailable one).
AVAILABLE = {
    "/api/job-drivers": {
        "email": True,
        "dataset-refresh": True,
        "library-sync": True,
        "index-files": True,
        "api-call": True,
        "snapshot-cleanup": True,
    },
    "/api/job-action-drivers": {"email": True, "webhook": True, "dataset": True, "library": True},
    "/api/job-attachment-drivers": {"file": True, "dataset": True, "report": True},
}
TEMPLATES_AVAILABLE = {
    "nightly-dataset-refresh": True,
    "weekly-report-email": True,
    "hourly-library-sync": True,
    "api-health-check": True,
    "monthly-snapshot-cleanup": True,
    "webhook-with-failure-notice": True,
    "on-demand-webhook": True,
}


@pytest.mark.parametrize("path", list(AVAILABLE))
def test_every_driver_listing_and_detail_says_whether_it_is_available(client, path):
    # when
    response = client.get(path)

    # then
    rel = next(rel for listed, rel, _, _ in LISTINGS.values() if listed == path)
    listed = {item["id"]: item["available"] for item in response.json()["_embedded"][rel]}
    assert listed == AVAILABLE[path]
    for driver_id, available in AVAILABLE[path].items():
        assert client.get(f"{path}/{driver_id}").json()["available"] is available


def test_every_template_listing_and_detail_says_whether_it_is_available(client):
    # when
    items = client.get("/api/job-templates").json()["_embedded"]["inf:job-template"]

    # then
    assert {item["id"]: item["available"] for item in items} == TEMPLATES_AVAILABLE
    for template_id, available in TEMPLATES_AVAILABLE.items():
        assert client.get(f"/api/job-templates/{template_id}").json()["available"] is available


def test_a_template_is_unavailable_when_any_driver_it_uses_is(without_attachment_type, without_driver):
    # given: a job of a type this installation lacks, an email job with an action of a type it lacks, and one
    # whose attachment is
    without_attachment_type("report")
    without_driver(action_driver, "webhook")
    without_driver(job_driver, "api-call")
    template = {"job": {"type": "api-call"}, "actions": [{"type": "email"}]}
    with_action = {"job": {"type": "email"}, "actions": [{"type": "email"}, {"type": "webhook"}]}
    with_attachment = {"job": {"type": "email"}, "actions": [{"type": "email", "attachments": [{"type": "report"}]}]}

    # then
    assert blueprints.blueprint_available(template) is False
    assert blueprints.blueprint_unavailable_message("t", template) == (
        "The job template 't' is not available on this installation: it uses the job type 'api-call', which is not."
    )
    assert blueprints.blueprint_unavailable_message("t", with_action) == (
        "The job template 't' is not available on this installation: it uses the action type 'webhook', which is not."
    )
    assert blueprints.blueprint_available(with_attachment) is False
    assert blueprints.blueprint_available({"job": {"type": "email"}, "actions": [{"type": "email"}]}) is True


def test_registry_choices_for_forms():
    assert registry.choices("job") == [
        ("email", "Email"),
        ("dataset-refresh", "Dataset refresh"),
        ("library-sync", "Library sync"),
        ("index-files", "Index files"),
        ("api-call", "API call"),
        ("snapshot-cleanup", "Snapshot cleanup"),
    ]
    assert registry.choices("job", available_only=True) == [
        ("email", "Email"),
        ("dataset-refresh", "Dataset refresh"),
        ("library-sync", "Library sync"),
        ("index-files", "Index files"),
        ("api-call", "API call"),
        ("snapshot-cleanup", "Snapshot cleanup"),
    ]
    assert registry.choices("action", available_only=True) == [
        ("email", "Email"),
        ("webhook", "Webhook"),
        ("dataset", "Dataset operation"),
        ("library", "Library update"),
    ]
    assert registry.choices("attachment", available_only=True) == [
        ("file", "File"),
        ("dataset", "Dataset export"),
        ("report", "Report"),
    ]
    assert [key for key, _ in registry.choices("attachment")] == ["file", "dataset", "report"]


def assert_refused(response: Any, field: str, text: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert list(error["details"]) == [field]
    assert error["message"].startswith(f"{field}: ")
    assert text in error["message"]
    assert "not available on this installation" in error["message"]


@pytest.mark.parametrize("template_id", list(UNAVAILABLE_TEMPLATES))
def test_creating_from_an_unavailable_template_is_a_400_naming_template_id(
    client, db_state, docs, without_driver, template_id
):
    # given: a body that would otherwise be valid, on an installation without the template's job type
    extra, driver = UNAVAILABLE_TEMPLATES[template_id]
    without_driver(job_driver, driver)
    before = db_state()

    # when
    response = client.post("/api/jobs", {"templateId": template_id, **extra}, format="json")

    # then
    assert_refused(response, "templateId", f"it uses the job type '{driver}'")
    assert db_state() == before


# Every job type is available here: these are withdrawn for the tests below.
UNAVAILABLE_JOBS = {
    "api-call": {"url": "https://example.com/health"},
}


@pytest.mark.parametrize("job_type", list(UNAVAILABLE_JOBS))
def test_creating_a_job_of_an_unavailable_type_is_a_400_naming_type(client, db_state, without_driver, job_type):
    # given
    without_driver(job_driver, job_type)
    before = db_state()
    body = {"name": "Refresh", "type": job_type, "interval": "0 2 * * *", "data": UNAVAILABLE_JOBS[job_type]}

    # when
    response = client.post("/api/jobs", body, format="json")

    # then
    assert_refused(response, "type", f"The job type '{job_type}'")
    assert db_state() == before


@pytest.mark.parametrize("method", ["put", "patch"])
def test_changing_a_job_to_an_unavailable_type_is_a_400_naming_type(client, owner, db_state, without_driver, method):
    # given
    without_driver(job_driver, "api-call")
    job = JobFactory(owner=owner, type="email", data={})
    before = db_state()

    # when
    response = getattr(client, method)(
        f"/api/jobs/{job.pk}", {"type": "api-call", "data": UNAVAILABLE_JOBS["api-call"]}, format="json"
    )

    # then
    assert_refused(response, "type", "The job type 'api-call'")
    assert db_state() == before


def test_an_existing_job_of_an_unavailable_type_stays_readable_editable_and_deletable(client, owner, without_driver):
    # given: made before its type was withdrawn (or by a migration)
    job = JobFactory(owner=owner, type="api-call", data=UNAVAILABLE_JOBS["api-call"])
    without_driver(job_driver, "api-call")

    # when / then: read
    assert client.get(f"/api/jobs/{job.pk}").json()["type"] == "api-call"
    # a write that keeps its type (even naming it again, as a full PUT does) is accepted
    response = client.put(f"/api/jobs/{job.pk}", {"type": "api-call", "enabled": False}, format="json")
    assert response.status_code == 200, response.content
    assert Job.objects.get(pk=job.pk).enabled is False
    # and it can be moved to a type that is available
    response = client.patch(f"/api/jobs/{job.pk}", {"type": "email", "data": {}}, format="json")
    assert response.status_code == 200, response.content
    Job.objects.filter(pk=job.pk).update(type="api-call")
    assert client.delete(f"/api/jobs/{job.pk}").status_code == 204
    assert not Job.objects.filter(pk=job.pk).exists()


# Every action type is available here: these are withdrawn for the tests below.
UNAVAILABLE_ACTIONS = {
    "webhook": {"url": "https://example.com/hook"},
}


@pytest.mark.parametrize("action_type", list(UNAVAILABLE_ACTIONS))
def test_creating_an_action_of_an_unavailable_type_is_a_400_naming_type(
    client, owner, db_state, without_driver, action_type
):
    # given
    without_driver(action_driver, action_type)
    job = JobFactory(owner=owner)
    before = db_state()
    body = {"type": action_type, "name": "Step", "data": UNAVAILABLE_ACTIONS[action_type]}

    # when
    response = client.post(f"/api/jobs/{job.pk}/actions", body, format="json")

    # then
    assert_refused(response, "type", f"The action type '{action_type}'")
    assert db_state() == before


def test_changing_an_action_to_an_unavailable_type_is_a_400_naming_type(client, owner, db_state, without_driver):
    # given
    without_driver(action_driver, "webhook")
    action = JobActionFactory(job=JobFactory(owner=owner))
    before = db_state()

    # when
    response = client.put(
        f"/api/jobs/{action.job_id}/actions/{action.pk}",
        {"type": "webhook", "data": UNAVAILABLE_ACTIONS["webhook"]},
        format="json",
    )

    # then
    assert_refused(response, "type", "The action type 'webhook'")
    assert db_state() == before


def test_an_existing_action_of_an_unavailable_type_stays_editable_and_deletable(client, owner, without_driver):
    # given
    without_driver(action_driver, "webhook")
    action = JobActionFactory(job=JobFactory(owner=owner), type="webhook", data=UNAVAILABLE_ACTIONS["webhook"])
    url = f"/api/jobs/{action.job_id}/actions/{action.pk}"

    # when / then
    assert client.get(url).json()["type"] == "webhook"
    response = client.put(url, {"type": "webhook", "name": "Renamed", "enabled": False}, format="json")
    assert response.status_code == 200, response.content
    assert JobAction.objects.get(pk=action.pk).name == "Renamed"
    assert client.delete(url).status_code == 204
    assert not JobAction.objects.filter(pk=action.pk).exists()


@pytest.mark.parametrize(
    ("attachment_type", "data"),
    [
        ("dataset", {"alias": "sales", "format": "csv"}),
        ("report", {"alias": "sales", "template": "<p>{{ rows|length }}</p>", "format": "pdf"}),
    ],
)
def test_creating_an_attachment_of_an_unavailable_type_is_a_400_naming_type(
    client, owner, db_state, without_attachment_type, attachment_type, data
):
    # given
    without_attachment_type(attachment_type)
    action = JobActionFactory(job=JobFactory(owner=owner))
    before = db_state()

    # when
    response = client.post(
        f"/api/jobs/{action.job_id}/actions/{action.pk}/attachments",
        {"type": attachment_type, "name": "sales", "data": data},
        format="json",
    )

    # then
    assert_refused(response, "type", f"The attachment type '{attachment_type}'")
    assert db_state() == before


def test_an_existing_attachment_of_an_unavailable_type_stays_editable_and_deletable(
    client, owner, without_attachment_type
):
    # given
    without_attachment_type("dataset")
    action = JobActionFactory(job=JobFactory(owner=owner))
    attachment = JobAttachmentFactory(
        action=action, type="dataset", name="sales.csv", data={"alias": "sales", "format": "csv"}
    )
    url = f"/api/jobs/{action.job_id}/actions/{action.pk}/attachments/{attachment.pk}"

    # when / then
    response = client.put(url, {"type": "dataset", "name": "orders.csv"}, format="json")
    assert response.status_code == 200, response.content
    assert JobAttachment.objects.get(pk=attachment.pk).name == "orders.csv"
    assert client.delete(url).status_code == 204
    assert not JobAttachment.objects.filter(pk=attachment.pk).exists()


def test_the_services_refuse_unavailable_types_for_every_caller(owner, without_attachment_type, without_driver):
    # given: not only the API, also the admin and the commands go through these
    without_attachment_type("report")
    without_driver(action_driver, "webhook")
    without_driver(job_driver, "api-call")
    job = JobFactory(owner=owner)
    action = JobActionFactory(job=job)

    # then
    with pytest.raises(DomainError) as refused:
        job_services.job_create(user=owner, fields={"name": "x", "type": "api-call", "interval": "0 1 * * *"})
    assert refused.value.details == {"type": ["The job type 'api-call' is not available on this installation."]}
    with pytest.raises(DomainError):
        action_services.action_create(job=job, fields={"type": "webhook", "name": "d"})
    with pytest.raises(DomainError):
        action_services.attachment_create(action=action, fields={"type": "report", "name": "r"})
    assert (Job.objects.count(), JobAction.objects.count(), JobAttachment.objects.count()) == (1, 1, 0)
