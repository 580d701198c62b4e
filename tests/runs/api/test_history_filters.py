"""Choice filters of a job's history: an unknown status or trigger is a 400 naming it and the values there are."""

from __future__ import annotations

from typing import Any

import pytest

from runs.models import RunStatus, Trigger
from tests.conftest import client_for
from tests.factories import JobFactory
from tests.runs.conftest import RunFactory

STATUSES = ", ".join(RunStatus.values)
TRIGGERS = ", ".join(Trigger.values)


@pytest.fixture
def history(owner: Any) -> str:
    job = JobFactory(owner=owner)
    RunFactory(job=job, status=RunStatus.SUCCEEDED, trigger=Trigger.SCHEDULE)
    RunFactory(job=job, status=RunStatus.FAILED, trigger=Trigger.MANUAL)
    return f"/api/jobs/{job.pk}/history"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"status": "done"}, "status", f"Unknown run status 'done'; known statuses are: {STATUSES}."),
        ({"status": ["failed", "oops"]}, "status", f"Unknown run status 'oops'; known statuses are: {STATUSES}."),
        ({"trigger": "cron"}, "trigger", f"Unknown trigger 'cron'; known triggers are: {TRIGGERS}."),
    ],
)
def test_an_unknown_choice_is_a_400_naming_the_parameter(
    owner: Any, history: str, query: dict[str, Any], field: str, message: str
) -> None:
    response = client_for(owner).get(history, query)

    assert response.status_code == 400, response.content
    assert response.json()["details"] == {field: [message]}
    assert response.json()["message"] == f"{field}: {message}"


@pytest.mark.parametrize(
    ("query", "statuses"),
    [
        ({"status": "failed"}, ["failed"]),
        ({"status": ["failed", "succeeded"]}, ["failed", "succeeded"]),
        ({"trigger": "schedule"}, ["succeeded"]),
        ({"status": "queued"}, []),
    ],
)
def test_a_known_choice_filters(owner: Any, history: str, query: dict[str, Any], statuses: list[str]) -> None:
    response = client_for(owner).get(history, {**query, "sort": "status"})

    assert response.status_code == 200, response.content
    assert [item["status"] for item in response.json()["_embedded"]["inf:job-history"]] == statuses
