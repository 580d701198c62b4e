"""Library shares (§3, §9): ``/api/libraries/{id}/shares[/{principalId}]``, as a job's shares.

Levels: 1 view (read, download), 2 + edit, upload, delete files and sync, 3 + delete and share.
"""

from __future__ import annotations

from typing import Any

import pytest

from library import selectors
from library.models import LibraryGroupObjectPermission, LibraryUserObjectPermission
from library.services import shares as share_services
from tests.conftest import client_for
from tests.factories import TeamFactory, UserFactory
from tests.library.api.roles import ERROR_KEYS, Roles, assert_error, library_state, make_library, make_roles

LEVELS = {
    0: set(),
    1: {"view_library"},
    2: {"view_library", "change_library", "sync_library"},
    3: {"view_library", "change_library", "sync_library", "delete_library", "share_library"},
}


def readable(user: Any, library: Any) -> bool:
    """Whether ``user`` can read the library through the API now."""
    return client_for(user).get(f"/api/libraries/{library.pk}").status_code == 200


def user_codenames(library: Any, user: Any) -> set[str]:
    rows = LibraryUserObjectPermission.objects.filter(content_object=library, user=user)
    return set(rows.values_list("permission__codename", flat=True))


def group_codenames(library: Any, group: Any) -> set[str]:
    rows = LibraryGroupObjectPermission.objects.filter(content_object=library, group=group)
    return set(rows.values_list("permission__codename", flat=True))


def permission_rows_except(library: Any, *, user: Any = None, group: Any = None) -> list[tuple[Any, ...]]:
    """Every permission row of the library tables except those of one principal on ``library``."""
    users = LibraryUserObjectPermission.objects.exclude(content_object=library, user=user)
    groups = LibraryGroupObjectPermission.objects.exclude(content_object=library, group=group)
    return sorted(users.values_list("content_object_id", "user_id", "permission_id")) + sorted(
        groups.values_list("content_object_id", "group_id", "permission_id")
    )


@pytest.fixture
def roles(tenant: Any, owner: Any) -> Roles:
    return make_roles(tenant, owner, make_library(owner))


@pytest.fixture
def team(tenant: Any) -> Any:
    return TeamFactory(name="analysts", display_name="The Analysts", tenant=tenant)


def state(db_state: Any) -> dict[str, Any]:
    return {**db_state(), **library_state()}


def test_share_list_envelope_and_items(roles, team):
    # given
    share_services.share_set(library=roles.obj, principal=team, level=1)

    # when: addressed by natural id, the links still use the UUID
    response = roles.clients["view"].get("/api/libraries/alpha:handbook/shares")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"_links", "_embedded", "start", "count", "total"}
    assert body["_links"]["self"]["href"] == "http://testserver/api/libraries/alpha:handbook/shares"
    items = body["_embedded"]["inf:share"]
    assert (body["start"], body["count"], body["total"]) == (0, 5, 5)
    users = roles.users
    summary = [(item["principalId"], item["type"], item["name"], item["accessLevel"]) for item in items]
    assert summary == [
        (f"user:{users['edit'].pk}", "user", "editor", 2),
        (f"user:{users['owner'].pk}", "user", "owner", 3),
        (f"user:{users['admin'].pk}", "user", "sharer", 3),
        (f"user:{users['view'].pk}", "user", "viewer", 1),
        (f"group:{team.pk}", "group", "analysts", 1),
    ]
    assert items[-1]["displayName"] == "The Analysts"
    for item in items:
        assert set(item) == {"_links", "principalId", "type", "name", "displayName", "accessLevel"}
        href = f"http://testserver/api/libraries/{roles.obj.pk}/shares/{item['principalId']}"
        assert item["_links"]["self"]["href"] == href
        assert roles.clients["view"].get(href).json() == item


def test_share_of_a_principal_without_access_is_level_0(roles):
    principal = f"user:{roles.users['no_share'].pk}"

    response = roles.clients["owner"].get(f"/api/libraries/{roles.obj.pk}/shares/{principal}")

    assert response.status_code == 200
    assert (response.json()["accessLevel"], response.json()["principalId"]) == (0, principal)


def test_share_get_reports_direct_access_only(roles, team):
    # given: a member of a level-2 team with no direct share
    member = UserFactory(tenant=roles.obj.tenant)
    member.groups.add(team)
    share_services.share_set(library=roles.obj, principal=team, level=2)

    # when
    response = roles.clients["owner"].get(f"/api/libraries/{roles.obj.pk}/shares/user:{member.pk}")

    # then
    assert response.json()["accessLevel"] == 0
    assert readable(member, roles.obj) is True


@pytest.mark.parametrize("old", [0, 1, 2, 3])
@pytest.mark.parametrize("new", [0, 1, 2, 3])
def test_put_user_access_level_sets_exactly_that_permission_set(roles, old, new):
    # given
    target = roles.users["no_share"]
    share_services.share_set(library=roles.obj, principal=target, level=old)
    others = permission_rows_except(roles.obj, user=target)

    # when
    response = roles.clients["admin"].put(
        f"/api/libraries/{roles.obj.pk}/shares/user:{target.pk}", {"accessLevel": new}, format="json"
    )

    # then
    assert response.status_code == 200, response.content
    assert (response.json()["accessLevel"], response.json()["principalId"]) == (new, f"user:{target.pk}")
    assert user_codenames(roles.obj, target) == LEVELS[new]
    assert permission_rows_except(roles.obj, user=target) == others
    assert readable(target, roles.obj) is bool(new)


@pytest.mark.parametrize("new", [0, 1, 2, 3])
def test_put_group_access_level_sets_exactly_that_permission_set(roles, team, new):
    # given
    share_services.share_set(library=roles.obj, principal=team, level=2)
    others = permission_rows_except(roles.obj, group=team)

    # when
    response = roles.clients["owner"].put(
        f"/api/libraries/{roles.obj.pk}/shares/group:{team.pk}", {"accessLevel": new}, format="json"
    )

    # then
    assert response.status_code == 200
    assert response.json()["type"] == "group"
    assert group_codenames(roles.obj, team) == LEVELS[new]
    assert permission_rows_except(roles.obj, group=team) == others


def test_put_share_ignores_read_only_keys(roles):
    target = roles.users["no_share"]

    response = roles.clients["owner"].put(
        f"/api/libraries/{roles.obj.pk}/shares/user:{target.pk}",
        {"accessLevel": 1, "principalId": "user:1", "name": "x", "_links": {}},
        format="json",
    )

    assert response.status_code == 200
    assert user_codenames(roles.obj, target) == LEVELS[1]


def test_delete_share_removes_every_permission_of_that_principal(roles):
    # given
    target = roles.users["admin"]
    others = permission_rows_except(roles.obj, user=target)

    # when
    response = roles.clients["owner"].delete(f"/api/libraries/{roles.obj.pk}/shares/user:{target.pk}")

    # then
    assert response.status_code == 204
    assert user_codenames(roles.obj, target) == set()
    assert permission_rows_except(roles.obj, user=target) == others


def test_an_admin_can_remove_their_own_access(roles):
    target = roles.users["admin"]

    response = roles.clients["admin"].delete(f"/api/libraries/{roles.obj.pk}/shares/user:{target.pk}")

    assert response.status_code == 204
    assert readable(target, roles.obj) is False
    assert roles.clients["admin"].get(f"/api/libraries/{roles.obj.pk}/shares").status_code == 404


@pytest.mark.parametrize("level", [4, -1, "x", None, 1.5, "", [1], {"level": 1}])
def test_bad_access_level_is_a_400_naming_it(roles, db_state, level):
    # given
    before = state(db_state)

    # when
    response = roles.clients["owner"].put(
        f"/api/libraries/{roles.obj.pk}/shares/user:{roles.users['no_share'].pk}", {"accessLevel": level}, format="json"
    )

    # then
    body = assert_error(response, 400, "accessLevel")
    assert list(body["details"]) == ["accessLevel"]
    assert state(db_state) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "accessLevel"), ({"accessLevel": 1, "bogus": True}, "bogus"), ({"level": 1}, "level")],
)
def test_bad_share_body_is_a_400(roles, db_state, body, field):
    before = state(db_state)

    response = roles.clients["owner"].put(
        f"/api/libraries/{roles.obj.pk}/shares/user:{roles.users['no_share'].pk}", body, format="json"
    )

    assert_error(response, 400, field)
    assert state(db_state) == before


@pytest.mark.parametrize("method", ["get", "put", "delete"])
@pytest.mark.parametrize("who", ["other tenant user", "other tenant team", "missing user", "missing team"])
def test_principal_outside_the_tenant_is_a_404(roles, db_state, method, who):
    # given
    beta = roles.users["other_tenant"].tenant
    principal = {
        "other tenant user": lambda: f"user:{roles.users['other_tenant'].pk}",
        "other tenant team": lambda: f"group:{TeamFactory(tenant=beta).pk}",
        "missing user": lambda: "user:999999",
        "missing team": lambda: "group:999999",
    }[who]()
    before = state(db_state)

    # when
    kwargs = {"data": {"accessLevel": 1}, "format": "json"} if method == "put" else {}
    response = getattr(roles.clients["owner"], method)(f"/api/libraries/{roles.obj.pk}/shares/{principal}", **kwargs)

    # then
    assert_error(response, 404)
    assert state(db_state) == before


@pytest.mark.parametrize("method", ["get", "put", "delete"])
@pytest.mark.parametrize(
    "principal", ["user", "user:", "user:abc", "admin:1", "1", "group:-1", "USER:1", "user:\u0661"]
)
def test_malformed_principal_id_is_a_400_naming_it(roles, db_state, method, principal):
    # given
    before = state(db_state)

    # when
    kwargs = {"data": {"accessLevel": 1}, "format": "json"} if method == "put" else {}
    response = getattr(roles.clients["owner"], method)(f"/api/libraries/{roles.obj.pk}/shares/{principal}", **kwargs)

    # then
    body = assert_error(response, 400)
    assert list(body["details"]) == ["principalId"]
    assert principal in body["message"]
    assert state(db_state) == before


@pytest.mark.parametrize(("method", "level"), [("put", 0), ("put", 1), ("put", 2), ("delete", None)])
def test_lowering_the_owner_below_admin_is_a_409(roles, db_state, method, level):
    # given
    owner = roles.users["owner"]
    before = state(db_state)

    # when
    kwargs = {"data": {"accessLevel": level}, "format": "json"} if method == "put" else {}
    response = getattr(roles.clients["admin"], method)(
        f"/api/libraries/{roles.obj.pk}/shares/user:{owner.pk}", **kwargs
    )

    # then
    body = assert_error(response, 409)
    assert "accessLevel" in body["details"]
    assert body["message"] == "The owner always has admin access to their library."
    assert user_codenames(roles.obj, owner) == LEVELS[3]
    assert state(db_state) == before


def test_setting_the_owner_to_admin_is_a_no_op(roles, db_state):
    owner = roles.users["owner"]
    before = state(db_state)

    response = roles.clients["owner"].put(
        f"/api/libraries/{roles.obj.pk}/shares/user:{owner.pk}", {"accessLevel": 3}, format="json"
    )

    assert response.status_code == 200
    assert state(db_state) == before


READ_MATRIX = [("anonymous", 401), ("other_tenant", 404), ("no_share", 404)] + [
    (role, 200) for role in ("view", "edit", "admin", "owner")
]
WRITE_MATRIX = [("anonymous", 401), ("other_tenant", 404), ("no_share", 404), ("view", 403), ("edit", 403)] + [
    (role, 200) for role in ("admin", "owner")
]


@pytest.mark.parametrize(("role", "status_code"), READ_MATRIX)
@pytest.mark.parametrize("route", ["list", "detail"])
def test_read_permission_matrix(roles, db_state, role, status_code, route):
    # given
    before = state(db_state)
    path = f"/api/libraries/{roles.obj.pk}/shares"
    if route == "detail":
        path += f"/user:{roles.users['view'].pk}"

    # when
    response = roles.clients[role].get(path)

    # then
    assert response.status_code == status_code
    if status_code != 200:
        assert_error(response, status_code)
    assert state(db_state) == before


@pytest.mark.parametrize(("role", "status_code"), WRITE_MATRIX)
@pytest.mark.parametrize("method", ["put", "delete"])
def test_write_permission_matrix(roles, db_state, role, status_code, method):
    # given
    target = roles.users["view"]
    before = state(db_state)

    # when
    kwargs = {"data": {"accessLevel": 2}, "format": "json"} if method == "put" else {}
    response = getattr(roles.clients[role], method)(f"/api/libraries/{roles.obj.pk}/shares/user:{target.pk}", **kwargs)

    # then
    if status_code == 200:
        assert response.status_code == (200 if method == "put" else 204)
        assert user_codenames(roles.obj, target) == LEVELS[2 if method == "put" else 0]
    else:
        body = assert_error(response, status_code)
        if status_code == 403:
            assert body["message"] == "You need the 'library:share' permission for this."
        assert set(body) == ERROR_KEYS
        assert state(db_state) == before


def test_a_superuser_of_another_tenant_may_share(roles):
    from tests.factories import TenantFactory

    root_user = UserFactory(tenant=TenantFactory(slug="gamma"), is_superuser=True)
    target = roles.users["no_share"]

    response = client_for(root_user).put(
        f"/api/libraries/{roles.obj.pk}/shares/user:{target.pk}", {"accessLevel": 1}, format="json"
    )

    assert response.status_code == 200
    assert user_codenames(roles.obj, target) == LEVELS[1]


@pytest.mark.parametrize(("level", "syncable"), [(0, False), (1, False), (2, True), (3, True)])
def test_level_2_is_what_a_sync_needs(roles, level, syncable):
    # given
    target = roles.users["no_share"]
    share_services.share_set(library=roles.obj, principal=target, level=level)

    # when
    syncable_ones = selectors.library_list_for_user(target, permission="sync_library")

    # then
    assert syncable_ones.filter(pk=roles.obj.pk).exists() is syncable
