"""Uploads and deletions of a library's files (§9): written through to the remote, a size limit (413), names that
would escape refused (400), the permission matrix; on every refusal nothing stored, here or on the remote."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from library.models import Library, LibraryFile
from library.services.sync import library_sync
from tests.conftest import client_for
from tests.library.api.roles import (
    assert_error,
    folder_state,
    library_state,
    make_folder,
    make_library,
    make_roles,
)

WRITE_MATRIX = [("anonymous", 401), ("other_tenant", 404), ("no_share", 404), ("view", 403)]
WRITERS = ["edit", "admin", "owner"]


@pytest.fixture
def root(local_library_root: Path) -> Path:
    make_folder(local_library_root, "docs", {"readme.txt": b"Read me first.\n", "guides/travel.md": b"# Travel\n"})
    return local_library_root


@pytest.fixture
def folder(root: Path) -> Path:
    return root / "docs"


@pytest.fixture
def roles(root: Path, tenant: Any, owner: Any) -> Any:
    """A library synced from its folder, shared at every level."""
    library = make_library(owner)
    assert library_sync(library=library).success
    return make_roles(tenant, owner, library)


def state(db_state: Any, folder: Path) -> dict[str, Any]:
    return {**db_state(), **library_state(), "remote": folder_state(folder)}


def upload(client: Any, library: Any, content: bytes = b"Expenses policy\n", name: str = "expenses.txt", **fields: Any):
    body = {"file": SimpleUploadedFile(name, content, content_type=fields.pop("content_type", "text/plain")), **fields}
    return client.post(f"/api/libraries/{library.pk}/files", body, format="multipart")


# --- Upload ----------------------------------------------------------------------------------------------


def test_an_upload_is_written_through_and_recorded(roles, folder):
    # when
    response = upload(roles.clients["edit"], roles.obj, dir="guides")

    # then
    assert response.status_code == 201, response.content
    item = response.json()
    row = LibraryFile.objects.get(library=roles.obj, path="guides/expenses.txt")
    assert response["Location"] == f"http://testserver/api/libraries/{roles.obj.pk}/files/{row.pk}"
    assert {key: item[key] for key in ("id", "filename", "path", "parentId", "directory", "contentType", "size")} == {
        "id": str(row.pk),
        "filename": "expenses.txt",
        "path": "guides/expenses.txt",
        "parentId": str(LibraryFile.objects.get(library=roles.obj, path="guides").pk),
        "directory": False,
        "contentType": "text/plain",
        "size": 16,
    }
    assert (item["origin"], item["indexStatus"], item["sha256"]) == (
        "upload",
        "pending",
        hashlib.sha256(b"Expenses policy\n").hexdigest(),
    )
    assert item["etag"] == row.etag != ""
    assert (folder / "guides" / "expenses.txt").read_bytes() == b"Expenses policy\n"
    roles.obj.refresh_from_db()
    assert (roles.obj.files, roles.obj.size) == (3, 15 + 9 + 16)
    download = roles.clients["view"].get(f"/api/libraries/{roles.obj.pk}/files/{row.pk}/contents")
    assert b"".join(download.streaming_content) == b"Expenses policy\n"


def test_the_next_sync_sees_an_upload_unchanged(roles):
    upload(roles.clients["owner"], roles.obj)

    result = library_sync(library=Library.objects.get(pk=roles.obj.pk))

    assert (result.added, result.updated, result.unchanged, result.bytes, result.success) == (0, 0, 3, 0, True)


def test_an_upload_at_the_top_and_into_a_new_folder(roles, folder):
    top = upload(roles.clients["owner"], roles.obj, name="a.txt")
    deep = upload(roles.clients["owner"], roles.obj, name="b.txt", dir="/reports/2026/")

    assert (top.status_code, deep.status_code) == (201, 201), deep.content
    assert (top.json()["path"], top.json()["parentId"]) == ("a.txt", None)
    assert deep.json()["path"] == "reports/2026/b.txt"
    assert (folder / "reports" / "2026" / "b.txt").exists()
    folders = LibraryFile.objects.filter(library=roles.obj, directory=True).values_list("path", flat=True)
    assert sorted(folders) == ["guides", "reports", "reports/2026"]


def test_an_upload_replaces_the_file_of_that_name(roles, folder):
    row = LibraryFile.objects.get(library=roles.obj, path="readme.txt")

    response = upload(roles.clients["owner"], roles.obj, b"Read me second.\n", name="readme.txt")

    assert response.status_code == 201, response.content
    assert response.json()["id"] == str(row.pk)
    assert (folder / "readme.txt").read_bytes() == b"Read me second.\n"
    row.refresh_from_db()
    assert (row.origin, row.size, row.sha256) == ("upload", 16, hashlib.sha256(b"Read me second.\n").hexdigest())


def test_a_filename_field_names_the_file(roles, folder):
    response = upload(roles.clients["owner"], roles.obj, name="upload.bin", filename="Reisekosten März.txt")

    assert response.status_code == 201, response.content
    assert (response.json()["path"], response.json()["contentType"]) == ("Reisekosten März.txt", "text/plain")
    assert (folder / "Reisekosten März.txt").exists()


def test_a_content_type_the_client_did_not_give_is_guessed_from_the_name(roles):
    response = upload(roles.clients["owner"], roles.obj, name="table.csv", content_type="application/octet-stream")

    assert response.status_code == 201, response.content
    assert response.json()["contentType"] == "text/csv"


def test_an_upload_over_the_limit_is_a_413_and_stores_nothing(roles, folder, settings, db_state):
    # given
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 10
    before = state(db_state, folder)

    # when
    response = upload(roles.clients["owner"], roles.obj, b"x" * 11)

    # then
    body = assert_error(response, 413, "file")
    assert body["error"] == "Request Entity Too Large"
    assert state(db_state, folder) == before


def test_a_body_declared_far_over_the_limit_is_refused_before_it_is_read(roles, folder, settings, db_state):
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 10
    before = state(db_state, folder)

    response = upload(roles.clients["owner"], roles.obj, b"x" * (200 * 1024))

    assert_error(response, 413, "file")
    assert state(db_state, folder) == before


def test_a_file_at_the_limit_is_taken(roles, settings):
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 10

    response = upload(roles.clients["owner"], roles.obj, b"x" * 10)

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"dir": "../outside"}, "dir"),
        ({"dir": "guides/../../outside"}, "dir"),
        ({"dir": "a\\b"}, "dir"),
        ({"dir": "a//b"}, "dir"),
        ({"dir": "a\u0000b"}, "dir"),
        ({"dir": "a\u0007b"}, "dir"),
        ({"dir": "x" * 256}, "dir"),
        ({"filename": "../evil.txt"}, "filename"),
        ({"filename": "a/b.txt"}, "filename"),
        ({"filename": "..\\evil.txt"}, "filename"),
        ({"filename": ".."}, "filename"),
        ({"filename": "a\u0000b.txt"}, "filename"),
        ({"filename": "x" * 256}, "filename"),
    ],
)
def test_a_name_that_would_escape_is_a_400_and_stores_nothing(roles, folder, db_state, fields, field):
    before = state(db_state, folder)

    response = upload(roles.clients["owner"], roles.obj, **fields)

    assert_error(response, 400, field)
    assert state(db_state, folder) == before


def test_no_file_part_is_a_400(roles, folder, db_state):
    before = state(db_state, folder)

    without = roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/files", {"dir": "x"}, format="multipart")
    as_text = roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/files", {"file": "text"}, format="multipart")
    as_json = roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/files", {"file": "t"}, format="json")

    for response in (without, as_text, as_json):
        assert_error(response, 400, "file")
    assert state(db_state, folder) == before


def test_uploading_into_a_file_is_a_409(roles, folder, db_state):
    before = state(db_state, folder)

    response = upload(roles.clients["owner"], roles.obj, dir="readme.txt")

    assert_error(response, 409)
    assert state(db_state, folder) == before


def test_a_remote_that_fails_the_write_is_a_502_and_nothing_is_recorded(webdav_server, owner, db_state):
    # given: a WebDAV library whose server went away
    library = make_library(
        owner,
        type="webdav",
        settings={"url": webdav_server.url, "username": webdav_server.username, "root": ""},
        password=webdav_server.password,
    )
    webdav_server.stop()
    before = {**db_state(), **library_state()}

    # when
    response = upload(client_for(owner), library)

    # then
    body = assert_error(response, 502)
    assert body["message"].startswith("The library's remote did not take the file: ")
    assert {**db_state(), **library_state()} == before


def test_an_upload_to_webdav_is_written_through(webdav_server, owner):
    library = make_library(
        owner,
        type="webdav",
        settings={"url": webdav_server.url, "username": webdav_server.username, "root": ""},
        password=webdav_server.password,
    )

    response = upload(client_for(owner), library, dir="guides")

    assert response.status_code == 201, response.content
    assert (webdav_server.folder / "guides" / "expenses.txt").read_bytes() == b"Expenses policy\n"
    assert library_sync(library=library).unchanged == 1


@pytest.mark.parametrize(("role", "status_code"), WRITE_MATRIX + [(role, 201) for role in WRITERS])
def test_upload_permission_matrix(roles, folder, db_state, role, status_code):
    # given
    before = state(db_state, folder)

    # when
    response = upload(roles.clients[role], roles.obj)

    # then
    assert response.status_code == status_code, response.content
    if status_code == 201:
        assert (folder / "expenses.txt").exists()
    else:
        body = assert_error(response, status_code)
        if status_code == 403:
            assert body["message"] == "You need the 'library:edit' permission for this."
        assert state(db_state, folder) == before


def test_a_denied_upload_over_the_limit_is_a_404_not_a_413(roles, folder, settings, db_state):
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 10
    before = state(db_state, folder)

    response = upload(roles.clients["no_share"], roles.obj, b"x" * (200 * 1024))

    assert_error(response, 404)
    assert state(db_state, folder) == before


# --- Delete ----------------------------------------------------------------------------------------------


def file_url(library: Any, path: str) -> str:
    return f"/api/libraries/{library.pk}/files/{LibraryFile.objects.get(library=library, path=path).pk}"


def test_a_delete_removes_the_file_here_and_on_the_remote(roles, folder):
    # when
    response = roles.clients["edit"].delete(file_url(roles.obj, "guides/travel.md"))

    # then
    assert response.status_code == 204, response.content
    assert not LibraryFile.objects.filter(library=roles.obj, path="guides/travel.md").exists()
    assert not (folder / "guides" / "travel.md").exists()
    roles.obj.refresh_from_db()
    assert (roles.obj.files, roles.obj.size) == (1, 15)
    # and the next sync does not bring it back
    assert library_sync(library=Library.objects.get(pk=roles.obj.pk)).added == 0


def test_an_empty_folder_can_be_deleted_but_not_one_with_files(roles, folder, db_state):
    before = state(db_state, folder)

    refused = roles.clients["owner"].delete(file_url(roles.obj, "guides"))

    body = assert_error(refused, 409)
    assert body["message"] == "The folder 'guides' is not empty; delete what it holds first."
    assert state(db_state, folder) == before
    assert roles.clients["owner"].delete(file_url(roles.obj, "guides/travel.md")).status_code == 204
    assert roles.clients["owner"].delete(file_url(roles.obj, "guides")).status_code == 204
    assert not (folder / "guides").exists()


def test_an_unknown_file_is_a_404_on_delete(roles, folder, db_state):
    before = state(db_state, folder)

    response = roles.clients["owner"].delete(
        f"/api/libraries/{roles.obj.pk}/files/00000000-0000-0000-0000-000000000000"
    )

    assert_error(response, 404)
    assert state(db_state, folder) == before


@pytest.mark.parametrize(("role", "status_code"), WRITE_MATRIX + [(role, 204) for role in WRITERS])
def test_delete_permission_matrix(roles, folder, db_state, role, status_code):
    # given
    url = file_url(roles.obj, "readme.txt")
    before = state(db_state, folder)

    # when
    response = roles.clients[role].delete(url)

    # then
    assert response.status_code == status_code
    if status_code == 204:
        assert not (folder / "readme.txt").exists()
        assert not LibraryFile.objects.filter(library=roles.obj, path="readme.txt").exists()
    else:
        assert_error(response, status_code)
        assert state(db_state, folder) == before
