"""A library's files (§9): list by folder, name and sort; one file; its contents streamed; the permission matrix."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from library.models import LibraryFile
from library.services.sync import library_sync
from tests.library.api.roles import assert_error, library_state, make_folder, make_library, make_roles

FILE_KEYS = {
    "_links",
    "id",
    "filename",
    "path",
    "parentId",
    "directory",
    "contentType",
    "size",
    "etag",
    "sha256",
    "modifiedAt",
    "origin",
    "indexStatus",
    "indexError",
    "indexedAt",
    "chunks",
}
FILES = {
    "readme.txt": b"Read me first.\n",
    "guides/Onboarding.md": b"# Onboarding\n",
    "guides/travel.html": b"<p>Travel</p>",
    "guides/archive/2019.csv": b"year,total\n2019,5\n",
    "Umsätze März.csv": b"monat,umsatz\n",
}


@pytest.fixture
def root(local_library_root: Path) -> Path:
    make_folder(local_library_root, "docs", FILES)
    return local_library_root


@pytest.fixture
def roles(root: Path, tenant: Any, owner: Any) -> Any:
    """A library synced from its folder, shared at every level."""
    library = make_library(owner)
    assert library_sync(library=library).success
    return make_roles(tenant, owner, library)


def file_of(library: Any, path: str) -> LibraryFile:
    return LibraryFile.objects.get(library=library, path=path)


def paths(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["path"] for item in response.json()["_embedded"]["inf:library-file"]]


def base(library: Any) -> str:
    return f"/api/libraries/{library.pk}/files"


# --- List ------------------------------------------------------------------------------------------------


def test_the_list_envelope_and_an_item(roles):
    # when
    response = roles.clients["view"].get(f"{base(roles.obj)}?limit=2&start=1")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["start"], body["count"], body["total"]) == (1, 2, 7)
    href = f"http://testserver{base(roles.obj)}"
    assert body["_links"]["next"]["href"] == f"{href}?limit=2&start=3"
    items = body["_embedded"]["inf:library-file"]
    assert [item["path"] for item in items] == ["guides/archive", "guides/archive/2019.csv"]
    folder, csv = items
    archive = file_of(roles.obj, "guides/archive")
    row = file_of(roles.obj, "guides/archive/2019.csv")
    assert set(csv) == FILE_KEYS
    assert {key: csv[key] for key in FILE_KEYS - {"_links", "etag", "modifiedAt"}} == {
        "id": str(row.pk),
        "filename": "2019.csv",
        "path": "guides/archive/2019.csv",
        "parentId": str(archive.pk),
        "directory": False,
        "contentType": "text/csv",
        "size": 18,
        "sha256": hashlib.sha256(FILES["guides/archive/2019.csv"]).hexdigest(),
        "origin": "sync",
        "indexStatus": "pending",
        "indexError": "",
        "indexedAt": None,
        "chunks": 0,
    }
    assert csv["etag"] == row.etag != ""
    assert csv["modifiedAt"].endswith("Z")
    assert csv["_links"] == {
        "self": {"href": f"{href}/{row.pk}"},
        "inf:contents": {"href": f"{href}/{row.pk}/contents"},
    }
    assert (folder["directory"], folder["size"], folder["sha256"]) == (True, 0, "")
    assert folder["_links"] == {"self": {"href": f"{href}/{archive.pk}"}}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "",
            [
                "guides",
                "guides/archive",
                "guides/archive/2019.csv",
                "guides/Onboarding.md",
                "guides/travel.html",
                "readme.txt",
                "Umsätze März.csv",
            ],
        ),
        ("?dir=", ["guides", "readme.txt", "Umsätze März.csv"]),
        ("?dir=/", ["guides", "readme.txt", "Umsätze März.csv"]),
        ("?dir=guides", ["guides/archive", "guides/Onboarding.md", "guides/travel.html"]),
        ("?dir=guides/", ["guides/archive", "guides/Onboarding.md", "guides/travel.html"]),
        ("?dir=guides/archive", ["guides/archive/2019.csv"]),
        ("?q=ONBOARD", ["guides/Onboarding.md"]),
        ("?q=.csv", ["guides/archive/2019.csv", "Umsätze März.csv"]),
        ("?q=märz", ["Umsätze März.csv"]),
        ("?dir=guides&q=t", ["guides/travel.html"]),
        (
            "?sort=-size,path&directory=false",
            [
                "guides/archive/2019.csv",
                "readme.txt",
                "guides/Onboarding.md",
                "guides/travel.html",
                "Umsätze März.csv",
            ],
        ),
        ("?sort=filename&dir=guides", ["guides/archive", "guides/Onboarding.md", "guides/travel.html"]),
        ("?sort=-filename&dir=guides", ["guides/travel.html", "guides/Onboarding.md", "guides/archive"]),
        ("?directory=true", ["guides", "guides/archive"]),
        ("?origin=upload", []),
        ("?indexStatus=pending&dir=&directory=false", ["readme.txt", "Umsätze März.csv"]),
    ],
)
def test_list_by_folder_name_and_sort(roles, query, expected):
    assert paths(roles.clients["view"].get(f"{base(roles.obj)}{query}")) == expected


def test_list_by_parent_id(roles):
    guides = file_of(roles.obj, "guides")

    response = roles.clients["view"].get(f"{base(roles.obj)}?parentId={guides.pk}")

    assert paths(response) == ["guides/archive", "guides/Onboarding.md", "guides/travel.html"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("dir=missing", "dir"),
        ("dir=readme.txt", "dir"),  # a file, not a folder
        ("dir=../etc", "dir"),
        ("dir=guides/../..", "dir"),
        ("dir=a%00b", "dir"),
        ("parentId=x", "parentId"),
        ("parentId=00000000-0000-0000-0000-000000000000", "parentId"),
        ("parentId=00000000-0000-0000-0000-000000000000&dir=guides", "parentId"),
        ("sort=bogus", "sort"),
        ("sort=name", "sort"),
        ("limit=1001", "limit"),
        ("start=-1", "start"),
        ("directory=maybe", "directory"),
        ("origin=elsewhere", "origin"),
        ("indexStatus=done", "indexStatus"),
        ("q=%00", "q"),
    ],
)
def test_bad_list_parameters_are_a_400(roles, query, field):
    assert_error(roles.clients["view"].get(f"{base(roles.obj)}?{query}"), 400, field)


def test_another_librarys_folder_is_no_parent(roles, owner, root):
    make_folder(root, "other", {"x/y.txt": b"y"})
    other = make_library(owner, name="Other", slug="other", settings={"path": "other"})
    library_sync(library=other)

    response = roles.clients["owner"].get(f"{base(roles.obj)}?parentId={file_of(other, 'x').pk}")

    assert_error(response, 400, "parentId")


@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404)]
    + [(role, 200) for role in ("view", "edit", "admin", "owner")],
)
def test_list_permission_matrix(roles, role, status_code):
    response = roles.clients[role].get(base(roles.obj))

    assert response.status_code == status_code
    if status_code == 200:
        assert response.json()["total"] == 7
    else:
        assert_error(response, status_code)


# --- One file --------------------------------------------------------------------------------------------


def test_get_one_file_also_by_the_librarys_natural_id(roles):
    row = file_of(roles.obj, "readme.txt")

    by_id = roles.clients["view"].get(f"{base(roles.obj)}/{row.pk}")
    by_natural_id = roles.clients["view"].get(f"/api/libraries/alpha:handbook/files/{row.pk}")

    assert by_id.status_code == by_natural_id.status_code == 200
    assert by_id.json() == by_natural_id.json()
    assert (by_id.json()["path"], by_id.json()["size"], by_id.json()["parentId"]) == ("readme.txt", 15, None)


@pytest.mark.parametrize("key", ["nonsense", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_file_is_a_404(roles, key):
    assert_error(roles.clients["owner"].get(f"{base(roles.obj)}/{key}"), 404)
    assert_error(roles.clients["owner"].get(f"{base(roles.obj)}/{key}/contents"), 404)


def test_a_file_of_another_library_is_a_404_under_this_one(roles, owner, root):
    make_folder(root, "other", {"secret.txt": b"other library"})
    other = make_library(owner, name="Other", slug="other", settings={"path": "other"})
    library_sync(library=other)
    theirs = file_of(other, "secret.txt")

    assert_error(roles.clients["view"].get(f"{base(roles.obj)}/{theirs.pk}"), 404)
    assert_error(roles.clients["view"].get(f"{base(roles.obj)}/{theirs.pk}/contents"), 404)


@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404)]
    + [(role, 200) for role in ("view", "edit", "admin", "owner")],
)
def test_get_permission_matrix(roles, role, status_code):
    row = file_of(roles.obj, "readme.txt")

    response = roles.clients[role].get(f"{base(roles.obj)}/{row.pk}")

    assert response.status_code == status_code
    if status_code != 200:
        assert_error(response, status_code)


# --- Contents --------------------------------------------------------------------------------------------


def contents(response: Any) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def test_the_contents_stream_with_type_and_name(roles):
    row = file_of(roles.obj, "guides/travel.html")

    response = roles.clients["view"].get(f"{base(roles.obj)}/{row.pk}/contents")

    assert response.streaming
    assert contents(response) == b"<p>Travel</p>"
    assert response["Content-Type"] == "text/html"
    assert response["Content-Disposition"] == "attachment; filename=\"travel.html\"; filename*=UTF-8''travel.html"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_name_beyond_ascii_is_sent_both_ways(roles):
    row = file_of(roles.obj, "Umsätze März.csv")

    response = roles.clients["view"].get(f"{base(roles.obj)}/{row.pk}/contents")

    assert contents(response) == FILES["Umsätze März.csv"]
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"Ums_tze M_rz.csv\"; filename*=UTF-8''Ums%C3%A4tze%20M%C3%A4rz.csv"
    )


def test_the_contents_are_the_stored_copy_not_the_remotes(roles, root):
    # given: the remote file changed since the sync
    row = file_of(roles.obj, "readme.txt")
    (root / "docs" / "readme.txt").write_bytes(b"changed on the remote")

    # then: the download is what was stored
    assert contents(roles.clients["view"].get(f"{base(roles.obj)}/{row.pk}/contents")) == b"Read me first.\n"


def test_a_folder_has_no_contents(roles):
    folder = file_of(roles.obj, "guides")

    body = assert_error(roles.clients["view"].get(f"{base(roles.obj)}/{folder.pk}/contents"), 404)

    assert body["message"] == "'guides' is a folder; it has no contents."


def test_a_skipped_file_has_no_contents_and_says_why(roles):
    LibraryFile.objects.filter(library=roles.obj, path="readme.txt").update(
        sha256="", index_status="skipped", index_error="Over the 100 MiB limit."
    )
    row = file_of(roles.obj, "readme.txt")

    body = assert_error(roles.clients["view"].get(f"{base(roles.obj)}/{row.pk}/contents"), 404)

    assert body["message"] == "The contents of 'readme.txt' are not stored: Over the 100 MiB limit."


@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404)]
    + [(role, 200) for role in ("view", "edit", "admin", "owner")],
)
def test_contents_permission_matrix(roles, db_state, role, status_code):
    row = file_of(roles.obj, "readme.txt")
    before = {**db_state(), **library_state()}

    response = roles.clients[role].get(f"{base(roles.obj)}/{row.pk}/contents")

    assert response.status_code == status_code
    if status_code == 200:
        assert contents(response) == b"Read me first.\n"
    else:
        assert_error(response, status_code)
    assert {**db_state(), **library_state()} == before
