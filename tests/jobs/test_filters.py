"""Choice filters of the jobs list: an unknown value is a 400 naming the parameter and the values there are."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.drivers.registry import JOB_DRIVERS
from jobs.models import IntervalType
from tests.conftest import client_for
from tests.factories import JobFactory

JOB_TYPES = ", ".join(JOB_DRIVERS)
INTERVALS = ", ".join(IntervalType.values)


@pytest.fixture
def client(owner: Any) -> Any:
    JobFactory(owner=owner, name="Mail", type="email")
    JobFactory(owner=owner, name="Ping", type="api-call", data={"url": "https://example.com/health"})
    return client_for(owner)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"type": "unknown"}, "type", f"Unknown job type 'unknown'; known types are: {JOB_TYPES}."),
        ({"type": "EMAIL"}, "type", f"Unknown job type 'EMAIL'; known types are: {JOB_TYPES}."),
        (
            {"intervalType": "weekly"},
            "intervalType",
            f"Unknown interval type 'weekly'; known types are: {INTERVALS}.",
        ),
    ],
)
def test_an_unknown_choice_is_a_400_naming_the_parameter(
    client: Any, query: dict[str, str], field: str, message: str
) -> None:
    response = client.get("/api/jobs", query)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["details"] == {field: [message]}
    assert body["message"] == f"{field}: {message}"


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"type": "email"}, ["Mail"]),
        ({"type": "api-call"}, ["Ping"]),
        ({"type": "library-sync"}, []),  # a known type no job has: an empty page, not an error
        ({"type": ""}, ["Mail", "Ping"]),
        ({"intervalType": "cron"}, ["Mail", "Ping"]),
        ({"intervalType": "once"}, []),
    ],
)
def test_a_known_choice_filters(client: Any, query: dict[str, str], names: list[str]) -> None:
    response = client.get("/api/jobs", query)

    assert response.status_code == 200, response.content
    assert [item["name"] for item in response.json()["_embedded"]["inf:job"]] == names
