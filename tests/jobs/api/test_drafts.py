"""Drafts (§7): ``_edit`` makes a deep copy, ordinary routes edit it, ``_commit`` copies it back atomically."""

from __future__ import annotations

import hashlib
import importlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import connection

from jobs.models import Job, JobAction, JobAttachment, JobTag, JobUserObjectPermission
from jobs.services import drafts as draft_services
from jobs.services import jobs as job_services
from jobs.services import shares as share_services
from runs import scheduler
from runs import services as run_services
from runs.executor import Execution, _execute_steps, execute_run
from runs.models import Run, RunStatus
from tests.conftest import ROLES, Roles, client_for
from tests.factories import JobFactory, UserFactory, tag
from tests.jobs.api.test_actions import (
    EMAIL_DATA,
    ERROR_KEYS,
    JobActionFactory,
    JobAttachmentFactory,
    expect,
    stored_files,
    upload,
)

T0 = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
PDF = b"%PDF-1.7\n" + bytes(range(128)) + b"\n%%EOF\n"


@pytest.fixture
def job(owner: Any, media: Path) -> Job:
    """A job with tags, two actions and two attachments (one with an uploaded file)."""
    job = tag(
        JobFactory(
            owner=owner,
            name="Nightly",
            slug="nightly",
            description="Sends the report",
            interval="0 8 * * *",
            data={},
        ),
        "ops",
        "daily",
    )
    send = JobActionFactory(
        job=job,
        name="Send",
        data={"to": "ops@example.com", "subject": "Report for {{ job.name }}"},
        run_condition={"status": "success"},
    )
    upload(JobAttachmentFactory(action=send, name="report.pdf"), PDF, "application/pdf")
    JobAttachmentFactory(action=send, type="dataset", name="sales.csv", data={"dataset": "sales", "format": "csv"})
    JobActionFactory(
        job=job, type="webhook", name="Ping", enabled=False, data={"url": "https://example.com/hook", "method": "PUT"}
    )
    return job


@pytest.fixture
def client(owner: Any) -> Any:
    return client_for(owner)


def draft_of(job: Job) -> Job | None:
    return Job.objects.filter(editing_of=job).first()


def content(job: Job) -> dict[str, Any]:
    """What a draft copies and a commit copies back: fields, tags, actions, attachments and file bytes."""
    job = Job.objects.get(pk=job.pk)
    actions = []
    for action in JobAction.objects.filter(job=job).order_by("index"):
        attachments = [
            {
                "type": attachment.type,
                "name": attachment.name,
                "data": attachment.data,
                "contentType": attachment.content_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
                "bytes": attachment.file.open("rb").read() if attachment.file else None,
            }
            for attachment in JobAttachment.objects.filter(action=action).order_by("created_at")
        ]
        actions.append(
            {
                "type": action.type,
                "name": action.name,
                "index": action.index,
                "enabled": action.enabled,
                "data": action.data,
                "runCondition": action.run_condition,
                "attachments": attachments,
            }
        )
    return {
        "fields": {name: getattr(job, name) for name in draft_services.COPIED_FIELDS},
        "tags": sorted(JobTag.objects.filter(job=job).values_list("name", flat=True)),
        "actions": actions,
    }


def rows_of(job: Job) -> dict[str, Any]:
    """Every stored row of ``job`` and of what hangs from it, to prove it did not change."""
    return {
        "job": Job.objects.filter(pk=job.pk).values().get(),
        "tags": list(JobTag.objects.filter(job=job).order_by("name").values()),
        "actions": list(JobAction.objects.filter(job=job).order_by("index").values()),
        "attachments": list(JobAttachment.objects.filter(action__job=job).order_by("created_at").values()),
        "permissions": sorted(
            JobUserObjectPermission.objects.filter(content_object=job).values_list("user_id", "permission_id")
        ),
        "runs": list(Run.objects.filter(job=job).order_by("pk").values()),
    }


def make_draft(job: Job) -> Job:
    draft, _ = draft_services.draft_edit(job=job)
    return draft


# --- _edit ----------------------------------------------------------------------------------------------


def test_edit_creates_a_deep_copy_with_its_own_id(job, client, media):
    # given
    original_files = stored_files(media)

    # when
    response = client.post(f"/api/jobs/{job.pk}/_edit")

    # then
    assert response.status_code == 201, response.content
    draft = draft_of(job)
    item = response.json()
    assert response["Location"] == f"http://testserver/api/jobs/{draft.pk}"
    assert (item["id"], item["editingId"], item["name"], item["slug"], item["nextRunAt"]) == (
        str(draft.pk),
        str(job.pk),
        "Nightly",
        "nightly",
        None,
    )
    assert item["tags"] == ["daily", "ops"]
    assert content(draft) == content(job)
    # its own rows: no id is shared with the original
    original_ids = set(JobAction.objects.filter(job=job).values_list("pk", flat=True))
    draft_ids = set(JobAction.objects.filter(job=draft).values_list("pk", flat=True))
    assert len(draft_ids) == 2 and not original_ids & draft_ids
    assert [action["id"] for action in item["_embedded"]["inf:job-action"]] == [
        str(pk) for pk in JobAction.objects.filter(job=draft).order_by("index").values_list("pk", flat=True)
    ]
    # its own file: same bytes, another path
    original_file = JobAttachment.objects.get(action__job=job, type="file")
    draft_file = JobAttachment.objects.get(action__job=draft, type="file")
    assert draft_file.pk != original_file.pk
    assert draft_file.file.name == f"attachments/{draft_file.pk}/report.pdf"
    assert stored_files(media) == {**original_files, draft_file.file.name: PDF}
    # a draft holds no permissions of its own and never fires
    assert not JobUserObjectPermission.objects.filter(content_object=draft).exists()
    assert (draft.next_run_at, draft.owner_id, draft.tenant_id) == (None, job.owner_id, job.tenant_id)


@pytest.mark.parametrize("through", ["original", "draft"])
def test_a_second_edit_returns_the_same_draft(job, client, media, db_state, through):
    # given
    draft = make_draft(job)
    before, files = db_state(), stored_files(media)

    # when
    key = job.pk if through == "original" else draft.pk
    response = client.post(f"/api/jobs/{key}/_edit")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(draft.pk)
    assert "Location" not in response
    assert db_state() == before
    assert stored_files(media) == files


@pytest.mark.parametrize("who", ["owner", "superuser"])
def test_the_draft_is_not_listed(job, client, tenant, who):
    # given
    make_draft(job)
    if who == "superuser":
        client = client_for(UserFactory(username="root", tenant=tenant, is_superuser=True, is_staff=True))

    # when
    listed = client.get("/api/jobs").json()
    flat = client.get("/api/jobs-list").json()
    searched = client.get("/api/jobs", {"q": "Nightly"}).json()

    # then
    assert [item["id"] for item in listed["_embedded"]["inf:job"]] == [str(job.pk)]
    assert listed["total"] == 1
    assert [item["id"] for item in flat] == [str(job.pk)]
    assert [item["id"] for item in searched["_embedded"]["inf:job"]] == [str(job.pk)]


def test_the_natural_id_names_the_original_not_the_draft(job, client):
    make_draft(job)

    response = client.get("/api/jobs/alpha:nightly")

    assert response.status_code == 200
    assert (response.json()["id"], response.json()["editingId"]) == (str(job.pk), None)


@pytest.mark.parametrize("through", ["original", "draft"])
def test_get_draft_returns_it(job, client, through):
    # given
    draft = make_draft(job)

    # when
    key = job.pk if through == "original" else draft.pk
    response = client.get(f"/api/jobs/{key}/draft")

    # then
    assert response.status_code == 200
    item = response.json()
    assert (item["id"], item["editingId"]) == (str(draft.pk), str(job.pk))
    assert [action["name"] for action in item["_embedded"]["inf:job-action"]] == ["Send", "Ping"]


def test_get_draft_without_one_is_a_404(job, client):
    response = client.get(f"/api/jobs/{job.pk}/draft")

    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS


# --- Editing the draft ----------------------------------------------------------------------------------


def test_edits_through_the_ordinary_routes_do_not_touch_the_original(job, client, media):
    # given
    draft = make_draft(job)
    before, original_files = rows_of(job), files_of(job, media)
    send, ping = JobAction.objects.filter(job=draft).order_by("index")
    draft_file = JobAttachment.objects.get(action=send, type="file")

    # when
    responses = [
        client.put(
            f"/api/jobs/{draft.pk}", {"name": "Nightly v2", "interval": "30 9 * * *", "tags": ["v2"]}, format="json"
        ),
        client.put(
            f"/api/jobs/{draft.pk}/actions/{send.pk}",
            {"data": {"to": "new@example.com", "subject": "v2"}},
            format="json",
        ),
        client.delete(f"/api/jobs/{draft.pk}/actions/{ping.pk}"),
        client.post(
            f"/api/jobs/{draft.pk}/actions",
            {"type": "email", "name": "Notice", "index": 0, "data": {"to": "a@example.com", "subject": "x"}},
            format="json",
        ),
        client.put(
            f"/api/jobs/{draft.pk}/actions/{send.pk}/attachments/{draft_file.pk}/action-attachment-file-contents",
            b"new bytes",
            content_type="application/pdf",
        ),
        client.post(
            f"/api/jobs/{draft.pk}/actions/{send.pk}/attachments", {"type": "file", "name": "extra.txt"}, format="json"
        ),
    ]

    # then
    assert [response.status_code for response in responses] == [200, 200, 204, 201, 200, 201]
    assert rows_of(job) == before
    assert files_of(job, media) == original_files == {f"attachments/{original_file_id(job)}/report.pdf": PDF}
    draft.refresh_from_db()
    assert (draft.name, draft.interval, draft.next_run_at, draft.tags) == ("Nightly v2", "30 9 * * *", None, ["v2"])
    assert [action.name for action in JobAction.objects.filter(job=draft).order_by("index")] == ["Notice", "Send"]


def action_ids(job: Job) -> dict[str, str]:
    return {name: str(pk) for name, pk in JobAction.objects.filter(job=job).values_list("name", "pk")}


def attachment_ids(job: Job) -> set[str]:
    return {str(pk) for pk in JobAttachment.objects.filter(action__job=job).values_list("pk", flat=True)}


def files_of(job: Job, media: Path) -> dict[str, bytes]:
    """The stored files under the job's attachments' directories."""
    ids = attachment_ids(job)
    return {name: data for name, data in stored_files(media).items() if name.split("/")[1] in ids}


def original_file_id(job: Job) -> str:
    return str(JobAttachment.objects.get(action__job=job, type="file").pk)


def test_a_draft_cannot_be_run(job, client, db_state):
    # given
    draft = make_draft(job)
    before = db_state()

    # when
    response = client.post(f"/api/jobs/{draft.pk}", {}, format="json")

    # then
    assert response.status_code == 409
    assert db_state() == before


# --- _commit --------------------------------------------------------------------------------------------


@pytest.fixture
def edited_draft(job: Job, client: Any, django_capture_on_commit_callbacks: Any) -> Job:
    """A draft whose every part differs from the original: fields, tags, actions, attachments and files."""
    draft = make_draft(job)
    send, ping = JobAction.objects.filter(job=draft).order_by("index")
    draft_file = JobAttachment.objects.get(action=send, type="file")
    with django_capture_on_commit_callbacks(execute=True):
        edits = draft_edits(client, draft, send, ping, draft_file)
    assert [response.status_code for response in edits] == [200, 200, 201, 200]
    return draft


def draft_edits(client: Any, draft: Job, send: JobAction, ping: JobAction, draft_file: JobAttachment) -> list[Any]:
    return [
        client.put(
            f"/api/jobs/{draft.pk}",
            {"name": "Nightly v2", "description": "Sends it twice", "interval": "30 9 * * *", "tags": ["v2", "ops"]},
            format="json",
        ),
        client.put(f"/api/jobs/{draft.pk}/actions/{ping.pk}", {"index": 0, "enabled": True}, format="json"),
        client.post(
            f"/api/jobs/{draft.pk}/actions",
            {
                "type": "email",
                "name": "Failure notice",
                "data": {"to": "oncall@example.com", "subject": "{{ job.name }} failed"},
                "runCondition": {"status": "failure"},
            },
            format="json",
        ),
        client.put(
            f"/api/jobs/{draft.pk}/actions/{send.pk}/attachments/{draft_file.pk}/action-attachment-file-contents",
            b"version two",
            content_type="text/plain",
        ),
    ]


@pytest.mark.parametrize("through", ["original", "draft"])
def test_commit_copies_the_draft_onto_the_original(
    job, edited_draft, client, media, owner, tenant, time_machine, django_capture_on_commit_callbacks, through
):
    # given
    time_machine.move_to(T0, tick=False)
    viewer = UserFactory(username="viewer", tenant=tenant)
    share_services.share_set(job=job, principal=viewer, level=1)
    history = Run.objects.create(job=job, tenant=tenant, owner_id=owner.pk, trigger="manual", status="succeeded")
    permissions = rows_of(job)["permissions"]
    expected = content(edited_draft)
    original_actions = action_ids(job)
    original_attachments = attachment_ids(job)
    added = JobAction.objects.get(job=edited_draft, name="Failure notice").pk

    # when
    key = job.pk if through == "original" else edited_draft.pk
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/jobs/{key}/_commit")

    # then
    assert response.status_code == 200, response.content
    item = response.json()
    assert (item["id"], item["name"], item["slug"], item["editingId"], item["ownerId"]) == (
        str(job.pk),
        "Nightly v2",
        "nightly",
        None,
        owner.pk,
    )
    assert item["nextRunAt"] == "2026-03-09T09:30:00Z"
    assert [action["name"] for action in item["_embedded"]["inf:job-action"]] == ["Ping", "Send", "Failure notice"]
    assert content(job) == expected
    assert not Job.objects.filter(pk=edited_draft.pk).exists()
    assert Job.objects.count() == 1
    assert (JobAction.objects.count(), JobAttachment.objects.count()) == (3, 2)
    job.refresh_from_db()
    assert (job.owner_id, job.slug, job.tenant_id) == (owner.pk, "nightly", tenant.pk)
    assert job.next_run_at == datetime(2026, 3, 9, 9, 30, tzinfo=UTC)
    assert rows_of(job)["permissions"] == permissions
    assert list(Run.objects.values_list("pk", "job_id")) == [(history.pk, job.pk)]
    # what existed before the draft keeps its id; only the action the draft added is new (with its draft id)
    assert action_ids(job) == {**original_actions, "Failure notice": str(added)}
    assert attachment_ids(job) == original_attachments
    # the re-uploaded file is the draft's; the replaced one is gone from storage
    file_attachment = JobAttachment.objects.get(type="file")
    assert stored_files(media) == {file_attachment.file.name: b"version two"}


def test_commit_keeps_the_ids_of_what_existed_and_deletes_what_the_draft_removed(
    job, client, media, django_capture_on_commit_callbacks
):
    # given: the draft renames Send, drops Ping and Send's dataset export, adds an attachment and an action
    send = JobAction.objects.get(job=job, name="Send")
    report = JobAttachment.objects.get(action=send, type="file")
    report_path = report.file.name
    draft = make_draft(job)
    draft_send = JobAction.objects.get(job=draft, name="Send")
    draft_ping = JobAction.objects.get(job=draft, name="Ping")
    draft_export = JobAttachment.objects.get(action=draft_send, type="dataset")
    draft_report = JobAttachment.objects.get(action=draft_send, type="file")
    with django_capture_on_commit_callbacks(execute=True):
        edits = [
            client.put(f"/api/jobs/{draft.pk}/actions/{draft_send.pk}", {"name": "Send v2"}, format="json"),
            client.put(
                f"/api/jobs/{draft.pk}/actions/{draft_send.pk}/attachments/{draft_report.pk}",
                {"name": "report-v2.pdf"},
                format="json",
            ),
            client.delete(f"/api/jobs/{draft.pk}/actions/{draft_send.pk}/attachments/{draft_export.pk}"),
            client.delete(f"/api/jobs/{draft.pk}/actions/{draft_ping.pk}"),
            client.post(
                f"/api/jobs/{draft.pk}/actions/{draft_send.pk}/attachments", {"type": "file", "name": "notes.txt"}
            ),
            client.post(
                f"/api/jobs/{draft.pk}/actions",
                {"type": "email", "name": "Tell", "data": {"to": "a@example.com", "subject": "s"}},
                format="json",
            ),
        ]
    assert [response.status_code for response in edits] == [200, 200, 204, 204, 201, 201]
    notes = JobAttachment.objects.get(action=draft_send, name="notes.txt")
    upload(notes, b"some notes", "text/plain")
    tell = JobAction.objects.get(job=draft, name="Tell")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/jobs/{job.pk}/_commit")

    # then
    assert response.status_code == 200, response.content
    assert action_ids(job) == {"Send v2": str(send.pk), "Tell": str(tell.pk)}
    assert list(JobAction.objects.filter(job=job).order_by("index").values_list("name", "index")) == [
        ("Send v2", 0),
        ("Tell", 1),
    ]
    assert attachment_ids(job) == {str(report.pk), str(notes.pk)}
    assert list(JobAttachment.objects.filter(action_id=send.pk).order_by("name").values_list("pk", "name")) == [
        (notes.pk, "notes.txt"),
        (report.pk, "report-v2.pdf"),
    ]
    # the unchanged file stays where it was; the draft's copy of it is gone; the new one moved over with its id
    report.refresh_from_db()
    assert report.file.name == report_path
    assert stored_files(media) == {report_path: PDF, JobAttachment.objects.get(pk=notes.pk).file.name: b"some notes"}
    assert JobAction.objects.filter(draft_source_id__isnull=False).count() == 0
    assert JobAttachment.objects.filter(draft_source_id__isnull=False).count() == 0
    assert (JobAction.objects.count(), JobAttachment.objects.count()) == (2, 2)


def test_a_file_replaced_in_the_draft_replaces_the_originals_under_its_id(
    job, client, media, django_capture_on_commit_callbacks
):
    # given
    report = JobAttachment.objects.get(action__job=job, type="file")
    old_path = report.file.name
    draft = make_draft(job)
    draft_report = JobAttachment.objects.get(action__job=draft, type="file")
    url = f"/api/jobs/{draft.pk}/actions/{draft_report.action_id}/attachments/{draft_report.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        upload_response = client.put(f"{url}/action-attachment-file-contents", b"v2", content_type="text/plain")
    assert upload_response.status_code == 200

    # when
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/jobs/{job.pk}/_commit").status_code == 200

    # then: same attachment, the new bytes, the old file deleted
    report.refresh_from_db()
    assert (report.content_type, report.size) == ("text/plain", 2)
    assert report.sha256 == hashlib.sha256(b"v2").hexdigest()
    assert stored_files(media) == {report.file.name: b"v2"}
    assert report.file.name != old_path
    download = client.get(
        f"/api/jobs/{job.pk}/actions/{report.action_id}/attachments/{report.pk}/action-attachment-file-contents"
    )
    assert b"".join(download.streaming_content) == b"v2"


def test_run_history_points_at_the_same_actions_after_a_commit(
    job, client, media, settings, django_capture_on_commit_callbacks
):
    # given: a finished run whose progress names the job's actions by id
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    JobAttachment.objects.filter(action__job=job, type="dataset").delete()  # no dataset of this job has its alias
    JobAction.objects.filter(job=job, name="Ping").update(enabled=True, type="email", data=dict(EMAIL_DATA))
    run = run_services.run_create_manual(job=job, enqueue=False)
    assert execute_run(str(run.pk)) == RunStatus.SUCCEEDED
    run.refresh_from_db()
    by_action = {entry["actionId"]: entry["name"] for entry in run.progress if "actionId" in entry}
    assert sorted(by_action.values()) == ["Ping", "Send"]
    # the draft renames both and swaps their order
    draft = make_draft(job)
    draft_send = JobAction.objects.get(job=draft, name="Send")
    draft_ping = JobAction.objects.get(job=draft, name="Ping")
    edits = [
        client.put(f"/api/jobs/{draft.pk}/actions/{draft_send.pk}", {"name": "Send (v2)"}, format="json"),
        client.put(f"/api/jobs/{draft.pk}/actions/{draft_ping.pk}", {"name": "Ping (v2)", "index": 0}, format="json"),
    ]
    assert [response.status_code for response in edits] == [200, 200]

    # when
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/jobs/{job.pk}/_commit").status_code == 200

    # then: every actionId of the old run is still an action of the job: the same one, renamed
    now_named = {str(pk): name for pk, name in JobAction.objects.filter(job=job).values_list("pk", "name")}
    assert {action_id: now_named.get(action_id) for action_id in by_action} == {
        action_id: f"{name} (v2)" for action_id, name in by_action.items()
    }
    # and a run after the commit names the same ids
    later = run_services.run_create_manual(job=job, enqueue=False)
    assert execute_run(str(later.pk)) == RunStatus.SUCCEEDED
    later.refresh_from_db()
    assert {entry["actionId"] for entry in later.progress if "actionId" in entry} == set(by_action)


def test_a_draft_made_without_sources_still_commits_whole(job, client, media, django_capture_on_commit_callbacks):
    # given: a draft whose copies name no source (as drafts made before sources were recorded)
    draft = make_draft(job)
    JobAction.objects.filter(job=draft).update(draft_source_id=None)
    JobAttachment.objects.filter(action__job=draft).update(draft_source_id=None)
    expected, draft_actions = content(draft), action_ids(draft)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/jobs/{job.pk}/_commit").status_code == 200

    # then: its copies replace the original's
    assert content(job) == expected
    assert action_ids(job) == draft_actions
    assert JobAction.objects.count() == 2
    assert set(stored_files(media)) == {JobAttachment.objects.get(type="file").file.name}


def test_commit_without_a_schedule_change_keeps_next_run_at(job, client, time_machine):
    # given
    time_machine.move_to(T0, tick=False)
    job_services.job_refresh_next_run(job)
    draft = make_draft(job)
    client.put(f"/api/jobs/{draft.pk}", {"description": "only words"}, format="json")

    # when
    response = client.post(f"/api/jobs/{job.pk}/_commit")

    # then
    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.description, job.next_run_at) == ("only words", datetime(2026, 3, 9, 8, 0, tzinfo=UTC))


def test_commit_of_a_disabled_draft_clears_next_run_at(job, client, time_machine):
    # given
    time_machine.move_to(T0, tick=False)
    job_services.job_refresh_next_run(job)
    draft = make_draft(job)
    client.put(f"/api/jobs/{draft.pk}", {"enabled": False}, format="json")

    # when
    response = client.post(f"/api/jobs/{job.pk}/_commit")

    # then
    assert response.status_code == 200
    assert response.json()["nextRunAt"] is None
    job.refresh_from_db()
    assert (job.enabled, job.next_run_at) == (False, None)


def test_a_slug_changed_in_the_draft_is_committed(job, client):
    # given
    draft = make_draft(job)
    client.put(f"/api/jobs/{draft.pk}", {"slug": "nightly-report"}, format="json")

    # when
    response = client.post(f"/api/jobs/{job.pk}/_commit")

    # then
    assert response.status_code == 200
    assert (response.json()["slug"], response.json()["naturalId"]) == ("nightly-report", "alpha:nightly-report")
    assert client.get("/api/jobs/alpha:nightly-report").json()["id"] == str(job.pk)
    assert client.get("/api/jobs/alpha:nightly").status_code == 404


def test_commit_without_a_draft_is_a_409(job, client, db_state, media):
    # given
    before, files = db_state(), stored_files(media)

    # when
    response = client.post(f"/api/jobs/{job.pk}/_commit")

    # then
    assert response.status_code == 409
    assert response.json() == {
        "statusCode": 409,
        "error": "Conflict",
        "message": "Job 'Nightly' has no draft to commit.",
        "details": {"id": ["Job 'Nightly' has no draft to commit."]},
    }
    assert db_state() == before
    assert stored_files(media) == files


def test_commit_onto_a_slug_taken_by_another_job_is_a_409_and_changes_nothing(
    job, owner, client, db_state, media, django_capture_on_commit_callbacks
):
    # given
    JobFactory(owner=owner, name="Weekly", slug="weekly")
    draft = make_draft(job)
    assert client.put(f"/api/jobs/{draft.pk}", {"slug": "weekly", "name": "Renamed"}, format="json").status_code == 200
    before, files = db_state(), stored_files(media)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/jobs/{job.pk}/_commit")

    # then
    assert response.status_code == 409
    assert response.json()["message"] == "A job with slug 'weekly' already exists."
    assert response.json()["details"] == {"slug": ["A job with slug 'weekly' already exists."]}
    assert db_state() == before
    assert stored_files(media) == files


# --- Discarding -----------------------------------------------------------------------------------------


def test_deleting_the_draft_discards_it_and_leaves_the_original(
    job, edited_draft, client, media, django_capture_on_commit_callbacks
):
    # given
    before = rows_of(job)
    assert len(stored_files(media)) == 2  # the original's file and the draft's own copy

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/jobs/{edited_draft.pk}")

    # then
    assert response.status_code == 204
    assert draft_of(job) is None
    assert list(Job.objects.values_list("pk", flat=True)) == [job.pk]
    assert rows_of(job) == before
    assert stored_files(media) == {f"attachments/{original_file_id(job)}/report.pdf": PDF}
    assert client.get(f"/api/jobs/{job.pk}/draft").status_code == 404


# --- Runs and the scheduler -----------------------------------------------------------------------------


def test_the_scheduler_never_fires_a_draft(job, time_machine):
    # given: a draft made due by hand, and the original not due
    time_machine.move_to(T0, tick=False)
    job_services.job_refresh_next_run(job)
    draft = make_draft(job)
    Job.objects.filter(pk=draft.pk).update(next_run_at=datetime(2026, 3, 9, 6, 59, tzinfo=UTC), enabled=True)

    # when
    result = scheduler.tick()

    # then
    assert (result.claimed, result.runs) == (0, 0)
    assert Run.objects.count() == 0
    assert Job.objects.get(pk=draft.pk).next_run_at == datetime(2026, 3, 9, 6, 59, tzinfo=UTC)


def test_a_run_started_before_a_commit_finishes_with_its_old_definition(
    job, client, media, settings, django_capture_on_commit_callbacks
):
    # given: a run claimed (its definition frozen) before the commit
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    JobAttachment.objects.filter(action__job=job, type="dataset").delete()  # no dataset of this job has its alias
    run = run_services.run_create_manual(job=job, enqueue=False)
    claimed = run_services.run_claim(run_id=run.pk, worker=None)
    assert claimed is not None
    draft = make_draft(job)
    send = JobAction.objects.get(job=draft, name="Send")
    draft_file = JobAttachment.objects.get(action=send, type="file")
    edits = [
        client.put(f"/api/jobs/{draft.pk}", {"name": "Renamed"}, format="json"),
        client.put(
            f"/api/jobs/{draft.pk}/actions/{send.pk}",
            {"data": {"to": "ops@example.com", "subject": "New subject"}},
            format="json",
        ),
        client.put(
            f"/api/jobs/{draft.pk}/actions/{send.pk}/attachments/{draft_file.pk}/action-attachment-file-contents",
            b"new report",
            content_type="application/pdf",
        ),
    ]
    assert [response.status_code for response in edits] == [200, 200, 200]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/jobs/{job.pk}/_commit").status_code == 200

    # when: the run goes on
    execution = Execution(run_id=claimed.pk, token=claimed.lease_token, timeout_seconds=60)
    _execute_steps(claimed, execution)
    execution.finish(RunStatus.FAILED if execution.failed else RunStatus.SUCCEEDED)

    # then
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, [entry["message"] for entry in run.progress]
    assert run.definition["name"] == "Nightly"
    assert [action["name"] for action in run.definition["actions"]] == ["Send", "Ping"]
    assert [message.subject for message in mail.outbox] == ["Report for Nightly"]
    assert mail.outbox[0].attachments == [("report.pdf", PDF, "application/pdf")]

    # and a run started after the commit uses the new definition
    later = run_services.run_create_manual(job=job, enqueue=False)
    assert execute_run(str(later.pk)) == RunStatus.SUCCEEDED
    assert [message.subject for message in mail.outbox] == ["Report for Nightly", "New subject"]
    assert mail.outbox[1].attachments == [("report.pdf", b"new report", "application/pdf")]
    later.refresh_from_db()
    assert later.definition["name"] == "Renamed"


# --- Commit under a concurrent edit ---------------------------------------------------------------------

# (edit, service the edit calls, method, path under the draft, body)
CONCURRENT_EDITS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "put the draft": (
        "jobs.services.jobs.job_update",
        "put",
        "/api/jobs/{draft}",
        {"name": "Edited", "description": "edited concurrently"},
    ),
    "add an action": (
        "jobs.services.actions.action_create",
        "post",
        "/api/jobs/{draft}/actions",
        {"type": "email", "name": "Added", "data": {"to": "a@example.com", "subject": "added"}},
    ),
    "rename an action": (
        "jobs.services.actions.action_update",
        "put",
        "/api/jobs/{draft}/actions/{action}",
        {"name": "Renamed"},
    ),
}


def edit_included(edit: str, job: Job) -> bool:
    names = list(JobAction.objects.filter(job=job).order_by("index").values_list("name", flat=True))
    if edit == "put the draft":
        return (job.name, job.description) == ("Edited", "edited concurrently")
    if edit == "add an action":
        return names == ["Ping", "Send", "Failure notice", "Added"]
    return names == ["Renamed", "Send", "Failure notice"]


def pause_in(monkeypatch: pytest.MonkeyPatch, target: str, thread_name: str) -> tuple[threading.Event, threading.Event]:
    """Make ``target`` (``package.module.function`` or ``package.module.Class.method``) wait, in the thread
    named ``thread_name`` only, until released.

    Returns (reached, proceed): ``reached`` is set when that thread gets there; setting ``proceed`` lets it go on.
    """
    parts = target.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:-1]:
            owner = getattr(owner, name)
        break
    real = getattr(owner, parts[-1])
    reached, proceed = threading.Event(), threading.Event()

    def paused(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == thread_name:
            reached.set()
            proceed.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, parts[-1], paused)
    return reached, proceed


def in_thread(name: str, outcome: dict[str, Any], send: Callable[[], Any]) -> threading.Thread:
    """Run one request in a thread of its own (with its own database connection)."""

    def body() -> None:
        try:
            outcome[name] = send()
        finally:
            connection.close()

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    return thread


def interleave(
    first: Callable[[], Any], second: Callable[[], Any], reached: threading.Event, proceed: threading.Event
) -> dict[str, Any]:
    """Start ``first`` until it pauses, then ``second``; give ``second`` a second to finish, then release ``first``."""
    outcome: dict[str, Any] = {}
    one = in_thread("first", outcome, first)
    assert reached.wait(10), "the first request never reached its pause"
    two = in_thread("second", outcome, second)
    two.join(1.0)  # SQLite queues it behind the first's transaction; PostgreSQL may let it finish
    proceed.set()
    one.join(30)
    two.join(30)
    assert not one.is_alive() and not two.is_alive()
    return outcome


@pytest.mark.parametrize("pause", ["after reading the draft", "before writing"])
@pytest.mark.parametrize("edit", list(CONCURRENT_EDITS))
@pytest.mark.django_db(transaction=True)
def test_commit_is_atomic_under_a_concurrent_edit(job, edited_draft, owner, monkeypatch, edit, pause):
    """The edit has read the draft when a commit starts: it lands whole on the original, or is a 404."""
    # given
    service, method, path, body = CONCURRENT_EDITS[edit]
    first_action = JobAction.objects.filter(job=edited_draft).order_by("index").first()
    path = path.format(draft=edited_draft.pk, action=first_action.pk)
    before_commit = content(edited_draft)
    # Every route checks the permissions of the job it has just read; the service is where it writes.
    target = "rest_framework.views.APIView.check_object_permissions" if pause.startswith("after") else service
    reached, proceed = pause_in(monkeypatch, target, "first")

    # when
    outcome = interleave(
        lambda: getattr(client_for(owner), method)(path, body, format="json"),
        lambda: client_for(owner).post(f"/api/jobs/{job.pk}/_commit"),
        reached,
        proceed,
    )

    # then
    edit_response, commit_response = outcome["first"], outcome["second"]
    assert commit_response.status_code == 200, commit_response.content
    job.refresh_from_db()
    assert list(Job.objects.values_list("pk", flat=True)) == [job.pk], "no draft may survive (or come back)"
    if edit_response.status_code in (200, 201):
        assert edit_included(edit, job)
    else:
        assert edit_response.status_code == 404, edit_response.content
        assert content(job) == before_commit
    assert_consistent(job)


def assert_consistent(job: Job) -> None:
    """Every action and attachment belongs to the job, in a dense order."""
    actions = list(JobAction.objects.order_by("index"))
    assert [action.job_id for action in actions] == [job.pk] * len(actions)
    assert [action.index for action in actions] == list(range(len(actions)))
    assert set(JobAttachment.objects.values_list("action__job_id", flat=True)) <= {job.pk}


@pytest.mark.django_db(transaction=True)
def test_of_two_concurrent_commits_one_wins_and_the_other_is_a_409(job, edited_draft, owner, monkeypatch):
    # given: the first commit pauses just before its transaction ends
    expected = content(edited_draft)
    reached, proceed = pause_in(monkeypatch, "jobs.services.drafts.delete_files_on_commit", "first")

    # when
    outcome = interleave(
        lambda: client_for(owner).post(f"/api/jobs/{job.pk}/_commit"),
        lambda: client_for(owner).post(f"/api/jobs/{job.pk}/_commit"),
        reached,
        proceed,
    )

    # then
    assert outcome["first"].status_code == 200, outcome["first"].content
    assert outcome["second"].status_code == 409, outcome["second"].content
    assert outcome["second"].json()["message"] == "Job 'Nightly v2' has no draft to commit."
    assert list(Job.objects.values_list("pk", flat=True)) == [job.pk]
    assert content(job) == expected
    assert_consistent(job)


# --- Permissions ----------------------------------------------------------------------------------------

# (method, path with {job}/{draft}, body, statuses per role, whether a draft exists beforehand)
ROUTES: dict[str, tuple[str, str, Any, dict[str, int], bool]] = {
    "edit": ("post", "/api/jobs/{job}/_edit", None, expect(403, 201, 201, 201), False),
    "edit again": ("post", "/api/jobs/{job}/_edit", None, expect(403, 200, 200, 200), True),
    "edit by the draft id": ("post", "/api/jobs/{draft}/_edit", None, expect(403, 200, 200, 200), True),
    "get draft": ("get", "/api/jobs/{job}/draft", None, expect(200, 200, 200, 200), True),
    "get draft by its id": ("get", "/api/jobs/{draft}/draft", None, expect(200, 200, 200, 200), True),
    "get the draft": ("get", "/api/jobs/{draft}", None, expect(200, 200, 200, 200), True),
    "list the drafts actions": ("get", "/api/jobs/{draft}/actions", None, expect(200, 200, 200, 200), True),
    "put the draft": ("put", "/api/jobs/{draft}", {"name": "Renamed"}, expect(403, 200, 200, 200), True),
    "add an action to the draft": (
        "post",
        "/api/jobs/{draft}/actions",
        {"type": "email", "name": "Added", "data": {"to": "a@example.com", "subject": "s"}},
        expect(403, 201, 201, 201),
        True,
    ),
    "commit": ("post", "/api/jobs/{job}/_commit", None, expect(403, 200, 200, 200), True),
    "commit by the draft id": ("post", "/api/jobs/{draft}/_commit", None, expect(403, 200, 200, 200), True),
    "discard": ("delete", "/api/jobs/{draft}", None, expect(403, 204, 204, 204), True),
}


def effect_happened(route: str, job: Job, draft: Job | None) -> None:
    """Assert that the successful request did what it says."""
    current = draft_of(job)
    original_actions = list(JobAction.objects.filter(job=job).values_list("name", flat=True))
    if route == "edit":
        assert current is not None and content(current) == content(job)
    elif route == "put the draft":
        assert (current.name, Job.objects.get(pk=job.pk).name) == ("Renamed", "Nightly")
    elif route == "add an action to the draft":
        assert sorted(JobAction.objects.filter(job=current).values_list("name", flat=True)) == ["Added", "Existing"]
        assert original_actions == ["Existing"]
    elif route.startswith("commit"):
        assert current is None
        assert Job.objects.get(pk=job.pk).name == "Nightly (draft)"
    elif route == "discard":
        assert current is None
        assert (Job.objects.get(pk=job.pk).name, original_actions) == ("Nightly", ["Existing"])
    else:
        assert current is not None and current.pk == draft.pk


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(roles: Roles, db_state, media, route, role):
    # given
    method, path, body, statuses, with_draft = ROUTES[route]
    action = JobActionFactory(job=roles.job, name="Existing")
    upload(JobAttachmentFactory(action=action, name="existing.bin"), b"existing")
    draft = make_draft(roles.job) if with_draft else None
    if draft is not None:
        Job.objects.filter(pk=draft.pk).update(name="Nightly (draft)")
    path = path.format(job=roles.job.pk, draft=draft.pk if draft else "")
    before, files = db_state(), stored_files(media)

    # when
    kwargs = {"data": body, "format": "json"} if body is not None else {}
    response = getattr(roles.clients[role], method)(path, **kwargs)

    # then
    assert response.status_code == statuses[role], response.content
    if response.status_code >= 400:
        assert set(response.json()) == ERROR_KEYS
        assert response.json()["statusCode"] == statuses[role]
        assert db_state() == before
        assert stored_files(media) == files
    elif method == "get" or route in {"edit again", "edit by the draft id"}:
        assert db_state() == before
    else:
        effect_happened(route, roles.job, draft)
