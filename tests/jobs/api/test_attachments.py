"""Attachments of an action (§7): CRUD and ``…/action-attachment-file-contents`` (upload, download, size cap)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import Job, JobAction, JobAttachment
from tests.conftest import ROLES, Roles, client_for
from tests.factories import JobFactory
from tests.jobs.api.test_actions import (
    ERROR_KEYS,
    JobActionFactory,
    JobAttachmentFactory,
    expect,
    stored_files,
    top_fields,
    upload,
)

PDF = b"%PDF-1.7\n" + bytes(range(256)) + b"\n%%EOF\n"


@pytest.fixture
def action(job: Job) -> JobAction:
    return JobActionFactory(job=job, name="Send")


@pytest.fixture
def client(owner: Any) -> Any:
    return client_for(owner)


def attachments_url(action: JobAction) -> str:
    return f"/api/jobs/{action.job_id}/actions/{action.pk}/attachments"


def attachment_url(attachment: JobAttachment) -> str:
    return f"{attachments_url(attachment.action)}/{attachment.pk}"


def contents_url(attachment: JobAttachment) -> str:
    return f"{attachment_url(attachment)}/action-attachment-file-contents"


def downloaded(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def without_times(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in {"createdAt", "updatedAt"}}


# --- CRUD -----------------------------------------------------------------------------------------------


def test_create_answers_201_with_the_item_and_its_location(action, client):
    # when
    response = client.post(
        attachments_url(action),
        {"type": "dataset", "name": "sales.csv", "data": {"alias": "sales", "format": "csv"}},
        format="json",
    )

    # then
    assert response.status_code == 201, response.content
    attachment = JobAttachment.objects.get()
    href = f"http://testserver{attachment_url(attachment)}"
    assert response["Location"] == href
    assert without_times(response.json()) == {
        "_links": {"self": {"href": href}},
        "id": str(attachment.pk),
        "jobActionId": str(action.pk),
        "type": "dataset",
        "name": "sales.csv",
        "data": {"alias": "sales", "format": "csv"},
        "contentType": "",
        "size": None,
        "sha256": "",
        "hasFile": False,
    }
    assert (attachment.action_id, attachment.type, attachment.name, attachment.file.name) == (
        action.pk,
        "dataset",
        "sales.csv",
        "",
    )


def test_a_file_attachment_is_created_without_data(action, client):
    response = client.post(attachments_url(action), {"type": "file", "name": "report.pdf"}, format="json")

    assert response.status_code == 201, response.content
    assert (response.json()["data"], response.json()["hasFile"]) == ({}, False)


VALID = {"type": "dataset", "name": "sales.csv", "data": {"alias": "sales", "format": "csv"}}
REPORT = {"alias": "sales", "template": "<p>{{ rows|length }}</p>", "format": "pdf"}

# (id, body, the field named in details, text the message must contain or None)
BAD_BODIES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("unknown type", {**VALID, "type": "zip"}, "type", "'zip'"),
    ("missing type", {"name": "x", "data": {}}, "type", None),
    ("missing name", {"type": "file"}, "name", None),
    ("blank name", {"type": "file", "name": ""}, "name", None),
    ("unknown key", {**VALID, "path": "/etc/passwd"}, "path", "path"),
    ("read-only file key", {"type": "file", "name": "x", "file": "attachments/x"}, "file", "file"),
    ("file with data", {"type": "file", "name": "x", "data": {"url": "https://example.com"}}, "data", "data.url"),
    ("dataset without alias", {**VALID, "data": {"format": "csv"}}, "data", "data.alias: is required."),
    ("dataset without format", {**VALID, "data": {"alias": "sales"}}, "data", "data.format: is required."),
    ("dataset unknown format", {**VALID, "data": {"alias": "sales", "format": "pdf"}}, "data", '"pdf"'),
    (
        "dataset bad filename template",
        {**VALID, "data": {"alias": "sales", "format": "csv", "filename": "{% if %}"}},
        "data",
        "data.filename: not a valid template",
    ),
    (
        "report without template",
        {"type": "report", "name": "r", "data": {"alias": "sales", "format": "pdf"}},
        "data",
        "data.template: is required.",
    ),
    ("report as csv", {"type": "report", "name": "r", "data": {**REPORT, "format": "csv"}}, "data", '"csv"'),
    (
        "report loading a library",
        {"type": "report", "name": "r", "data": {**REPORT, "template": "{% load static %}"}},
        "data",
        "data.template: not a valid template: {% load %} is not available in job templates",
    ),
    (
        "report including a file",
        {"type": "report", "name": "r", "data": {**REPORT, "template": "{% include 'x.html' %}"}},
        "data",
        "data.template: not a valid template: {% include %} is not available in job templates",
    ),
    (
        "report bad title template",
        {"type": "report", "name": "r", "data": {**REPORT, "title": "{{ run.id|nope }}"}},
        "data",
        "data.title: not a valid template: Invalid filter: 'nope'",
    ),
]


@pytest.mark.parametrize(("body", "field", "text"), [case[1:] for case in BAD_BODIES], ids=[c[0] for c in BAD_BODIES])
def test_a_bad_body_on_create_is_a_400_naming_the_field_and_writes_nothing(
    action, client, db_state, media, body, field, text
):
    # given
    before = db_state()

    # when
    response = client.post(attachments_url(action), body, format="json")

    # then
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert top_fields(error["details"]) == {field}
    assert error["message"].startswith(field)
    if text is not None:
        assert text in error["message"]
    assert JobAttachment.objects.count() == 0
    assert db_state() == before
    assert stored_files(media) == {}


def test_put_merges_the_fields_it_is_given(action, client):
    # given
    attachment = JobAttachmentFactory(action=action, type="dataset", name="a.csv", data=VALID["data"])

    # when
    response = client.put(attachment_url(attachment), {"name": "b.csv"}, format="json")

    # then
    assert response.status_code == 200, response.content
    attachment.refresh_from_db()
    assert (attachment.name, attachment.type, attachment.data) == ("b.csv", "dataset", VALID["data"])


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"type": "file"}, "type", "cannot change"),
        ({"data": {"alias": "sales", "format": "xml"}}, "data", 'data.format: "xml"'),
        ({"name": ""}, "name", None),
        ({"size": 1, "bogus": True}, "bogus", "bogus"),
    ],
)
def test_a_bad_put_is_a_400_and_changes_nothing(action, client, db_state, body, field, text):
    # given
    attachment = JobAttachmentFactory(action=action, type="dataset", name="a.csv", data=VALID["data"])
    before = db_state()

    # when
    response = client.patch(attachment_url(attachment), body, format="json")

    # then
    assert response.status_code == 400, response.content
    assert top_fields(response.json()["details"]) == {field}
    if text is not None:
        assert text in response.json()["message"]
    assert db_state() == before


def test_delete_removes_the_attachment_and_its_file(action, client, media, django_capture_on_commit_callbacks):
    # given
    doomed = upload(JobAttachmentFactory(action=action, name="old.pdf"), PDF)
    kept = upload(JobAttachmentFactory(action=action, name="keep.pdf"), b"keep")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(attachment_url(doomed))

    # then
    assert response.status_code == 204
    assert list(JobAttachment.objects.values_list("pk", flat=True)) == [kept.pk]
    assert stored_files(media) == {f"attachments/{kept.pk}/keep.pdf": b"keep"}


def test_list_is_an_envelope_of_the_actions_attachments(action, client):
    # given
    first = JobAttachmentFactory(action=action, name="first.bin")
    second = JobAttachmentFactory(action=action, name="second.bin")
    JobAttachmentFactory(action=JobActionFactory(job=action.job), name="other.bin")

    # when
    response = client.get(attachments_url(action))

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["_links"] == {"self": {"href": f"http://testserver{attachments_url(action)}"}}
    assert (body["start"], body["count"], body["total"]) == (0, 2, 2)
    assert [item["id"] for item in body["_embedded"]["inf:job-attachment"]] == [str(first.pk), str(second.pk)]


# --- File contents --------------------------------------------------------------------------------------

UPLOADS = [
    ("text/csv", b"region;total\r\nnorth;12\r\nsouth;7\r\n"),
    ("application/pdf", PDF),
    ("application/json", b'{"rows": [1, 2, 3]}'),  # stored as it is, not parsed
    ("application/octet-stream", bytes(range(256)) * 3),
    ("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),
]


@pytest.mark.parametrize(("content_type", "content"), UPLOADS, ids=[case[0] for case in UPLOADS])
def test_a_raw_body_upload_is_stored_and_downloaded_byte_for_byte(action, client, media, content_type, content):
    # given
    attachment = JobAttachmentFactory(action=action, name="export.dat")

    # when
    response = client.put(contents_url(attachment), content, content_type=content_type)

    # then
    assert response.status_code == 200, response.content
    item = response.json()
    sha256 = hashlib.sha256(content).hexdigest()
    assert (item["contentType"], item["size"], item["sha256"], item["hasFile"]) == (
        content_type,
        len(content),
        sha256,
        True,
    )
    attachment.refresh_from_db()
    assert (attachment.content_type, attachment.size, attachment.sha256) == (content_type, len(content), sha256)
    assert stored_files(media) == {f"attachments/{attachment.pk}/export.dat": content}

    # when
    download = client.get(contents_url(attachment))

    # then
    assert download.status_code == 200
    assert downloaded(download) == content
    assert download["Content-Type"] == content_type
    assert download["Content-Disposition"] == 'attachment; filename="export.dat"'
    assert download["Content-Length"] == str(len(content))


def test_a_multipart_upload_keeps_the_parts_name_and_content_type(action, client, media):
    # given
    attachment = JobAttachmentFactory(action=action, name="Quarterly report.pdf")

    # when
    response = client.put(
        contents_url(attachment),
        {"file": SimpleUploadedFile("q3.pdf", PDF, content_type="application/pdf")},
        format="multipart",
    )

    # then
    assert response.status_code == 200, response.content
    attachment.refresh_from_db()
    assert (attachment.content_type, attachment.size, attachment.sha256) == (
        "application/pdf",
        len(PDF),
        hashlib.sha256(PDF).hexdigest(),
    )
    assert stored_files(media) == {f"attachments/{attachment.pk}/q3.pdf": PDF}
    download = client.get(contents_url(attachment))
    assert downloaded(download) == PDF
    assert download["Content-Disposition"] == 'attachment; filename="Quarterly report.pdf"'


REPLACEMENTS = {
    "multipart under a new name": lambda: {
        "data": {"file": SimpleUploadedFile("new.csv", b"new,rows", content_type="text/plain")},
        "format": "multipart",
    },
    "raw body under the same name": lambda: {"data": b"new,rows", "content_type": "text/plain"},
}


@pytest.mark.parametrize("case", list(REPLACEMENTS))
def test_a_new_upload_replaces_the_previous_file(action, client, media, django_capture_on_commit_callbacks, case):
    # given
    attachment = upload(JobAttachmentFactory(action=action, name="report.csv"), b"old", "text/csv")
    old_path = attachment.file.name

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.put(contents_url(attachment), **REPLACEMENTS[case]())

    # then
    assert response.status_code == 200, response.content
    attachment.refresh_from_db()
    assert (attachment.content_type, attachment.size) == ("text/plain", 8)
    assert attachment.file.name != old_path
    assert stored_files(media) == {attachment.file.name: b"new,rows"}
    assert downloaded(client.get(contents_url(attachment))) == b"new,rows"


@pytest.mark.parametrize(("size", "status"), [(15, 200), (16, 200), (17, 413)])
def test_the_size_limit_is_inclusive(action, client, media, settings, size, status):
    # given
    settings.INFORMER_ATTACHMENT_MAX_BYTES = 16
    attachment = JobAttachmentFactory(action=action, name="f.bin")

    # when
    response = client.put(contents_url(attachment), b"x" * size, content_type="application/octet-stream")

    # then
    assert response.status_code == status, response.content
    assert len(stored_files(media)) == (1 if status == 200 else 0)


OVERSIZED = {
    "raw body just over": lambda: {"data": b"y" * 17, "content_type": "application/octet-stream"},
    "raw body far over": lambda: {"data": b"y" * 200_000, "content_type": "application/octet-stream"},
    "multipart just over": lambda: {
        "data": {"file": SimpleUploadedFile("big.bin", b"y" * 17, content_type="application/octet-stream")},
        "format": "multipart",
    },
}


@pytest.mark.parametrize("case", list(OVERSIZED))
def test_an_oversized_upload_is_a_413_and_keeps_the_previous_file(action, client, media, settings, db_state, case):
    # given
    settings.INFORMER_ATTACHMENT_MAX_BYTES = 16
    attachment = upload(JobAttachmentFactory(action=action, name="small.bin"), b"small", "text/plain")
    before, files = db_state(), stored_files(media)

    # when
    response = client.put(contents_url(attachment), **OVERSIZED[case]())

    # then
    assert response.status_code == 413, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert (error["statusCode"], error["error"]) == (413, "Request Entity Too Large")
    assert "16" in error["message"]
    assert list(error["details"]) == ["file"]
    assert db_state() == before
    assert stored_files(media) == files == {f"attachments/{attachment.pk}/small.bin": b"small"}


@pytest.mark.parametrize("kind", ["dataset", "report"])
def test_uploading_to_an_attachment_that_is_not_a_file_is_a_400(action, client, media, db_state, kind):
    # given
    attachment = JobAttachmentFactory(
        action=action, type=kind, name="x", data=VALID["data"] if kind == "dataset" else REPORT
    )
    before = db_state()

    # when
    response = client.put(contents_url(attachment), b"bytes", content_type="application/octet-stream")

    # then
    assert response.status_code == 400
    assert response.json()["message"] == f"Only 'file' attachments have uploaded contents; this one is '{kind}'."
    assert response.json()["details"] == {"type": [response.json()["message"]]}
    assert db_state() == before
    assert stored_files(media) == {}


def test_a_multipart_upload_without_a_file_part_is_a_400(action, client, media, db_state):
    # given
    attachment = JobAttachmentFactory(action=action)
    before = db_state()

    # when
    response = client.put(contents_url(attachment), {"other": "value"}, format="multipart")

    # then
    assert response.status_code == 400
    assert response.json()["details"] == {"file": ["No file in the request body."]}
    assert db_state() == before
    assert stored_files(media) == {}


def test_downloading_before_any_upload_is_a_404(action, client, media):
    attachment = JobAttachmentFactory(action=action)

    response = client.get(contents_url(attachment))

    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS


def test_downloading_a_dataset_attachment_is_a_404(action, client, media):
    attachment = JobAttachmentFactory(action=action, type="dataset", data=VALID["data"])

    response = client.get(contents_url(attachment))

    assert response.status_code == 404


def test_downloading_a_file_missing_from_storage_is_a_404(action, client, media):
    # given
    attachment = upload(JobAttachmentFactory(action=action, name="gone.bin"), b"gone")
    (media / attachment.file.name).unlink()

    # when
    response = client.get(contents_url(attachment))

    # then
    assert response.status_code == 404


# --- Paths that do not match ----------------------------------------------------------------------------


def mismatched_paths(job: Job, action: JobAction, attachment: JobAttachment) -> dict[str, str]:
    """Paths that name a real attachment, but under an action or job it does not belong to."""
    other_job = JobFactory(owner=job.owner)
    other_action = JobActionFactory(job=other_job)
    sibling = JobActionFactory(job=job)
    return {
        "another job's action under this job": f"/api/jobs/{job.pk}/actions/{other_action.pk}/attachments",
        "this action under another job": f"/api/jobs/{other_job.pk}/actions/{action.pk}/attachments",
        "a sibling action": f"/api/jobs/{job.pk}/actions/{sibling.pk}/attachments",
    }


@pytest.mark.parametrize(
    "where", ["another job's action under this job", "this action under another job", "a sibling action"]
)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("put", ""),
        ("delete", ""),
        ("get", "/action-attachment-file-contents"),
        ("put", "/action-attachment-file-contents"),
    ],
)
def test_an_attachment_is_a_404_under_an_action_it_does_not_belong_to(
    job, action, client, media, db_state, where, method, suffix
):
    # given
    attachment = upload(JobAttachmentFactory(action=action, name="mine.bin"), b"mine")
    base = mismatched_paths(job, action, attachment)[where]
    before, files = db_state(), stored_files(media)

    # when
    path = f"{base}/{attachment.pk}{suffix}"
    if suffix and method == "put":
        response = client.put(path, b"replaced", content_type="application/octet-stream")
    else:
        response = getattr(client, method)(path, {"name": "renamed"}, format="json")

    # then
    assert response.status_code == 404
    assert db_state() == before
    assert stored_files(media) == files


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_attachments_of_another_jobs_action_are_a_404(job, client, db_state, method):
    # given
    other_action = JobActionFactory(job=JobFactory(owner=job.owner))
    JobAttachmentFactory(action=other_action)
    before = db_state()

    # when
    response = getattr(client, method)(
        f"/api/jobs/{job.pk}/actions/{other_action.pk}/attachments", {"type": "file", "name": "x"}, format="json"
    )

    # then
    assert response.status_code == 404
    assert db_state() == before


# --- Permissions ----------------------------------------------------------------------------------------

BASE = "/api/jobs/{job}/actions/{action}/attachments"
# (method, path, body, expected status per role); a bytes body is uploaded raw.
ROUTES: dict[str, tuple[str, str, Any, dict[str, int]]] = {
    "list": ("get", BASE, None, expect(200, 200, 200, 200)),
    "retrieve": ("get", BASE + "/{attachment}", None, expect(200, 200, 200, 200)),
    "create": ("post", BASE, {"type": "file", "name": "added.bin"}, expect(403, 201, 201, 201)),
    "put": ("put", BASE + "/{attachment}", {"name": "renamed.bin"}, expect(403, 200, 200, 200)),
    "patch": ("patch", BASE + "/{attachment}", {"name": "renamed.bin"}, expect(403, 200, 200, 200)),
    "delete": ("delete", BASE + "/{attachment}", None, expect(403, 204, 204, 204)),
    "download": ("get", BASE + "/{attachment}/action-attachment-file-contents", None, expect(200, 200, 200, 200)),
    "upload": (
        "put",
        BASE + "/{attachment}/action-attachment-file-contents",
        b"new contents",
        expect(403, 200, 200, 200),
    ),
}


def effect_happened(route: str, roles: Roles, attachment: JobAttachment, media: Path) -> None:
    """Assert that the successful request did what it says."""
    names = list(JobAttachment.objects.order_by("created_at").values_list("name", flat=True))
    if route == "create":
        assert names == ["existing.bin", "added.bin"]
    elif route in {"put", "patch"}:
        assert names == ["renamed.bin"]
    elif route == "delete":
        assert names == []
    elif route == "upload":
        stored = JobAttachment.objects.get()
        assert (stored.size, stored.content_type) == (12, "application/octet-stream")
        assert stored_files(media)[stored.file.name] == b"new contents"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(roles, db_state, media, route, role):
    # given
    method, path, body, statuses = ROUTES[route]
    action = JobActionFactory(job=roles.job)
    attachment = upload(JobAttachmentFactory(action=action, name="existing.bin"), b"existing")
    path = path.format(job=roles.job.pk, action=action.pk, attachment=attachment.pk)
    before, files = db_state(), stored_files(media)

    # when
    client = roles.clients[role]
    if isinstance(body, bytes):
        response = client.put(path, body, content_type="application/octet-stream")
    elif body is not None:
        response = getattr(client, method)(path, body, format="json")
    else:
        response = getattr(client, method)(path)

    # then
    assert response.status_code == statuses[role], getattr(response, "content", b"")
    if response.status_code >= 400:
        assert set(response.json()) == ERROR_KEYS
        assert response.json()["statusCode"] == statuses[role]
        assert db_state() == before
        assert stored_files(media) == files
    elif method == "get":
        assert db_state() == before
        if route == "download":
            assert downloaded(response) == b"existing"
    else:
        effect_happened(route, roles, attachment, media)
