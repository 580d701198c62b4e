"""Datasources (§8): ``/api/datasources[/{id}]`` CRUD, list conventions, write-only secrets, safety, permissions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from datasets.models import Datasource, DatasourceUserObjectPermission
from informer import secrets
from tests.conftest import client_for
from tests.datasets.api.roles import (
    SECRET,
    assert_error,
    assert_no_secret,
    datasets_state,
    grant_add,
    make_dataset,
    make_datasource,
    make_roles,
    make_source_file,
)
from tests.factories import TeamFactory, TenantFactory, UserFactory

ITEM_KEYS = {
    "_links",
    "id",
    "name",
    "slug",
    "naturalId",
    "description",
    "type",
    "host",
    "port",
    "database",
    "username",
    "hasPassword",
    "options",
    "ownerId",
    "shared",
    "permissions",
    "createdAt",
    "updatedAt",
}
ALL_PERMISSIONS = {"view_datasource", "change_datasource", "delete_datasource", "share_datasource"}


@pytest.fixture
def root(settings: Any, tmp_path: Path) -> Path:
    """A datasource root of this test's own holding ``sales.sqlite3``."""
    folder = tmp_path / "datasources"
    folder.mkdir()
    settings.INFORMER_DATASOURCE_ROOT = folder
    make_source_file(folder)
    return folder


@pytest.fixture
def creator(owner: Any) -> Any:
    """The owner, allowed to create datasources."""
    return grant_add(owner)


@pytest.fixture
def roles(root: Path, tenant: Any, owner: Any) -> Any:
    return make_roles(tenant, owner, make_datasource(owner, password=SECRET, description="Sales figures"))


def state(db_state: Any) -> dict[str, Any]:
    return {**db_state(), **datasets_state()}


# --- Create ----------------------------------------------------------------------------------------------


def test_create_a_sqlite_datasource(root, creator):
    # given
    body = {
        "name": "Sales DB",
        "type": "sqlite",
        "database": "sales.sqlite3",
        "description": "The shop's sales",
        "password": SECRET,
    }

    # when
    response = client_for(creator).post("/api/datasources", body, format="json")

    # then
    assert response.status_code == 201, response.content
    item = response.json()
    datasource = Datasource.objects.get()
    assert response["Location"] == f"http://testserver/api/datasources/{datasource.pk}"
    assert set(item) == ITEM_KEYS
    assert {key: item[key] for key in ITEM_KEYS - {"_links", "id", "createdAt", "updatedAt"}} == {
        "name": "Sales DB",
        "slug": "sales-db",
        "naturalId": "alpha:sales-db",
        "description": "The shop's sales",
        "type": "sqlite",
        "host": "",
        "port": None,
        "database": "sales.sqlite3",
        "username": "",
        "hasPassword": True,
        "options": {},
        "ownerId": creator.pk,
        "shared": False,
        "permissions": {"edit": True, "delete": True, "share": True},
    }
    assert item["id"] == str(datasource.pk)
    assert item["_links"] == {
        "self": {"href": f"http://testserver/api/datasources/{datasource.pk}"},
        "inf:datasource-shares": {"href": f"http://testserver/api/datasources/{datasource.pk}/shares"},
        "inf:test": {"href": f"http://testserver/api/datasources/{datasource.pk}/_test"},
    }
    assert item["createdAt"].endswith("Z")
    # sealed at rest, opened only with the key
    assert datasource.password_encrypted != SECRET
    assert SECRET not in datasource.password_encrypted
    assert secrets.unseal(datasource.password_encrypted) == SECRET
    assert datasource.tenant_id == creator.tenant_id
    rights = DatasourceUserObjectPermission.objects.filter(content_object=datasource, user=creator)
    assert set(rights.values_list("permission__codename", flat=True)) == ALL_PERMISSIONS
    assert_no_secret(response)


def test_create_with_a_slug_taken_is_a_409(root, creator, db_state):
    # given
    make_datasource(creator)
    before = state(db_state)

    # when
    response = client_for(creator).post(
        "/api/datasources", {"name": "Other", "slug": "sales", "type": "sqlite", "database": "sales.sqlite3"}
    )

    # then
    assert_error(response, 409, "slug")
    assert state(db_state) == before


def test_a_second_datasource_of_the_same_name_gets_a_numbered_slug(root, creator):
    make_datasource(creator, name="Sales", slug="sales")

    response = client_for(creator).post(
        "/api/datasources", {"name": "Sales", "type": "sqlite", "database": "sales.sqlite3"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["slug"] == "sales-2"


def test_creating_needs_the_add_datasource_permission(root, owner, db_state):
    # given: an owner of jobs and datasources, but without the capability
    before = state(db_state)

    # when
    response = client_for(owner).post(
        "/api/datasources", {"name": "Sales", "type": "sqlite", "database": "sales.sqlite3"}, format="json"
    )

    # then
    body = assert_error(response, 403)
    assert body["message"] == "You need the 'datasets.add_datasource' permission to create datasources."
    assert state(db_state) == before


def test_without_the_capability_even_a_bad_body_is_a_403(root, owner, db_state):
    before = state(db_state)

    response = client_for(owner).post("/api/datasources", {"type": "oracle", "bogus": 1}, format="json")

    assert_error(response, 403)
    assert state(db_state) == before


def test_the_capability_can_come_through_a_team(root, tenant, owner):
    # given
    team = TeamFactory(tenant=tenant)
    from django.contrib.auth.models import Permission

    team.permissions.add(Permission.objects.get(codename="add_datasource"))
    owner.groups.add(team)

    # when
    response = client_for(owner).post(
        "/api/datasources", {"name": "Sales", "type": "sqlite", "database": "sales.sqlite3"}, format="json"
    )

    # then
    assert response.status_code == 201


def test_anonymous_create_is_a_401(root, api, db_state):
    before = state(db_state)

    response = api.post("/api/datasources", {"name": "S", "type": "sqlite", "database": "sales.sqlite3"})

    assert_error(response, 401)
    assert state(db_state) == before


BAD_BODIES = [
    ({"type": "sqlite", "database": "sales.sqlite3"}, "name"),
    ({"name": "S", "database": "sales.sqlite3"}, "type"),
    ({"name": "S", "type": "oracle"}, "type"),
    ({"name": "S", "type": 3}, "type"),
    ({"name": "S", "type": "sqlite"}, "database"),
    ({"name": "S", "type": "sqlite", "database": "missing.sqlite3"}, "database"),
    ({"name": "S", "type": "sqlite", "database": "../sales.sqlite3"}, "database"),
    ({"name": "S", "type": "sqlite", "database": "sub/../../sales.sqlite3"}, "database"),
    ({"name": "S", "type": "sqlite", "database": "/etc/passwd"}, "database"),
    ({"name": "S", "type": "sqlite", "database": "outside.sqlite3"}, "database"),  # a symlink out of the root
    ({"name": "S", "type": "sqlite", "database": "sales.sqlite3", "bogus": 1}, "bogus"),
    ({"name": "S", "type": "sqlite", "database": "sales.sqlite3", "options": []}, "options"),
    ({"name": "S", "type": "sqlite", "database": "sales.sqlite3", "options": {"a\u0000": 1}}, "options"),
    ({"name": "S", "type": "sqlite", "database": "sales.sqlite3", "options": {"a": ["\u0000"]}}, "options"),
    ({"name": "S\u0000", "type": "sqlite", "database": "sales.sqlite3"}, "name"),
    ({"name": "S", "type": "sqlite", "database": "sales.sqlite3", "password": 5}, "password"),
    ({"name": "S", "type": "sqlite", "database": "sales.sqlite3", "slug": "not a slug"}, "slug"),
    ({"name": "S", "type": "postgresql", "host": "db", "database": "d", "port": 0}, "port"),
    ({"name": "S", "type": "postgresql", "host": "db", "database": "d", "port": 70000}, "port"),
    ({"name": "S", "type": "postgresql", "host": "10.1.2.3", "database": "d"}, "host"),
    ({"name": "S", "type": "postgresql", "host": "169.254.169.254", "database": "d"}, "host"),
    ({"name": "S", "type": "mysql", "host": "127.0.0.1", "database": "d"}, "host"),
    ({"name": "S", "type": "postgresql", "database": "d"}, "host"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_create_is_a_400_naming_the_field(root, tmp_path, creator, db_state, body, field):
    # given
    outside = tmp_path / "elsewhere.sqlite3"
    make_source_file(tmp_path, "elsewhere.sqlite3")
    (root / "outside.sqlite3").symlink_to(outside)
    before = state(db_state)

    # when
    response = client_for(creator).post("/api/datasources", body, format="json")

    # then
    assert_error(response, 400, field)
    assert state(db_state) == before


def test_the_services_own_database_is_refused(settings, creator, db_state):
    # given: the datasource would name the database this service runs on
    own = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        own_file = Path(own["NAME"])
        settings.INFORMER_DATASOURCE_ROOT = own_file.parent
        body = {"name": "Me", "type": "sqlite", "database": own_file.name}
    else:
        settings.INFORMER_DATASOURCE_ALLOW = ["127.0.0.1", "localhost", own.get("HOST") or "localhost"]
        body = {
            "name": "Me",
            "type": "postgresql",
            "host": own.get("HOST") or "127.0.0.1",
            "port": int(own.get("PORT") or 5432),
            "database": own["NAME"],
        }
    before = state(db_state)

    # when
    response = client_for(creator).post("/api/datasources", body, format="json")

    # then
    body = assert_error(response, 400, "database")
    assert "own database" in body["message"]
    assert state(db_state) == before


# --- Read ------------------------------------------------------------------------------------------------


def test_get_a_datasource_by_id_or_natural_id(roles):
    datasource = roles.obj

    by_id = roles.clients["view"].get(f"/api/datasources/{datasource.pk}")
    by_natural_id = roles.clients["view"].get("/api/datasources/alpha:sales")

    assert by_id.status_code == by_natural_id.status_code == 200
    item = by_id.json()
    assert item == by_natural_id.json()
    assert set(item) == ITEM_KEYS
    assert (item["name"], item["hasPassword"], item["shared"]) == ("Sales", True, True)
    assert item["permissions"] == {"edit": False, "delete": False, "share": False}
    assert_no_secret(by_id)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("view", {"edit": False, "delete": False, "share": False}),
        ("edit", {"edit": True, "delete": False, "share": False}),
        ("admin", {"edit": True, "delete": True, "share": True}),
        ("owner", {"edit": True, "delete": True, "share": True}),
    ],
)
def test_permissions_are_the_callers(roles, role, expected):
    response = roles.clients[role].get(f"/api/datasources/{roles.obj.pk}")

    assert response.json()["permissions"] == expected


@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404)]
    + [(role, 200) for role in ("view", "edit", "admin", "owner")],
)
def test_get_permission_matrix(roles, role, status_code):
    response = roles.clients[role].get(f"/api/datasources/{roles.obj.pk}")

    assert response.status_code == status_code
    if status_code != 200:
        assert_error(response, status_code)
    assert_no_secret(response)


@pytest.mark.parametrize("key", ["beta:sales", "alpha:missing", "00000000-0000-0000-0000-000000000000", "nonsense"])
def test_an_unknown_key_is_a_404(roles, key):
    assert_error(roles.clients["owner"].get(f"/api/datasources/{key}"), 404)


def test_a_team_share_gives_access(root, tenant, owner):
    # given
    from datasets.services import shares as share_services

    datasource = make_datasource(owner)
    member = UserFactory(tenant=tenant)
    team = TeamFactory(tenant=tenant)
    member.groups.add(team)
    share_services.share_set(obj=datasource, principal=team, level=2)

    # when
    response = client_for(member).get(f"/api/datasources/{datasource.pk}")

    # then
    assert response.status_code == 200
    assert response.json()["permissions"] == {"edit": True, "delete": False, "share": False}


def test_a_superuser_of_another_tenant_sees_it_with_every_right(roles):
    root_user = UserFactory(tenant=TenantFactory(slug="gamma"), is_superuser=True)

    response = client_for(root_user).get(f"/api/datasources/{roles.obj.pk}")

    assert response.status_code == 200
    assert response.json()["permissions"] == {"edit": True, "delete": True, "share": True}


# --- List ------------------------------------------------------------------------------------------------


@pytest.fixture
def listed(root, tenant, owner):
    """Four datasources of the owner and one of another tenant."""
    made = {
        name: make_datasource(owner, name=name, slug=slug, description=description, **fields)
        for name, slug, description, fields in [
            ("beta", "beta", "", {}),
            ("Alpha", "alpha", "Orders of the shop", {}),
            ("gamma", "gamma", "", {"type": "postgresql", "host": "db.example.com", "database": "shop"}),
            ("Delta", "delta", "archive", {}),
        ]
    }
    stranger = UserFactory(tenant=TenantFactory(slug="beta"))
    make_datasource(stranger, name="Alien", slug="alien")
    return made


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["_embedded"]["inf:datasource"]]


def test_list_envelope(listed, owner):
    response = client_for(owner).get("/api/datasources?limit=2&start=1")

    body = response.json()
    assert set(body) == {"_links", "_embedded", "start", "count", "total"}
    assert (body["start"], body["count"], body["total"]) == (1, 2, 4)
    assert body["_links"]["self"]["href"] == "http://testserver/api/datasources?limit=2&start=1"
    assert body["_links"]["next"]["href"] == "http://testserver/api/datasources?limit=2&start=3"
    assert body["_links"]["prev"]["href"] == "http://testserver/api/datasources?limit=2"
    items = body["_embedded"]["inf:datasource"]
    assert [item["name"] for item in items] == ["beta", "Delta"]
    for item in items:
        assert set(item) == ITEM_KEYS
        assert item["_links"]["self"]["href"] == f"http://testserver/api/datasources/{item['id']}"
        assert item["permissions"] == {"edit": True, "delete": True, "share": True}
    assert_no_secret(response)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Alpha", "beta", "Delta", "gamma"]),
        ("?sort=-name", ["gamma", "Delta", "beta", "Alpha"]),
        ("?sort=type,name", ["gamma", "Alpha", "beta", "Delta"]),
        ("?q=SHOP", ["Alpha"]),
        ("?q=a", ["Alpha", "beta", "Delta", "gamma"]),
        ("?q=archive", ["Delta"]),
        ("?type=postgresql", ["gamma"]),
        ("?type=sqlite&sort=-name", ["Delta", "beta", "Alpha"]),
        ("?ownerId=999999", []),
    ],
)
def test_list_sort_search_and_filters(listed, owner, query, expected):
    assert names(client_for(owner).get(f"/api/datasources{query}")) == expected


def test_list_filters_by_owner(listed, owner):
    assert names(client_for(owner).get(f"/api/datasources?ownerId={owner.pk}")) == ["Alpha", "beta", "Delta", "gamma"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=password", "sort"),
        ("sort=bogus", "sort"),
        ("limit=1001", "limit"),
        ("limit=x", "limit"),
        ("start=-1", "start"),
        ("type=oracle", "type"),
        ("ownerId=x", "ownerId"),
        ("q=%00", "q"),
    ],
)
def test_bad_list_parameters_are_a_400(listed, owner, query, field):
    assert_error(client_for(owner).get(f"/api/datasources?{query}"), 400, field)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("other_tenant", []),
        ("no_share", []),
        ("view", ["Sales"]),
        ("edit", ["Sales"]),
        ("admin", ["Sales"]),
        ("owner", ["Sales"]),
    ],
)
def test_list_permission_matrix(roles, role, expected):
    assert names(roles.clients[role].get("/api/datasources")) == expected


def test_anonymous_list_is_a_401(roles):
    assert_error(roles.clients["anonymous"].get("/api/datasources"), 401)


# --- Update ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_update_without_password_keeps_it(roles, method):
    # given
    datasource = roles.obj

    # when
    response = getattr(roles.clients["edit"], method)(
        f"/api/datasources/{datasource.pk}", {"name": "Sales (read replica)", "description": ""}, format="json"
    )

    # then
    assert response.status_code == 200, response.content
    item = response.json()
    assert (item["name"], item["description"], item["slug"], item["hasPassword"]) == (
        "Sales (read replica)",
        "",
        "sales",
        True,
    )
    datasource.refresh_from_db()
    assert secrets.unseal(datasource.password_encrypted) == SECRET
    assert_no_secret(response)


@pytest.mark.parametrize(("given", "expected"), [("", SECRET), (None, ""), ("n3w-secret", "n3w-secret")])
def test_password_blank_keeps_null_clears_a_value_replaces(roles, given, expected):
    # when
    response = roles.clients["owner"].put(f"/api/datasources/{roles.obj.pk}", {"password": given}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["hasPassword"] is bool(expected)
    roles.obj.refresh_from_db()
    assert secrets.unseal(roles.obj.password_encrypted) == expected
    assert_no_secret(response, "n3w-secret")


def test_an_update_is_validated_as_merged(roles, db_state):
    # given
    before = state(db_state)

    # when: the stored file is fine, the new one is outside the root
    response = roles.clients["owner"].patch(
        f"/api/datasources/{roles.obj.pk}", {"database": "../sales.sqlite3"}, format="json"
    )

    # then
    assert_error(response, 400, "database")
    assert state(db_state) == before


def test_changing_the_type_validates_the_new_settings(roles, db_state):
    before = state(db_state)

    response = roles.clients["owner"].patch(f"/api/datasources/{roles.obj.pk}", {"type": "postgresql"}, format="json")

    assert_error(response, 400, "host")
    assert state(db_state) == before


def test_a_slug_taken_is_a_409_on_update(roles, owner, db_state):
    make_datasource(owner, name="Other", slug="other")
    before = state(db_state)

    response = roles.clients["owner"].patch(f"/api/datasources/{roles.obj.pk}", {"slug": "other"}, format="json")

    assert_error(response, 409, "slug")
    assert state(db_state) == before


def test_read_only_fields_are_ignored(roles):
    response = roles.clients["owner"].patch(
        f"/api/datasources/{roles.obj.pk}",
        {"id": "x", "ownerId": 1, "hasPassword": False, "naturalId": "x:y", "_links": {}, "shared": False},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["hasPassword"] is True
    assert response.json()["ownerId"] == roles.users["owner"].pk


@pytest.mark.parametrize(("body", "field"), [({"bogus": 1}, "bogus"), ({"name": ""}, "name"), ({"port": "x"}, "port")])
def test_bad_update_is_a_400(roles, db_state, body, field):
    before = state(db_state)

    response = roles.clients["owner"].patch(f"/api/datasources/{roles.obj.pk}", body, format="json")

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
        f"/api/datasources/{roles.obj.pk}", {"name": "Renamed", "password": "other-secret"}, format="json"
    )

    # then
    assert response.status_code == status_code
    roles.obj.refresh_from_db()
    if status_code == 200:
        assert roles.obj.name == "Renamed"
        assert secrets.unseal(roles.obj.password_encrypted) == "other-secret"
    else:
        body = assert_error(response, status_code)
        if status_code == 403:
            assert body["message"] == "You need the 'datasource:edit' permission for this."
        assert state(db_state) == before
    assert_no_secret(response, "other-secret")


# --- Delete ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404), ("view", 403), ("edit", 403)]
    + [(role, 204) for role in ("admin", "owner")],
)
def test_delete_permission_matrix(roles, db_state, role, status_code):
    # given
    before = state(db_state)

    # when
    response = roles.clients[role].delete(f"/api/datasources/{roles.obj.pk}")

    # then
    assert response.status_code == status_code
    if status_code == 204:
        assert not Datasource.objects.filter(pk=roles.obj.pk).exists()
        assert not DatasourceUserObjectPermission.objects.filter(content_object_id=roles.obj.pk).exists()
    else:
        assert_error(response, status_code)
        assert state(db_state) == before


def test_deleting_a_datasource_datasets_read_is_a_409(roles, db_state):
    # given
    make_dataset(roles.users["owner"], roles.obj)
    before = state(db_state)

    # when
    response = roles.clients["owner"].delete(f"/api/datasources/{roles.obj.pk}")

    # then
    body = assert_error(response, 409)
    assert body["message"] == "Datasource 'Sales' cannot be deleted: 1 dataset reads it."
    assert state(db_state) == before
