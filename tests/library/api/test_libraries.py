"""Libraries (§9): ``/api/libraries[/{id}]`` CRUD, list conventions, safety of the settings, permissions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from library.models import Library, LibraryFile, LibraryUserObjectPermission
from tests.conftest import client_for
from tests.factories import TeamFactory, TenantFactory, UserFactory
from tests.library.api.roles import (
    assert_error,
    assert_no_secret,
    grant_add,
    library_state,
    make_folder,
    make_library,
    make_roles,
)

ITEM_KEYS = {
    "_links",
    "id",
    "name",
    "slug",
    "naturalId",
    "description",
    "type",
    "settings",
    "embedded",
    "files",
    "size",
    "syncedAt",
    "indexedAt",
    "ownerId",
    "shared",
    "permissions",
    "createdAt",
    "updatedAt",
}
ALL_PERMISSIONS = {"view_library", "change_library", "sync_library", "delete_library", "share_library"}
EVERY_RIGHT = {"edit": True, "sync": True, "delete": True, "share": True}


@pytest.fixture
def root(local_library_root: Path) -> Path:
    """The library root of this test, holding a folder ``docs``."""
    make_folder(local_library_root, "docs", {"a.txt": b"alpha"})
    return local_library_root


@pytest.fixture
def creator(owner: Any) -> Any:
    """The owner, allowed to create libraries."""
    return grant_add(owner)


@pytest.fixture
def roles(root: Path, tenant: Any, owner: Any) -> Any:
    return make_roles(tenant, owner, make_library(owner, description="The staff handbook"))


def state(db_state: Any) -> dict[str, Any]:
    return {**db_state(), **library_state()}


# --- Create ----------------------------------------------------------------------------------------------


def test_create_a_local_library(root, creator):
    # given
    body = {"name": "Staff handbook", "type": "local", "settings": {"path": "docs"}, "description": "Policies"}

    # when
    response = client_for(creator).post("/api/libraries", body, format="json")

    # then
    assert response.status_code == 201, response.content
    item = response.json()
    library = Library.objects.get()
    href = f"http://testserver/api/libraries/{library.pk}"
    assert response["Location"] == href
    assert set(item) == ITEM_KEYS
    assert {key: item[key] for key in ITEM_KEYS - {"_links", "id", "createdAt", "updatedAt"}} == {
        "name": "Staff handbook",
        "slug": "staff-handbook",
        "naturalId": "alpha:staff-handbook",
        "description": "Policies",
        "type": "local",
        "settings": {"path": "docs"},
        "embedded": False,
        "files": 0,
        "size": 0,
        "syncedAt": None,
        "indexedAt": None,
        "ownerId": creator.pk,
        "shared": False,
        "permissions": EVERY_RIGHT,
    }
    assert item["id"] == str(library.pk)
    assert item["_links"] == {
        "self": {"href": href},
        "inf:library-files": {"href": f"{href}/files"},
        "inf:library-shares": {"href": f"{href}/shares"},
        "inf:sync": {"href": f"{href}/_sync"},
        "inf:test": {"href": f"{href}/_test"},
    }
    assert item["createdAt"].endswith("Z")
    assert (library.tenant_id, library.owner_id, library.settings, library.secrets_encrypted) == (
        creator.tenant_id,
        creator.pk,
        {"path": "docs"},
        "",
    )
    rights = LibraryUserObjectPermission.objects.filter(content_object=library, user=creator)
    assert set(rights.values_list("permission__codename", flat=True)) == ALL_PERMISSIONS


def test_create_an_embedded_library_with_a_slug(root, creator):
    body = {"name": "Docs", "slug": "the-docs", "type": "local", "settings": {"path": "docs"}, "embedded": True}

    response = client_for(creator).post("/api/libraries", body, format="json")

    assert response.status_code == 201, response.content
    assert (response.json()["slug"], response.json()["embedded"]) == ("the-docs", True)
    assert Library.objects.get().embedded is True


def test_a_second_library_of_the_same_name_gets_a_numbered_slug(root, creator):
    make_library(creator, name="Handbook", slug="handbook")

    response = client_for(creator).post(
        "/api/libraries", {"name": "Handbook", "type": "local", "settings": {"path": "docs"}}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["slug"] == "handbook-2"


def test_create_with_a_slug_taken_is_a_409(root, creator, db_state):
    make_library(creator)
    before = state(db_state)

    response = client_for(creator).post(
        "/api/libraries",
        {"name": "Other", "slug": "handbook", "type": "local", "settings": {"path": "docs"}},
        format="json",
    )

    assert_error(response, 409, "slug")
    assert state(db_state) == before


def test_creating_needs_the_add_library_permission(root, owner, db_state):
    # given: a user who owns jobs, but without the capability
    before = state(db_state)

    # when
    response = client_for(owner).post(
        "/api/libraries", {"name": "Docs", "type": "local", "settings": {"path": "docs"}}, format="json"
    )

    # then
    body = assert_error(response, 403)
    assert body["message"] == "You need the 'library.add_library' permission to create libraries."
    assert state(db_state) == before


def test_without_the_capability_even_a_bad_body_is_a_403(root, owner, db_state):
    before = state(db_state)

    response = client_for(owner).post("/api/libraries", {"type": "ftp", "bogus": 1}, format="json")

    assert_error(response, 403)
    assert state(db_state) == before


def test_the_capability_can_come_through_a_team(root, tenant, owner):
    team = TeamFactory(tenant=tenant)
    team.permissions.add(Permission.objects.get(content_type__app_label="library", codename="add_library"))
    owner.groups.add(team)

    response = client_for(owner).post(
        "/api/libraries", {"name": "Docs", "type": "local", "settings": {"path": "docs"}}, format="json"
    )

    assert response.status_code == 201, response.content


def test_anonymous_create_is_a_401(root, api, db_state):
    before = state(db_state)

    response = api.post("/api/libraries", {"name": "D", "type": "local", "settings": {"path": "docs"}}, format="json")

    assert_error(response, 401)
    assert state(db_state) == before


def test_another_tenants_creator_creates_in_their_own_tenant(root, db):
    stranger = grant_add(UserFactory(username="stranger", tenant=TenantFactory(slug="beta")))

    response = client_for(stranger).post(
        "/api/libraries", {"name": "Docs", "type": "local", "settings": {"path": "docs"}}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["naturalId"] == "beta:docs"
    assert Library.objects.get().tenant_id == stranger.tenant_id


LOCAL = {"name": "D", "type": "local"}
BAD_BODIES = [
    ({"type": "local", "settings": {"path": "docs"}}, "name"),
    ({"name": "D", "settings": {"path": "docs"}}, "type"),
    ({"name": "D", "type": "ftp", "settings": {}}, "type"),
    ({"name": "D", "type": 3}, "type"),
    ({**LOCAL}, "settings.path"),
    ({**LOCAL, "settings": {}}, "settings.path"),
    ({**LOCAL, "settings": {"path": ""}}, "settings.path"),
    ({**LOCAL, "settings": {"path": 5}}, "settings.path"),
    ({**LOCAL, "settings": {"path": "../docs"}}, "settings.path"),
    ({**LOCAL, "settings": {"path": "docs/../../etc"}}, "settings.path"),
    ({**LOCAL, "settings": {"path": "/etc"}}, "settings.path"),
    ({**LOCAL, "settings": {"path": "outside"}}, "settings.path"),  # a symlink out of the root
    ({**LOCAL, "settings": {"path": "docs\u0000"}}, "settings.path"),
    ({**LOCAL, "settings": {"path": "docs", "bucket": "b"}}, "settings.bucket"),
    ({**LOCAL, "settings": []}, "settings"),
    ({**LOCAL, "settings": "docs"}, "settings"),
    ({**LOCAL, "settings": {"path": "docs"}, "bogus": 1}, "bogus"),
    ({**LOCAL, "settings": {"path": "docs"}, "embedded": "maybe"}, "embedded"),
    ({**LOCAL, "settings": {"path": "docs"}, "slug": "not a slug"}, "slug"),
    ({"name": "D\u0000", "type": "local", "settings": {"path": "docs"}}, "name"),
    ({"name": "x" * 201, "type": "local", "settings": {"path": "docs"}}, "name"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_create_is_a_400_naming_the_field(root, tmp_path, creator, db_state, body, field):
    # given
    (tmp_path / "elsewhere").mkdir()
    (root / "outside").symlink_to(tmp_path / "elsewhere")
    before = state(db_state)

    # when
    response = client_for(creator).post("/api/libraries", body, format="json")

    # then
    assert_error(response, 400, field)
    assert state(db_state) == before


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/dav/",
        "http://10.1.2.3/dav/",
        "http://169.254.169.254/latest/",
        "http://[::1]/dav/",
        "http://localhost/dav/",
    ],
)
def test_a_webdav_url_with_a_refused_address_is_a_400(creator, db_state, url):
    # given
    before = state(db_state)
    body = {"name": "Dav", "type": "webdav", "settings": {"url": url, "username": "u", "password": "p"}}

    # when
    response = client_for(creator).post("/api/libraries", body, format="json")

    # then
    assert_error(response, 400, "settings.url")
    assert state(db_state) == before


def test_an_s3_endpoint_with_a_refused_address_is_a_400(creator, db_state):
    before = state(db_state)
    body = {
        "name": "Bucket",
        "type": "s3",
        "settings": {
            "bucket": "docs",
            "endpointUrl": "http://10.0.0.5:9000",
            "accessKeyId": "k",
            "secretAccessKey": "s",
        },
    }

    response = client_for(creator).post("/api/libraries", body, format="json")

    assert_error(response, 400, "settings.endpointUrl")
    assert state(db_state) == before


# --- Read ------------------------------------------------------------------------------------------------


def test_get_a_library_by_id_or_natural_id(roles):
    library = roles.obj

    by_id = roles.clients["view"].get(f"/api/libraries/{library.pk}")
    by_natural_id = roles.clients["view"].get("/api/libraries/alpha:handbook")

    assert by_id.status_code == by_natural_id.status_code == 200
    item = by_id.json()
    assert item == by_natural_id.json()
    assert set(item) == ITEM_KEYS
    assert (item["name"], item["settings"], item["shared"], item["description"]) == (
        "Handbook",
        {"path": "docs"},
        True,
        "The staff handbook",
    )
    assert item["permissions"] == {"edit": False, "sync": False, "delete": False, "share": False}


def test_the_counts_and_times_are_shown(roles):
    from datetime import UTC, datetime

    Library.objects.filter(pk=roles.obj.pk).update(
        files=3, size=1234, synced_at=datetime(2026, 3, 9, 12, 0, tzinfo=UTC), indexed_at=None
    )

    item = roles.clients["view"].get(f"/api/libraries/{roles.obj.pk}").json()

    assert (item["files"], item["size"], item["syncedAt"], item["indexedAt"]) == (3, 1234, "2026-03-09T12:00:00Z", None)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("view", {"edit": False, "sync": False, "delete": False, "share": False}),
        ("edit", {"edit": True, "sync": True, "delete": False, "share": False}),
        ("admin", EVERY_RIGHT),
        ("owner", EVERY_RIGHT),
    ],
)
def test_permissions_are_the_callers(roles, role, expected):
    response = roles.clients[role].get(f"/api/libraries/{roles.obj.pk}")

    assert response.json()["permissions"] == expected


@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404)]
    + [(role, 200) for role in ("view", "edit", "admin", "owner")],
)
def test_get_permission_matrix(roles, role, status_code):
    response = roles.clients[role].get(f"/api/libraries/{roles.obj.pk}")

    assert response.status_code == status_code
    if status_code != 200:
        assert_error(response, status_code)


@pytest.mark.parametrize("key", ["beta:handbook", "alpha:missing", "00000000-0000-0000-0000-000000000000", "nonsense"])
def test_an_unknown_key_is_a_404(roles, key):
    assert_error(roles.clients["owner"].get(f"/api/libraries/{key}"), 404)


def test_another_tenants_library_is_a_404_even_by_natural_id(roles):
    stranger = roles.users["other_tenant"]
    theirs = make_library(stranger, name="Theirs", slug="theirs")

    assert_error(roles.clients["owner"].get(f"/api/libraries/{theirs.pk}"), 404)
    assert_error(roles.clients["owner"].get("/api/libraries/beta:theirs"), 404)


def test_a_team_share_gives_access(root, tenant, owner):
    from library.services import shares as share_services

    library = make_library(owner)
    member = UserFactory(tenant=tenant)
    team = TeamFactory(tenant=tenant)
    member.groups.add(team)
    share_services.share_set(library=library, principal=team, level=2)

    response = client_for(member).get(f"/api/libraries/{library.pk}")

    assert response.status_code == 200
    assert response.json()["permissions"] == {"edit": True, "sync": True, "delete": False, "share": False}


def test_a_superuser_of_another_tenant_sees_it_with_every_right(roles):
    root_user = UserFactory(tenant=TenantFactory(slug="gamma"), is_superuser=True)

    response = client_for(root_user).get(f"/api/libraries/{roles.obj.pk}")

    assert response.status_code == 200
    assert response.json()["permissions"] == EVERY_RIGHT


# --- List ------------------------------------------------------------------------------------------------


@pytest.fixture
def listed(root, owner):
    """Four libraries of the owner and one of another tenant."""
    made = {
        name: make_library(owner, name=name, slug=slug, description=description, **fields)
        for name, slug, description, fields in [
            ("beta", "beta", "", {"files": 5}),
            ("Alpha", "alpha", "Policies of the shop", {"files": 2, "embedded": True}),
            ("gamma", "gamma", "", {"type": "webdav", "settings": {"url": "https://dav.example.com/"}}),
            ("Delta", "delta", "archive", {"files": 9}),
        ]
    }
    stranger = UserFactory(tenant=TenantFactory(slug="beta"))
    make_library(stranger, name="Alien", slug="alien")
    return made


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["_embedded"]["inf:library"]]


def test_list_envelope(listed, owner):
    response = client_for(owner).get("/api/libraries?limit=2&start=1")

    body = response.json()
    assert set(body) == {"_links", "_embedded", "start", "count", "total"}
    assert (body["start"], body["count"], body["total"]) == (1, 2, 4)
    assert body["_links"]["self"]["href"] == "http://testserver/api/libraries?limit=2&start=1"
    assert body["_links"]["next"]["href"] == "http://testserver/api/libraries?limit=2&start=3"
    assert body["_links"]["prev"]["href"] == "http://testserver/api/libraries?limit=2"
    items = body["_embedded"]["inf:library"]
    assert [item["name"] for item in items] == ["beta", "Delta"]
    for item in items:
        assert set(item) == ITEM_KEYS
        assert item["_links"]["self"]["href"] == f"http://testserver/api/libraries/{item['id']}"
        assert item["permissions"] == EVERY_RIGHT


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Alpha", "beta", "Delta", "gamma"]),
        ("?sort=-name", ["gamma", "Delta", "beta", "Alpha"]),
        ("?sort=-files", ["Delta", "beta", "Alpha", "gamma"]),
        ("?sort=type,name", ["Alpha", "beta", "Delta", "gamma"]),
        ("?q=SHOP", ["Alpha"]),
        ("?q=a", ["Alpha", "beta", "Delta", "gamma"]),
        ("?q=archive", ["Delta"]),
        ("?type=webdav", ["gamma"]),
        ("?type=local&sort=-name", ["Delta", "beta", "Alpha"]),
        ("?embedded=true", ["Alpha"]),
        ("?ownerId=999999", []),
    ],
)
def test_list_sort_search_and_filters(listed, owner, query, expected):
    assert names(client_for(owner).get(f"/api/libraries{query}")) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=settings", "sort"),
        ("sort=bogus", "sort"),
        ("limit=1001", "limit"),
        ("limit=x", "limit"),
        ("start=-1", "start"),
        ("type=ftp", "type"),
        ("ownerId=x", "ownerId"),
        ("embedded=maybe", "embedded"),
        ("q=%00", "q"),
    ],
)
def test_bad_list_parameters_are_a_400(listed, owner, query, field):
    assert_error(client_for(owner).get(f"/api/libraries?{query}"), 400, field)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("other_tenant", []), ("no_share", [])] + [(role, ["Handbook"]) for role in ("view", "edit", "admin", "owner")],
)
def test_list_permission_matrix(roles, role, expected):
    assert names(roles.clients[role].get("/api/libraries")) == expected


def test_anonymous_list_is_a_401(roles):
    assert_error(roles.clients["anonymous"].get("/api/libraries"), 401)


# --- Update ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_update_merges_the_given_fields(roles, root, method):
    make_folder(root, "policies")

    response = getattr(roles.clients["edit"], method)(
        f"/api/libraries/{roles.obj.pk}",
        {"name": "Policies", "settings": {"path": "policies"}, "embedded": True},
        format="json",
    )

    assert response.status_code == 200, response.content
    item = response.json()
    assert (item["name"], item["slug"], item["description"], item["settings"], item["embedded"]) == (
        "Policies",
        "handbook",
        "The staff handbook",
        {"path": "policies"},
        True,
    )
    roles.obj.refresh_from_db()
    assert (roles.obj.name, roles.obj.settings, roles.obj.embedded) == ("Policies", {"path": "policies"}, True)


def test_an_update_is_validated_as_merged(roles, db_state):
    before = state(db_state)

    response = roles.clients["owner"].patch(
        f"/api/libraries/{roles.obj.pk}", {"settings": {"path": "../../etc"}}, format="json"
    )

    assert_error(response, 400, "settings.path")
    assert state(db_state) == before


def test_changing_the_type_validates_the_new_settings(roles, db_state):
    before = state(db_state)

    response = roles.clients["owner"].patch(f"/api/libraries/{roles.obj.pk}", {"type": "webdav"}, format="json")

    assert_error(response, 400, "settings.url")
    assert state(db_state) == before


def test_a_slug_taken_is_a_409_on_update(roles, owner, db_state):
    make_library(owner, name="Other", slug="other")
    before = state(db_state)

    response = roles.clients["owner"].patch(f"/api/libraries/{roles.obj.pk}", {"slug": "other"}, format="json")

    assert_error(response, 409, "slug")
    assert state(db_state) == before


def test_read_only_fields_are_ignored(roles):
    response = roles.clients["owner"].patch(
        f"/api/libraries/{roles.obj.pk}",
        {"id": "x", "ownerId": 1, "files": 99, "size": 5, "syncedAt": None, "naturalId": "x:y", "_links": {}},
        format="json",
    )

    assert response.status_code == 200, response.content
    roles.obj.refresh_from_db()
    assert (roles.obj.files, roles.obj.size, roles.obj.owner_id) == (0, 0, roles.users["owner"].pk)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bogus": 1}, "bogus"),
        ({"name": ""}, "name"),
        ({"type": "ftp"}, "type"),
        ({"settings": {"path": None}}, "settings.path"),
        ({"settings": {"root": "x"}}, "settings.root"),
    ],
)
def test_bad_update_is_a_400(roles, db_state, body, field):
    before = state(db_state)

    response = roles.clients["owner"].patch(f"/api/libraries/{roles.obj.pk}", body, format="json")

    assert_error(response, 400, field)
    assert state(db_state) == before


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404), ("view", 403)]
    + [(role, 200) for role in ("edit", "admin", "owner")],
)
def test_update_permission_matrix(roles, db_state, method, role, status_code):
    # given
    before = state(db_state)

    # when
    response = getattr(roles.clients[role], method)(
        f"/api/libraries/{roles.obj.pk}", {"name": "Renamed"}, format="json"
    )

    # then
    assert response.status_code == status_code
    roles.obj.refresh_from_db()
    if status_code == 200:
        assert roles.obj.name == "Renamed"
    else:
        body = assert_error(response, status_code)
        if status_code == 403:
            assert body["message"] == "You need the 'library:edit' permission for this."
        assert state(db_state) == before


# --- Delete ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404), ("view", 403), ("edit", 403)]
    + [(role, 204) for role in ("admin", "owner")],
)
def test_delete_permission_matrix(roles, root, db_state, role, status_code):
    # given: a file of the library
    LibraryFile.objects.create(library=roles.obj, path="a.txt", filename="a.txt", size=5)
    before = state(db_state)

    # when
    response = roles.clients[role].delete(f"/api/libraries/{roles.obj.pk}")

    # then
    assert response.status_code == status_code
    if status_code == 204:
        assert not Library.objects.filter(pk=roles.obj.pk).exists()
        assert not LibraryFile.objects.exists()
        assert not LibraryUserObjectPermission.objects.filter(content_object_id=roles.obj.pk).exists()
    else:
        assert_error(response, status_code)
        assert state(db_state) == before
    # the remote folder is never touched
    assert (root / "docs" / "a.txt").read_bytes() == b"alpha"


def test_deleting_a_library_while_it_syncs_is_a_409(roles, db_state):
    from django.utils import timezone

    Library.objects.filter(pk=roles.obj.pk).update(sync_started_at=timezone.now())
    before = state(db_state)

    response = roles.clients["owner"].delete(f"/api/libraries/{roles.obj.pk}")

    body = assert_error(response, 409)
    assert body["message"] == "Library 'Handbook' is syncing; delete it once the sync has finished."
    assert state(db_state) == before


def test_no_response_holds_a_secret(roles):
    assert_no_secret(roles.clients["owner"].get(f"/api/libraries/{roles.obj.pk}"))
