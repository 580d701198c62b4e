"""Shares (§3): ``/api/jobs/{id}/shares[/{principalId}]`` and ``/api/principals``."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.models import Job, JobGroupObjectPermission, JobUserObjectPermission
from jobs.services import shares as share_services
from tests.conftest import client_for
from tests.factories import JobFactory, TeamFactory, TenantFactory, UserFactory

ERROR_KEYS = {"statusCode", "error", "message", "details"}
LEVELS = {
    0: set(),
    1: {"view_job"},
    2: {"view_job", "change_job", "run_job"},
    3: {"view_job", "change_job", "run_job", "delete_job", "share_job"},
}


def user_codenames(job: Job, user: Any) -> set[str]:
    rows = JobUserObjectPermission.objects.filter(content_object=job, user=user)
    return set(rows.values_list("permission__codename", flat=True))


def group_codenames(job: Job, group: Any) -> set[str]:
    rows = JobGroupObjectPermission.objects.filter(content_object=job, group=group)
    return set(rows.values_list("permission__codename", flat=True))


def permission_rows_except(job: Job, *, user: Any = None, group: Any = None) -> list[tuple[Any, ...]]:
    """Every permission row of the tables except those of one principal on ``job``."""
    users = JobUserObjectPermission.objects.exclude(content_object=job, user=user)
    groups = JobGroupObjectPermission.objects.exclude(content_object=job, group=group)
    return sorted(users.values_list("content_object_id", "user_id", "permission_id")) + sorted(
        groups.values_list("content_object_id", "group_id", "permission_id")
    )


@pytest.fixture
def team(tenant):
    return TeamFactory(name="analysts", display_name="The Analysts", tenant=tenant)


def test_share_list_envelope_and_items(roles, team):
    # given
    share_services.share_set(job=roles.job, principal=team, level=1)
    job = roles.job

    # when: addressed by natural id, the links still use the job's UUID
    response = roles.clients["view"].get("/api/jobs/alpha:nightly/shares")

    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"_links", "_embedded", "start", "count", "total"}
    assert body["_links"]["self"]["href"] == "http://testserver/api/jobs/alpha:nightly/shares"
    items = body["_embedded"]["inf:share"]
    assert (body["start"], body["count"], body["total"]) == (0, 5, 5)
    summary = [(item["principalId"], item["type"], item["name"], item["accessLevel"]) for item in items]
    users = roles.users
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
        assert item["_links"]["self"]["href"] == (f"http://testserver/api/jobs/{job.pk}/shares/{item['principalId']}")
        assert roles.clients["view"].get(item["_links"]["self"]["href"]).json() == item


def test_share_of_a_principal_without_access_is_level_0(roles):
    principal = f"user:{roles.users['no_share'].pk}"

    response = roles.clients["owner"].get(f"/api/jobs/{roles.job.pk}/shares/{principal}")

    assert response.status_code == 200
    assert response.json()["accessLevel"] == 0
    assert response.json()["principalId"] == principal


def test_share_get_reports_direct_access_only(roles, team):
    # given: a member of a level-2 team with no direct share
    member = UserFactory(tenant=roles.job.tenant)
    member.groups.add(team)
    share_services.share_set(job=roles.job, principal=team, level=2)

    # when
    response = roles.clients["owner"].get(f"/api/jobs/{roles.job.pk}/shares/user:{member.pk}")

    # then
    assert response.json()["accessLevel"] == 0


@pytest.mark.parametrize("old", [0, 1, 2, 3])
@pytest.mark.parametrize("new", [0, 1, 2, 3])
def test_put_user_access_level_sets_exactly_that_permission_set(roles, old, new):
    # given
    target = roles.users["no_share"]
    share_services.share_set(job=roles.job, principal=target, level=old)
    others = permission_rows_except(roles.job, user=target)

    # when
    response = roles.clients["admin"].put(
        f"/api/jobs/{roles.job.pk}/shares/user:{target.pk}", {"accessLevel": new}, format="json"
    )

    # then
    assert response.status_code == 200, response.content
    assert response.json()["accessLevel"] == new
    assert response.json()["principalId"] == f"user:{target.pk}"
    assert user_codenames(roles.job, target) == LEVELS[new]
    assert permission_rows_except(roles.job, user=target) == others
    visible = client_for(target).get(f"/api/jobs/{roles.job.pk}").status_code
    assert visible == (200 if new else 404)


@pytest.mark.parametrize("new", [0, 1, 2, 3])
def test_put_group_access_level_sets_exactly_that_permission_set(roles, team, new):
    # given
    share_services.share_set(job=roles.job, principal=team, level=2)
    others = permission_rows_except(roles.job, group=team)

    # when
    response = roles.clients["owner"].put(
        f"/api/jobs/{roles.job.pk}/shares/group:{team.pk}", {"accessLevel": new}, format="json"
    )

    # then
    assert response.status_code == 200
    assert response.json()["type"] == "group"
    assert group_codenames(roles.job, team) == LEVELS[new]
    assert permission_rows_except(roles.job, group=team) == others


def test_put_share_ignores_read_only_keys(roles):
    target = roles.users["no_share"]

    response = roles.clients["owner"].put(
        f"/api/jobs/{roles.job.pk}/shares/user:{target.pk}",
        {"accessLevel": 1, "principalId": "user:1", "name": "x", "_links": {}},
        format="json",
    )

    assert response.status_code == 200
    assert user_codenames(roles.job, target) == LEVELS[1]


def test_delete_share_removes_every_permission_of_that_principal(roles):
    # given
    target = roles.users["admin"]
    others = permission_rows_except(roles.job, user=target)

    # when
    response = roles.clients["owner"].delete(f"/api/jobs/{roles.job.pk}/shares/user:{target.pk}")

    # then
    assert response.status_code == 204
    assert user_codenames(roles.job, target) == set()
    assert permission_rows_except(roles.job, user=target) == others


def test_an_admin_can_remove_their_own_access(roles):
    target = roles.users["admin"]

    response = roles.clients["admin"].delete(f"/api/jobs/{roles.job.pk}/shares/user:{target.pk}")

    assert response.status_code == 204
    assert roles.clients["admin"].get(f"/api/jobs/{roles.job.pk}").status_code == 404


@pytest.mark.parametrize("level", [4, -1, "x", None, 1.5, "", [1], {"level": 1}])
def test_bad_access_level_is_a_400_naming_it(roles, db_state, level):
    # given
    before = db_state()

    # when
    response = roles.clients["owner"].put(
        f"/api/jobs/{roles.job.pk}/shares/user:{roles.users['no_share'].pk}", {"accessLevel": level}, format="json"
    )

    # then
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert list(body["details"]) == ["accessLevel"]
    assert "accessLevel" in body["message"]
    assert db_state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "accessLevel"), ({"accessLevel": 1, "bogus": True}, "bogus"), ({"level": 1}, "level")],
)
def test_bad_share_body_is_a_400(roles, db_state, body, field):
    before = db_state()

    response = roles.clients["owner"].put(
        f"/api/jobs/{roles.job.pk}/shares/user:{roles.users['no_share'].pk}", body, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["details"]
    assert db_state() == before


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
    before = db_state()

    # when
    kwargs = {"data": {"accessLevel": 1}, "format": "json"} if method == "put" else {}
    response = getattr(roles.clients["owner"], method)(f"/api/jobs/{roles.job.pk}/shares/{principal}", **kwargs)

    # then
    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS
    assert db_state() == before


@pytest.mark.parametrize("method", ["get", "put", "delete"])
@pytest.mark.parametrize("principal", ["user", "user:", "user:abc", "admin:1", "1", "group:-1", "user:1:2", "USER:1"])
def test_malformed_principal_id_is_a_400_naming_it(roles, db_state, method, principal):
    # given
    before = db_state()

    # when
    kwargs = {"data": {"accessLevel": 1}, "format": "json"} if method == "put" else {}
    response = getattr(roles.clients["owner"], method)(f"/api/jobs/{roles.job.pk}/shares/{principal}", **kwargs)

    # then
    assert response.status_code == 400
    body = response.json()
    assert list(body["details"]) == ["principalId"]
    assert principal in body["message"]
    assert db_state() == before


@pytest.mark.parametrize(("method", "level"), [("put", 0), ("put", 1), ("put", 2), ("delete", None)])
def test_lowering_the_owner_below_admin_is_a_409(roles, db_state, method, level):
    # given
    owner = roles.users["owner"]
    before = db_state()

    # when
    kwargs = {"data": {"accessLevel": level}, "format": "json"} if method == "put" else {}
    response = getattr(roles.clients["admin"], method)(f"/api/jobs/{roles.job.pk}/shares/user:{owner.pk}", **kwargs)

    # then
    assert response.status_code == 409
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert "accessLevel" in body["details"]
    assert user_codenames(roles.job, owner) == LEVELS[3]
    assert db_state() == before


def test_setting_the_owner_to_admin_is_a_no_op(roles, db_state):
    owner = roles.users["owner"]
    before = db_state()

    response = roles.clients["owner"].put(
        f"/api/jobs/{roles.job.pk}/shares/user:{owner.pk}", {"accessLevel": 3}, format="json"
    )

    assert response.status_code == 200
    assert db_state() == before


# --- Principals ---------------------------------------------------------------------------------------


@pytest.fixture
def people(tenant, owner):
    alice = UserFactory(username="alice", first_name="Alice", last_name="Martin", tenant=tenant)
    bob = UserFactory(username="bob", first_name="Robert", last_name="Analyst", tenant=tenant)
    UserFactory(username="gone", tenant=tenant, is_active=False)
    finance = TeamFactory(name="finance", display_name="Finance team", tenant=tenant)
    analysts = TeamFactory(name="analysts", tenant=tenant)
    beta = TenantFactory(slug="beta")
    UserFactory(username="alice-beta", tenant=beta)
    TeamFactory(name="analysts-beta", tenant=beta)
    return {"owner": owner, "alice": alice, "bob": bob, "finance": finance, "analysts": analysts}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("", ["user:alice", "user:bob", "user:owner", "group:analysts", "group:finance"]),
        ("alice", ["user:alice"]),
        ("ALICE", ["user:alice"]),
        ("martin", ["user:alice"]),
        ("analyst", ["user:bob", "group:analysts"]),
        ("Finance Team", ["group:finance"]),
        ("beta", []),
        ("gone", []),
    ],
)
def test_principals_lists_the_callers_tenant_only(people, q, expected):
    # given
    names = {f"user:{people[key].pk}": f"user:{key}" for key in ("owner", "alice", "bob")} | {
        f"group:{people[key].pk}": f"group:{key}" for key in ("finance", "analysts")
    }

    # when
    response = client_for(people["owner"]).get("/api/principals", {"q": q})

    # then
    assert response.status_code == 200
    items = response.json()["_embedded"]["inf:principal"]
    assert [names.get(item["id"], item["id"]) for item in items] == expected


def test_principal_items(people):
    body = client_for(people["owner"]).get("/api/principals?q=a").json()

    by_id = {item["id"]: item for item in body["_embedded"]["inf:principal"]}
    assert by_id[f"user:{people['alice'].pk}"] == {
        "id": f"user:{people['alice'].pk}",
        "type": "user",
        "name": "alice",
        "displayName": "Alice Martin",
    }
    assert by_id[f"group:{people['finance'].pk}"] == {
        "id": f"group:{people['finance'].pk}",
        "type": "group",
        "name": "finance",
        "displayName": "Finance team",
    }
    assert by_id[f"group:{people['analysts'].pk}"]["displayName"] == "analysts"


def test_principal_ids_are_share_ids(people):
    # given
    owner = people["owner"]
    job = JobFactory(owner=owner)
    client = client_for(owner)
    principals = client.get("/api/principals").json()["_embedded"]["inf:principal"]

    # when
    statuses = [
        client.put(f"/api/jobs/{job.pk}/shares/{item['id']}", {"accessLevel": 3}, format="json").status_code
        for item in principals
    ]

    # then
    assert statuses == [200] * 5
    listed = {item["principalId"] for item in client.get(f"/api/jobs/{job.pk}/shares").json()["_embedded"]["inf:share"]}
    assert listed == {item["id"] for item in principals}


@pytest.mark.parametrize("limit", ["abc", "-1", "1001", "1.5"])
def test_principals_bad_limit_is_a_400(people, limit):
    response = client_for(people["owner"]).get("/api/principals", {"limit": limit})

    assert response.status_code == 400
    assert list(response.json()["details"]) == ["limit"]


def test_principals_limit(people):
    body = client_for(people["owner"]).get("/api/principals?limit=2").json()

    assert (len(body["_embedded"]["inf:principal"]), body["count"], body["total"]) == (2, 2, 5)


# A principal id's number is ASCII digits: str.isdigit() and int() read other scripts' digits too.
NON_ASCII_IDS = ["user:\u0661", "group:\u0661", "user:\uff11", "user:\u00b9", "user:\U0001d7cf", "user:1\u0660"]


@pytest.mark.parametrize("method", ["get", "put", "delete"])
@pytest.mark.parametrize("principal", NON_ASCII_IDS)
def test_a_principal_id_in_other_digits_is_a_400_not_user_1(roles, db_state, method, principal):
    # given: the owner is a user with a small id, which int() would have found behind these
    before = db_state()

    # when
    kwargs = {"data": {"accessLevel": 1}, "format": "json"} if method == "put" else {}
    response = getattr(roles.clients["owner"], method)(f"/api/jobs/{roles.job.pk}/shares/{principal}", **kwargs)

    # then
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert list(body["details"]) == ["principalId"]
    assert principal in body["message"]
    assert db_state() == before


@pytest.mark.parametrize("method", ["get", "put", "delete"])
@pytest.mark.parametrize("number", [str(2**63), "9" * 30, "9" * 5000])
def test_a_principal_id_past_the_64_bit_range_is_a_404(roles, db_state, method, number):
    before = db_state()

    kwargs = {"data": {"accessLevel": 1}, "format": "json"} if method == "put" else {}
    response = getattr(roles.clients["owner"], method)(f"/api/jobs/{roles.job.pk}/shares/user:{number}", **kwargs)

    assert response.status_code == 404, response.content
    assert set(response.json()) == ERROR_KEYS
    assert db_state() == before


def test_leading_zeros_still_name_the_principal(roles):
    user = roles.users["no_share"]

    response = roles.clients["owner"].get(f"/api/jobs/{roles.job.pk}/shares/user:000{user.pk}")

    assert response.status_code == 200, response.content
    assert response.json()["principalId"] == f"user:{user.pk}"
