"""The permission matrix (§3) for every jobs and shares route, and the ``permissions`` flags on items."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.models import Job, JobUserObjectPermission
from jobs.services import jobs as job_services
from jobs.services import shares as share_services
from runs.models import Run
from tests.conftest import ROLES, Roles, client_for
from tests.factories import JobFactory, TeamFactory, TenantFactory, UserFactory

ERROR_KEYS = {"statusCode", "error", "message", "details"}
ALL = {"view_job", "change_job", "run_job", "delete_job", "share_job"}
DENIED_OUTSIDE = {"anonymous": 401, "other_tenant": 404, "no_share": 404}


def expect(view: int, edit: int, admin: int, owner: int) -> dict[str, int]:
    return {**DENIED_OUTSIDE, "view": view, "edit": edit, "admin": admin, "owner": owner}


def codenames(job: Job, user: Any) -> set[str]:
    return set(
        JobUserObjectPermission.objects.filter(content_object=job, user=user).values_list(
            "permission__codename", flat=True
        )
    )


# (method, path with {job} and {principal:<role>} placeholders, body, expected status per role)
ROUTES: dict[str, tuple[str, str, dict[str, Any] | None, dict[str, int]]] = {
    "get job": ("get", "/api/jobs/{job}", None, expect(200, 200, 200, 200)),
    "get job by natural id": ("get", "/api/jobs/alpha:nightly", None, expect(200, 200, 200, 200)),
    "put job": ("put", "/api/jobs/{job}", {"description": "changed"}, expect(403, 200, 200, 200)),
    "patch job": ("patch", "/api/jobs/{job}", {"description": "changed"}, expect(403, 200, 200, 200)),
    "delete job": ("delete", "/api/jobs/{job}", None, expect(403, 403, 204, 204)),
    "run job": ("post", "/api/jobs/{job}", {}, expect(403, 202, 202, 202)),
    "list shares": ("get", "/api/jobs/{job}/shares", None, expect(200, 200, 200, 200)),
    "get share": ("get", "/api/jobs/{job}/shares/{principal:view}", None, expect(200, 200, 200, 200)),
    "put share": (
        "put",
        "/api/jobs/{job}/shares/{principal:no_share}",
        {"accessLevel": 2},
        expect(403, 403, 200, 200),
    ),
    "delete share": ("delete", "/api/jobs/{job}/shares/{principal:view}", None, expect(403, 403, 204, 204)),
}


def resolve(path: str, roles: Roles) -> str:
    path = path.replace("{job}", str(roles.job.pk))
    for role, user in roles.users.items():
        if user is not None:
            path = path.replace(f"{{principal:{role}}}", f"user:{user.pk}")
    return path


def effect_happened(route: str, roles: Roles) -> None:
    """Assert the successful request did what it says."""
    job = Job.objects.filter(pk=roles.job.pk).first()
    if route in {"put job", "patch job"}:
        assert job.description == "changed"
    elif route == "delete job":
        assert job is None
        assert not JobUserObjectPermission.objects.filter(content_object_id=roles.job.pk).exists()
    elif route == "run job":
        assert list(Run.objects.filter(job=job).values_list("trigger", flat=True)) == ["manual"]
    elif route == "put share":
        assert codenames(job, roles.users["no_share"]) == {"view_job", "change_job", "run_job"}
    elif route == "delete share":
        assert codenames(job, roles.users["view"]) == set()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(roles, db_state, route, role):
    # given
    method, path, body, statuses = ROUTES[route]
    before = db_state()

    # when
    kwargs = {"data": body, "format": "json"} if body is not None else {}
    response = getattr(roles.clients[role], method)(resolve(path, roles), **kwargs)

    # then
    assert response.status_code == statuses[role], response.content
    if response.status_code >= 400:
        assert set(response.json()) == ERROR_KEYS
        assert response.json()["statusCode"] == statuses[role]
        assert db_state() == before
    elif method == "get":
        assert db_state() == before
    else:
        effect_happened(route, roles)


@pytest.mark.parametrize(
    ("role", "visible"),
    [("other_tenant", False), ("no_share", False), ("view", True), ("edit", True), ("admin", True), ("owner", True)],
)
@pytest.mark.parametrize("path", ["/api/jobs", "/api/jobs-list"])
def test_who_sees_the_job_in_lists(roles, path, role, visible):
    # when
    response = roles.clients[role].get(path)

    # then
    assert response.status_code == 200
    body = response.json()
    items = body["_embedded"]["inf:job"] if path == "/api/jobs" else body
    ids = [item["id"] for item in items]
    assert ids == ([str(roles.job.pk)] if visible else [])


@pytest.mark.parametrize("path", ["/api/jobs", "/api/jobs-list", "/api/principals", "/api/tokens", "/api/me"])
def test_anonymous_collections_are_401(roles, path):
    response = roles.clients["anonymous"].get(path)

    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS


def test_anonymous_cannot_create(roles, db_state):
    before = db_state()

    response = roles.clients["anonymous"].post(
        "/api/jobs", {"type": "email", "name": "x", "interval": "@daily"}, format="json"
    )

    assert response.status_code == 401
    assert db_state() == before


# --- The permissions flags ------------------------------------------------------------------------------

FLAGS = {
    "view": {"edit": False, "run": False, "delete": False, "share": False},
    "edit": {"edit": True, "run": True, "delete": False, "share": False},
    "admin": {"edit": True, "run": True, "delete": True, "share": True},
    "owner": {"edit": True, "run": True, "delete": True, "share": True},
}


@pytest.mark.parametrize("role", list(FLAGS))
def test_permission_flags_reflect_the_callers_rights(roles, role):
    # when
    client = roles.clients[role]
    item = client.get(f"/api/jobs/{roles.job.pk}").json()
    listed = client.get("/api/jobs").json()["_embedded"]["inf:job"][0]
    flat = client.get("/api/jobs-list").json()[0]

    # then
    assert item["permissions"] == FLAGS[role]
    assert listed["permissions"] == FLAGS[role]
    assert flat["permissions"] == FLAGS[role]


def test_jobs_list_items_are_flat_summaries(roles):
    # given
    JobFactory(owner=roles.users["owner"], name="Alone")

    # when
    body = roles.clients["owner"].get("/api/jobs-list").json()

    # then
    assert isinstance(body, list)
    assert [item["name"] for item in body] == ["Alone", "Nightly"]
    alone, nightly = body
    assert set(nightly) == {
        "id", "name", "type", "enabled", "ownerId", "ownerName", "naturalId", "tags", "sharing", "permissions",
    }  # fmt: skip
    assert nightly["naturalId"] == "alpha:nightly"
    assert nightly["ownerId"] == roles.users["owner"].pk
    assert nightly["sharing"] is True
    assert alone["sharing"] is False


def test_jobs_list_sharing_through_a_team_only(owner):
    # given
    job = JobFactory(owner=owner)
    share_services.share_set(job=job, principal=TeamFactory(tenant=owner.tenant), level=1)

    # when
    body = client_for(owner).get("/api/jobs-list").json()

    # then
    assert body[0]["sharing"] is True


# --- Shares through a team ------------------------------------------------------------------------------


@pytest.fixture
def member(tenant):
    """A user in a team of the job's tenant, with no direct share."""
    user = UserFactory(username="member", tenant=tenant)
    team = TeamFactory(name="analysts", tenant=tenant)
    user.groups.add(team)
    return user, team


def test_team_level_1_lets_members_view_only(roles, member, db_state):
    # given
    user, team = member
    share_services.share_set(job=roles.job, principal=team, level=1)
    client = client_for(user)

    # when
    item = client.get(f"/api/jobs/{roles.job.pk}")
    listed = client.get("/api/jobs").json()
    flat = client.get("/api/jobs-list").json()
    shares = client.get(f"/api/jobs/{roles.job.pk}/shares")
    before = db_state()
    put = client.put(f"/api/jobs/{roles.job.pk}", {"description": "no"}, format="json")
    delete = client.delete(f"/api/jobs/{roles.job.pk}")
    share = client.put(f"/api/jobs/{roles.job.pk}/shares/user:{user.pk}", {"accessLevel": 3}, format="json")

    # then
    assert item.status_code == 200
    assert item.json()["permissions"] == FLAGS["view"]
    assert [job["id"] for job in listed["_embedded"]["inf:job"]] == [str(roles.job.pk)]
    assert [job["id"] for job in flat] == [str(roles.job.pk)]
    assert shares.status_code == 200
    assert (put.status_code, delete.status_code, share.status_code) == (403, 403, 403)
    assert db_state() == before


def test_team_and_direct_shares_add_up(roles, member):
    # given: view directly, edit through the team
    user, team = member
    share_services.share_set(job=roles.job, principal=user, level=1)
    share_services.share_set(job=roles.job, principal=team, level=2)
    client = client_for(user)

    # when
    item = client.get(f"/api/jobs/{roles.job.pk}").json()
    put = client.patch(f"/api/jobs/{roles.job.pk}", {"description": "via team"}, format="json")
    delete = client.delete(f"/api/jobs/{roles.job.pk}")

    # then
    assert item["permissions"] == FLAGS["edit"]
    assert put.status_code == 200
    assert delete.status_code == 403
    assert Job.objects.filter(pk=roles.job.pk).exists()


def test_team_admin_members_can_delete(roles, member):
    user, team = member
    share_services.share_set(job=roles.job, principal=team, level=3)

    response = client_for(user).delete(f"/api/jobs/{roles.job.pk}")

    assert response.status_code == 204
    assert not Job.objects.filter(pk=roles.job.pk).exists()


def test_leaving_the_team_removes_access(roles, member):
    # given
    user, team = member
    share_services.share_set(job=roles.job, principal=team, level=1)
    user.groups.remove(team)

    # when
    response = client_for(user).get(f"/api/jobs/{roles.job.pk}")

    # then
    assert response.status_code == 404


def test_a_team_of_another_tenant_grants_nothing_across_tenants(roles):
    # given: a user of beta in a beta team that somehow holds rows on alpha's job
    stranger = roles.users["other_tenant"]
    team = TeamFactory(tenant=stranger.tenant)
    stranger.groups.add(team)
    share_services.share_set(job=roles.job, principal=team, level=3)

    # when
    get = roles.clients["other_tenant"].get(f"/api/jobs/{roles.job.pk}")
    flat = roles.clients["other_tenant"].get("/api/jobs-list").json()

    # then
    assert get.status_code == 404
    assert flat == []


def test_direct_rows_across_tenants_grant_nothing(roles):
    # given: a stray permission row for a user of another tenant
    job_services.job_grant(roles.job, roles.users["other_tenant"], ALL)

    # when
    responses = [
        roles.clients["other_tenant"].get(f"/api/jobs/{roles.job.pk}"),
        roles.clients["other_tenant"].delete(f"/api/jobs/{roles.job.pk}"),
    ]
    listed = roles.clients["other_tenant"].get("/api/jobs").json()

    # then
    assert [response.status_code for response in responses] == [404, 404]
    assert Job.objects.filter(pk=roles.job.pk).exists()
    assert listed["total"] == 0


def test_superuser_of_another_tenant_has_every_right(roles):
    # given
    root = UserFactory(tenant=TenantFactory(), is_superuser=True)
    client = client_for(root)

    # when
    item = client.get(f"/api/jobs/{roles.job.pk}")
    put = client.patch(f"/api/jobs/{roles.job.pk}", {"description": "root"}, format="json")

    # then
    assert item.status_code == 200
    assert item.json()["permissions"] == FLAGS["admin"]
    assert put.status_code == 200
