"""The admin's JSON fields are held to the API's depth limit: a deep value is an error on its field, not a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils.html import escape

from jobs.services import actions as action_services
from jobs.services import shares as share_services
from tests.factories import JobFactory
from tests.informer.admin.pages import form_data, logged_in, model_permissions, staff
from tests.jobs.admin.test_jobs import errors_of

JOB_EDITOR = [*model_permissions("jobs", "job", "jobaction", "jobattachment"), "jobs.run_job"]
DEEP = "[" * 1000 + "]" * 1000  # Python's decoder recurses once per level: this raised RecursionError
DEEPER = '{"a": ' * 100_000 + "1" + "}" * 100_000
TOO_DEEP = "The JSON is nested more than 64 levels deep."


@pytest.fixture
def editor(tenant: Any) -> Any:
    return staff(tenant, *JOB_EDITOR, username="editor")


@pytest.fixture
def shared_job(owner: Any, editor: Any) -> Any:
    job = JobFactory(owner=owner, name="Nightly")
    share_services.share_set(job=job, principal=editor, level=2)
    return job


@pytest.mark.parametrize("deep", [DEEP, DEEPER], ids=["1000 deep", "100000 deep"])
@pytest.mark.parametrize("field", ["data", "dst_policy"])
def test_a_deep_job_field_is_an_error_on_it_and_nothing_is_saved(shared_job, editor, db_state, field, deep):
    # given
    client = logged_in(editor)
    url = f"/admin/jobs/job/{shared_job.pk}/change/"
    data = form_data(client.get(url))
    before = db_state()

    # when
    response = client.post(url, {**data, field: deep, "name": "Renamed"})

    # then
    assert errors_of(response)[field] == [TOO_DEEP]
    assert escape(deep) in response.content.decode()  # shown back as it was sent
    assert db_state() == before


def test_a_deep_job_field_is_refused_on_the_add_page_too(editor, db_state):
    client = logged_in(editor)
    data = form_data(client.get("/admin/jobs/job/add/"))
    before = db_state()

    response = client.post(
        "/admin/jobs/job/add/", {**data, "type": "email", "name": "New", "interval": "0 8 * * *", "data": DEEP}
    )

    assert errors_of(response)["data"] == [TOO_DEEP]
    assert db_state() == before


@pytest.mark.parametrize("field", ["data", "run_condition"])
def test_a_deep_action_field_is_an_error_on_it(shared_job, editor, db_state, field):
    # given
    action = action_services.action_create(
        job=shared_job, fields={"name": "Hook", "type": "webhook", "data": {"url": "https://example.com/hook"}}
    )
    client = logged_in(editor)
    url = f"/admin/jobs/jobaction/{action.pk}/change/"
    data = form_data(client.get(url))
    before = db_state()

    # when
    response = client.post(url, {**data, field: DEEP})

    # then
    assert errors_of(response)[field] == [TOO_DEEP]
    assert db_state() == before


def test_a_deep_inline_action_on_the_job_page_is_an_error_on_its_row(shared_job, editor, db_state):
    # given
    action_services.action_create(
        job=shared_job, fields={"name": "Hook", "type": "webhook", "data": {"url": "https://example.com/hook"}}
    )
    client = logged_in(editor)
    url = f"/admin/jobs/job/{shared_job.pk}/change/"
    data = form_data(client.get(url))
    before = db_state()

    # when
    response = client.post(url, {**data, "actions-0-data": DEEP, "actions-0-run_condition": DEEP})

    # then
    errors = errors_of(response)
    assert (errors["actions-0-data"], errors["actions-0-run_condition"]) == ([TOO_DEEP], [TOO_DEEP])
    assert db_state() == before


def test_a_deep_attachment_is_an_error_on_its_row(shared_job, editor, db_state):
    # given
    action = action_services.action_create(
        job=shared_job, fields={"name": "Mail", "type": "email", "data": {"to": "a@example.com", "subject": "Hi"}}
    )
    client = logged_in(editor)
    url = f"/admin/jobs/jobaction/{action.pk}/change/"
    data = form_data(client.get(url))
    before = db_state()

    # when
    response = client.post(
        url,
        {
            **data,
            "attachments-TOTAL_FORMS": "1",
            "attachments-0-name": "report",
            "attachments-0-type": "file",
            "attachments-0-data": DEEP,
        },
    )

    # then
    assert errors_of(response)["attachments-0-data"] == [TOO_DEEP]
    assert db_state() == before


def test_json_at_the_limit_is_still_accepted(shared_job, editor, settings):
    # given: a limit of 3 levels, and a value of exactly 3 (an object, a list, an object)
    settings.INFORMER_JSON_MAX_DEPTH = 3
    client = logged_in(editor)
    url = f"/admin/jobs/job/{shared_job.pk}/change/"
    data = form_data(client.get(url))
    at_limit = json.dumps({"gap": "skip", "notes": [{"x": 1}]})

    # when
    response = client.post(url, {**data, "data": at_limit})

    # then: past the depth check, the API's own validation speaks (email data has no such keys)
    assert TOO_DEEP.replace("64", "3") not in " ".join(errors_of(response).get("data", []))
    assert errors_of(response)["data"]
