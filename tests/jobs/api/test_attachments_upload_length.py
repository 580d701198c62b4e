"""The upload route reads Content-Length as ASCII digits: anything else is a 400 naming it, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.models import Job, JobAction, JobAttachment
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.jobs.api.test_actions import ERROR_KEYS, JobActionFactory, JobAttachmentFactory, stored_files


@pytest.fixture
def attachment(job: Job) -> JobAttachment:
    action: JobAction = JobActionFactory(job=job, name="Send")
    return JobAttachmentFactory(action=action, name="report.csv")


def contents_url(attachment: JobAttachment) -> str:
    return (
        f"/api/jobs/{attachment.action.job_id}/actions/{attachment.action_id}/attachments/{attachment.pk}"
        "/action-attachment-file-contents"
    )


def put(owner: Any, attachment: JobAttachment, content_length: str, body: bytes = b"a,b\n") -> Any:
    return client_for(owner).put(contents_url(attachment), body, content_type="text/csv", CONTENT_LENGTH=content_length)


@pytest.mark.parametrize(
    "content_length",
    [
        "\u00b2",  # superscript two: a Latin-1 byte, so a WSGI server hands it on as is
        "\u0661\u0662",  # Arabic-Indic 12, which int() reads as 12
        "\uff14",  # fullwidth 4
        "-4",
        "+4",
        "4.0",
        " 4",
        "4 bytes",
    ],
)
def test_a_content_length_not_in_ascii_digits_is_a_400_naming_it(owner, attachment, media, db_state, content_length):
    # given
    before = db_state()

    # when
    response = put(owner, attachment, content_length)

    # then
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert list(body["details"]) == ["Content-Length"]
    assert "Content-Length" in body["message"]
    assert db_state() == before
    assert stored_files(media) == {}


@pytest.mark.parametrize("content_length", ["9" * 30, "9" * 5000])
def test_a_content_length_of_many_digits_is_over_the_limit(owner, attachment, media, db_state, content_length):
    before = db_state()

    response = put(owner, attachment, content_length)

    assert response.status_code == 413, response.content
    assert list(response.json()["details"]) == ["file"]
    assert db_state() == before


def test_leading_zeros_are_still_a_length(owner, attachment, media):
    response = put(owner, attachment, "0004")

    assert response.status_code == 200, response.content
    attachment.refresh_from_db()
    assert attachment.size == 4


def test_a_viewer_learns_nothing_from_a_bad_length(attachment, tenant, db_state):
    stranger = UserFactory(username="stranger", tenant=tenant)
    before = db_state()

    response = put(stranger, attachment, "\u00b2")

    assert response.status_code == 404, response.content
    assert db_state() == before
