"""The attachments collection of an action follows §2's list conventions; its default sort is ``createdAt``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobs.models import Job, JobAction, JobAttachment
from tests.conftest import client_for
from tests.jobs.api.test_actions import JobActionFactory, JobAttachmentFactory

ERROR_KEYS = {"statusCode", "error", "message", "details"}
BASE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def client(owner: Any) -> Any:
    return client_for(owner)


@pytest.fixture
def action(job: Job) -> JobAction:
    return JobActionFactory(job=job, name="Send")


@pytest.fixture
def attached(action: JobAction) -> list[JobAttachment]:
    """Four attachments added in an order that is not their name order."""
    return [
        JobAttachmentFactory(action=action, name=name, type=kind, created_at=BASE + timedelta(minutes=minute))
        for minute, (name, kind) in enumerate(
            [("summary.pdf", "report"), ("Appendix.csv", "dataset"), ("notes.txt", "file"), ("Budget.xlsx", "dataset")]
        )
    ]


def url(action: JobAction) -> str:
    return f"/api/jobs/{action.job_id}/actions/{action.pk}/attachments"


def listed(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["_embedded"]["inf:job-attachment"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["summary.pdf", "Appendix.csv", "notes.txt", "Budget.xlsx"]),
        ({"sort": "createdAt"}, ["summary.pdf", "Appendix.csv", "notes.txt", "Budget.xlsx"]),
        ({"sort": "-createdAt"}, ["Budget.xlsx", "notes.txt", "Appendix.csv", "summary.pdf"]),
        ({"sort": "name"}, ["Appendix.csv", "Budget.xlsx", "notes.txt", "summary.pdf"]),
        ({"sort": "-name"}, ["summary.pdf", "notes.txt", "Budget.xlsx", "Appendix.csv"]),
        ({"sort": "type,name"}, ["Appendix.csv", "Budget.xlsx", "notes.txt", "summary.pdf"]),
        ({"q": "T"}, ["notes.txt", "Budget.xlsx"]),
        ({"q": "APPENDIX"}, ["Appendix.csv"]),
    ],
)
def test_the_attachments_list_sorts_and_searches(client, action, attached, query, expected):
    assert listed(client.get(url(action), query)) == expected


def test_the_default_order_is_the_one_the_action_embeds(client, action, attached):
    listed_names = listed(client.get(url(action)))
    embedded = client.get(f"/api/jobs/{action.job_id}/actions/{action.pk}").json()["attachments"]

    assert listed_names == [item["name"] for item in embedded]


def test_the_attachments_list_pages_with_limit_and_start(client, action, attached):
    # when
    response = client.get(url(action), {"limit": 1, "start": 2})

    # then
    assert listed(response) == ["notes.txt"]
    body = response.json()
    assert (body["start"], body["count"], body["total"]) == (2, 1, 4)
    assert body["_links"]["next"]["href"] == f"http://testserver{url(action)}?limit=1&start=3"
    assert body["_links"]["prev"]["href"] == f"http://testserver{url(action)}?limit=1&start=1"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"sort": "unknown"}, "sort"),
        ({"sort": "file"}, "sort"),
        ({"limit": "x"}, "limit"),
        ({"start": "\uff11"}, "start"),
    ],
)
def test_a_bad_attachments_list_parameter_is_a_400_naming_it(client, action, attached, query, field):
    response = client.get(url(action), query)

    assert response.status_code == 400, response.content
    assert set(response.json()) == ERROR_KEYS
    assert list(response.json()["details"]) == [field]
