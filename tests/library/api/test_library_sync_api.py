"""``POST /api/libraries/{id}/_sync`` (§9): the answer, one sync at a time, a failed listing, mass deletions, rights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from library.models import Library, LibraryFile
from tests.conftest import client_for
from tests.library.api.roles import assert_error, library_state, make_folder, make_library, make_roles

RESULT_KEYS = {"added", "updated", "deleted", "unchanged", "skipped", "bytes", "duration", "errors", "success"}


@pytest.fixture
def root(local_library_root: Path) -> Path:
    make_folder(local_library_root, "docs", {"a.txt": b"alpha", "guides/b.md": b"# Bravo\n"})
    return local_library_root


@pytest.fixture
def roles(root: Path, tenant: Any, owner: Any) -> Any:
    return make_roles(tenant, owner, make_library(owner))


def state(db_state: Any) -> dict[str, Any]:
    return {**db_state(), **library_state()}


def counts(body: dict[str, Any]) -> dict[str, Any]:
    """The answer without its duration (which is time, not a count)."""
    assert set(body) == RESULT_KEYS
    assert isinstance(body["duration"], int) and body["duration"] >= 0
    return {key: value for key, value in body.items() if key != "duration"}


def test_a_first_sync_fetches_every_file(roles):
    # when
    response = roles.clients["edit"].post(f"/api/libraries/{roles.obj.pk}/_sync")

    # then
    assert response.status_code == 200, response.content
    assert counts(response.json()) == {
        "added": 2,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "skipped": 0,
        "bytes": 13,
        "errors": [],
        "success": True,
    }
    paths = list(LibraryFile.objects.filter(library=roles.obj).order_by("path").values_list("path", "directory"))
    assert paths == [("a.txt", False), ("guides", True), ("guides/b.md", False)]
    roles.obj.refresh_from_db()
    assert (roles.obj.files, roles.obj.size, roles.obj.syncing) == (2, 13, False)
    assert roles.obj.synced_at is not None


def test_a_second_sync_downloads_nothing_unchanged(roles, root):
    client = roles.clients["owner"]
    client.post(f"/api/libraries/{roles.obj.pk}/_sync")
    (root / "docs" / "a.txt").unlink()
    (root / "docs" / "c.txt").write_bytes(b"charlie")

    response = client.post(f"/api/libraries/{roles.obj.pk}/_sync", {}, format="json")

    assert response.status_code == 200, response.content
    assert counts(response.json()) == {
        "added": 1,
        "updated": 0,
        "deleted": 1,
        "unchanged": 1,
        "skipped": 0,
        "bytes": 7,
        "errors": [],
        "success": True,
    }


def test_more_than_half_deleted_needs_allow_mass_delete(roles, root):
    # given: a synced library whose remote emptied
    client = roles.clients["owner"]
    client.post(f"/api/libraries/{roles.obj.pk}/_sync")
    for path in ("a.txt", "guides/b.md"):
        (root / "docs" / path).unlink()

    # when
    refused = client.post(f"/api/libraries/{roles.obj.pk}/_sync", {}, format="json")
    allowed = client.post(f"/api/libraries/{roles.obj.pk}/_sync", {"allowMassDelete": True}, format="json")

    # then
    assert refused.status_code == 200, refused.content
    body = refused.json()
    assert (body["deleted"], body["success"], len(body["errors"])) == (0, False, 1)
    assert "allowMassDelete" in body["errors"][0]["error"]
    assert allowed.status_code == 200, allowed.content
    assert (allowed.json()["deleted"], allowed.json()["success"]) == (2, True)
    assert not LibraryFile.objects.filter(library=roles.obj, directory=False).exists()


def test_a_sync_already_going_is_a_409(roles, db_state):
    # given: another sync holds the library
    Library.objects.filter(pk=roles.obj.pk).update(sync_started_at=timezone.now())
    before = state(db_state)

    # when
    response = roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/_sync")

    # then
    body = assert_error(response, 409)
    assert body["message"] == "The library is being synced; try again once that sync has finished."
    assert state(db_state) == before


def test_a_failed_listing_is_a_400_with_the_reason_and_changes_nothing(roles, root, db_state):
    # given: a synced library whose folder is gone
    roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/_sync")
    (root / "docs").rename(root / "moved")
    before = state(db_state)

    # when
    response = roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/_sync")

    # then
    body = assert_error(response, 400, "settings")
    assert body["message"] == (
        "settings: The listing failed, so nothing was changed: There is no folder 'docs' under the library root."
    )
    assert state(db_state) == before


def test_a_webdav_server_gone_is_a_400_and_nothing_is_deleted(webdav_server, owner, db_state):
    # given: a library synced from a WebDAV server, which then goes away
    (webdav_server.folder / "a.txt").write_bytes(b"alpha")
    library = make_library(
        owner,
        type="webdav",
        settings={"url": webdav_server.url, "username": webdav_server.username, "root": ""},
        password=webdav_server.password,
    )
    client = client_for(owner)
    first = client.post(f"/api/libraries/{library.pk}/_sync")
    assert (first.status_code, first.json()["added"]) == (200, 1)
    webdav_server.stop()
    before = state(db_state)

    # when
    response = client.post(f"/api/libraries/{library.pk}/_sync")

    # then
    body = assert_error(response, 400, "settings")
    assert body["message"].startswith("settings: The listing failed, so nothing was changed: ")
    assert state(db_state) == before
    assert LibraryFile.objects.filter(library=library, path="a.txt").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"allowMassDelete": "yes"}, "allowMassDelete"),
        ({"bogus": 1}, "bogus"),
        ({"allowMassDelete": None}, "allowMassDelete"),
    ],
)
def test_a_bad_body_is_a_400(roles, db_state, body, field):
    before = state(db_state)

    response = roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/_sync", body, format="json")

    assert_error(response, 400, field)
    assert state(db_state) == before


@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404), ("view", 403)]
    + [(role, 200) for role in ("edit", "admin", "owner")],
)
def test_sync_permission_matrix(roles, db_state, role, status_code):
    # given
    before = state(db_state)

    # when
    response = roles.clients[role].post(f"/api/libraries/{roles.obj.pk}/_sync")

    # then
    assert response.status_code == status_code, response.content
    if status_code == 200:
        assert response.json()["added"] == 2
    else:
        body = assert_error(response, status_code)
        if status_code == 403:
            assert body["message"] == "You need the 'library:sync' permission for this."
        assert state(db_state) == before


def test_a_sync_right_through_a_share_is_enough(root, tenant, owner):
    from library.services import shares as share_services
    from tests.factories import UserFactory

    library = make_library(owner)
    syncer = UserFactory(tenant=tenant)
    share_services.share_set(library=library, principal=syncer, level=2)

    response = client_for(syncer).post(f"/api/libraries/{library.pk}/_sync")

    assert response.status_code == 200, response.content
