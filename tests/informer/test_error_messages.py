"""Error messages name their field once (§2): ``data.url: is required.``, never ``data: data: 'url' is…``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from informer.api.exceptions import validation_message
from tests.conftest import client_for
from tests.factories import JobFactory
from tests.jobs.api.test_actions import JobActionFactory

ERROR_KEYS = {"statusCode", "error", "message", "details"}
EMAIL = {"to": "ops@example.com", "subject": "Report", "body": "Hi"}
# "<field>: <field>…" at the start of a message: the prefix doubled.
DOUBLED = re.compile(r"^([\w.\[\]]+): \1\b")


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"name": ["This field is required."]}, "name: This field is required."),
        ({"data": ["data.url: is required."]}, "data.url: is required."),
        ({"data": ["data[0]: must be an object."]}, "data[0]: must be an object."),
        ({"data": ["data must be a JSON object."]}, "data must be a JSON object."),
        (
            {"endOn": ["endOn 2026-03-04 is before startOn 2026-03-05."]},
            "endOn 2026-03-04 is before startOn 2026-03-05.",
        ),
        # A field the message merely starts like is still named: "database…" is not "data".
        ({"data": ["database unreachable."]}, "data: database unreachable."),
        ({"startOn": ["startOnce is not a word."]}, "startOn: startOnce is not a word."),
        ({"data": ["data.url: is required."], "name": ["x"]}, "data.url: is required. (and 1 more field)"),
        ({"": ["The request is invalid."]}, "The request is invalid."),
    ],
)
def test_validation_message_names_the_field_once(details: dict[str, list[str]], message: str) -> None:
    assert validation_message(details) == message


@pytest.fixture
def client(owner: Any) -> Any:
    return client_for(owner)


JOB = {"type": "email", "name": "Report", "interval": "0 8 * * *"}
ACTION = {"type": "email", "name": "Mail", "data": EMAIL}
JOBS, ACTIONS, ATTACHMENTS = "/api/jobs", "/api/jobs/{job}/actions", "/api/jobs/{job}/actions/{action}/attachments"

# (id, path, body, the field in details, the exact message or None for "<field>: <detail>")
CASES: list[tuple[str, str, dict[str, Any], str, str | None]] = [
    ("job data not an object", JOBS, {**JOB, "data": [1]}, "data", "data must be a JSON object."),
    ("job data missing a property", JOBS, {**JOB, "type": "api-call", "data": {}}, "data", "data.url: is required."),
    (
        "job data of the wrong type",
        JOBS,
        {**JOB, "type": "api-call", "data": {"url": 5}},
        "data",
        "data.url: must be a string, not an integer.",
    ),
    (
        "empty cron interval",
        JOBS,
        {**JOB, "interval": "", "intervalType": "cron"},
        "interval",
        "interval is required for cron schedules, e.g. '0 9 * * 1-5'.",
    ),
    (
        "endOn before startOn",
        JOBS,
        {**JOB, "startOn": "2026-03-05", "endOn": "2026-03-04"},
        "endOn",
        "endOn 2026-03-04 is before startOn 2026-03-05.",
    ),
    (
        "dstPolicy not an object",
        JOBS,
        {**JOB, "dstPolicy": 5},
        "dstPolicy",
        'dstPolicy must be an object such as {"gap": "shift", "repeat": "first"}.',
    ),
    ("a plain field error keeps its prefix", JOBS, {**JOB, "name": ""}, "name", None),
    (
        "action data missing a property",
        ACTIONS,
        {**ACTION, "type": "webhook", "data": {"method": "POST"}},
        "data",
        "data.url: is required.",
    ),
    (
        "action data with an unknown property",
        ACTIONS,
        {**ACTION, "data": {**EMAIL, "colour": "red"}},
        "data",
        "data.colour: is not a known property; the known properties are: to, cc, bcc, replyTo, subject, body, format.",
    ),
    (
        "action data with a value not allowed",
        ACTIONS,
        {**ACTION, "data": {**EMAIL, "format": "pdf"}},
        "data",
        'data.format: "pdf" is not one of: "text", "html".',
    ),
    (
        "action run condition",
        ACTIONS,
        {**ACTION, "runCondition": {"status": "maybe"}},
        "runCondition",
        "runCondition.status: invalid status 'maybe'; expected 'success', 'failure', 'any'",
    ),
    (
        "attachment data missing a property",
        ATTACHMENTS,
        {"type": "dataset", "name": "a.csv", "data": {}},
        "data",
        "data.alias: is required.",
    ),
]


@pytest.mark.parametrize(("path", "body", "field", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_message_names_its_field_once_and_nothing_is_written(
    client: Any, owner: Any, db_state: Any, path: str, body: dict[str, Any], field: str, message: str | None
) -> None:
    # given
    job = JobFactory(owner=owner, name="Nightly", slug="nightly")
    action = JobActionFactory(job=job)
    before = db_state()

    # when
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        response = client.post(path.format(job=job.pk, action=action.pk), body, format="json")

    # then
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert list(error["details"]) == [field]
    assert not DOUBLED.match(error["message"]), error["message"]
    if message is None:
        assert error["message"] == f"{field}: {error['details'][field][0]}"
    else:
        assert error["message"] == message
        assert error["details"][field][0] == message
    assert db_state() == before


@pytest.mark.parametrize(
    ("path", "field"),
    [("/api/jobs?sort=bogus", "sort"), ("/api/jobs?limit=x", "limit"), ("/api/jobs?type=fax", "type")],
)
def test_query_parameter_messages_name_the_parameter_once(client: Any, path: str, field: str) -> None:
    response = client.get(path)

    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith(f"{field}: ")
    assert not DOUBLED.match(response.json()["message"])
