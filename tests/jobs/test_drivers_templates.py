"""Driver listings and job templates (§4): ``/api/job-*drivers``, ``/api/job-templates``, ``templateId``."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.blueprints import BLUEPRINTS
from jobs.drivers.registry import (
    ACTION_DRIVERS,
    ATTACHMENT_DRIVERS,
    JOB_DRIVERS,
    action_driver,
    attachment_driver,
    job_driver,
)
from jobs.models import Job, JobAction
from tests.conftest import client_for
from tests.jobs.test_api_actions import ERROR_KEYS

DATASET = "0b7e4c1e-9d8f-4f7b-8f54-2f3c1d9a6e01"
LIBRARY = "5d2a9c3b-1e4f-4a6b-9c8d-7e6f5a4b3c21"

# (path, rel, registry, driver lookup)
LISTINGS: dict[str, tuple[str, str, dict[str, str], Any]] = {
    "job types": ("/api/job-drivers", "inf:job-driver", JOB_DRIVERS, job_driver),
    "actions": ("/api/job-action-drivers", "inf:job-action-driver", ACTION_DRIVERS, action_driver),
    "attachments": ("/api/job-attachment-drivers", "inf:job-attachment-driver", ATTACHMENT_DRIVERS, attachment_driver),
}


@pytest.fixture
def client(owner: Any) -> Any:
    return client_for(owner)


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
    assert set(item) == {"_links", "id", "name", "description", "schema"}


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
        assert set(item) == {"_links", "id", "name", "description", "job", "actions"}
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
    "nightly-dataset-refresh": (
        {"data": {"datasetId": DATASET}},
        {
            "type": "dataset-refresh",
            "name": "Nightly dataset refresh",
            "interval": "0 2 * * *",
            "maxAttempts": 3,
            "data": {"datasetId": DATASET},
        },
        [("Failure notice", "email", {"status": "failure"})],
    ),
    "weekly-report-email": (
        {},
        {"type": "email", "name": "Weekly report", "interval": "0 8 * * mon", "data": {}},
        [("Send the report", "email", None)],
    ),
    "hourly-library-sync": (
        {"data": {"libraryId": LIBRARY}},
        {"type": "library-sync", "interval": "0 * * * *", "overlapPolicy": "skip", "data": {"libraryId": LIBRARY}},
        [],
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
    "monthly-snapshot-cleanup": (
        {"data": {"datasetId": DATASET}},
        {"type": "snapshot-cleanup", "interval": "0 3 1 * *", "data": {"keepCount": 30, "datasetId": DATASET}},
        [],
    ),
    "webhook-with-failure-notice": (
        {},
        {"type": "email", "name": "Daily webhook", "interval": "0 9 * * *"},
        [("Notify the endpoint", "webhook", None), ("Failure notice", "email", {"status": "failure"})],
    ),
}


def test_every_blueprint_has_a_creation_case():
    assert set(FROM_TEMPLATE) == set(BLUEPRINTS)


@pytest.mark.parametrize("template_id", list(FROM_TEMPLATE))
def test_a_job_is_created_from_a_template(client, owner, template_id):
    # given
    extra, expected, actions = FROM_TEMPLATE[template_id]

    # when
    response = client.post("/api/jobs", {"templateId": template_id, **extra}, format="json")

    # then
    assert response.status_code == 201, response.content
    item = response.json()
    assert {key: item[key] for key in expected} == expected
    assert item["intervalType"] == "cron"
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
            {"templateId": "nightly-dataset-refresh"},
            "data",
            "data: data: 'datasetId' is a required property",
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
