"""The permission matrix (§3, §6) for run now and every history route; a denial changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from runs.models import Run, RunStatus, Trigger
from tests.conftest import ROLES, Roles
from tests.runs.conftest import RunFactory, finished_run, rows

ERROR_KEYS = {"statusCode", "error", "message", "details"}
DENIED_OUTSIDE = {"anonymous": 401, "other_tenant": 404, "no_share": 404}


def expect(view: int, edit: int, admin: int, owner: int) -> dict[str, int]:
    return {**DENIED_OUTSIDE, "view": view, "edit": edit, "admin": admin, "owner": owner}


# (method, path with {job}, {finished} and {queued} placeholders, expected status per role)
ROUTES: dict[str, tuple[str, str, dict[str, int]]] = {
    "run now": ("post", "/api/jobs/{job}", expect(403, 202, 202, 202)),
    "run now by natural id": ("post", "/api/jobs/alpha:nightly", expect(403, 202, 202, 202)),
    "list history": ("get", "/api/jobs/{job}/history", expect(200, 200, 200, 200)),
    "get run": ("get", "/api/jobs/{job}/history/{finished}", expect(200, 200, 200, 200)),
    "delete run": ("delete", "/api/jobs/{job}/history/{finished}", expect(403, 204, 204, 204)),
    "clear history": ("delete", "/api/jobs/{job}/history", expect(403, 204, 204, 204)),
    "cancel run": ("post", "/api/jobs/{job}/history/{queued}/_cancel", expect(403, 200, 200, 200)),
}


@pytest.fixture
def history(roles: Roles) -> dict[str, Run]:
    return {"finished": finished_run(roles.job), "queued": RunFactory(job=roles.job)}


def resolve(path: str, roles: Roles, history: dict[str, Run]) -> str:
    path = path.replace("{job}", str(roles.job.pk))
    for name, run in history.items():
        path = path.replace(f"{{{name}}}", str(run.pk))
    return path


def effect_happened(route: str, history: dict[str, Run], roles: Roles) -> None:
    """Assert that the successful request did what it says."""
    if route.startswith("run now"):
        assert Run.objects.filter(job=roles.job, trigger=Trigger.MANUAL).count() == 3
    elif route in {"delete run", "clear history"}:
        assert list(Run.objects.values_list("pk", flat=True)) == [history["queued"].pk]
    elif route == "cancel run":
        assert Run.objects.get(pk=history["queued"].pk).status == RunStatus.CANCELLED


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(roles, history, db_state, route: str, role: str):
    # given
    method, path, statuses = ROUTES[route]
    before: tuple[Any, Any] = (rows(), db_state())

    # when
    response = getattr(roles.clients[role], method)(resolve(path, roles, history))

    # then
    assert response.status_code == statuses[role], response.content
    if response.status_code >= 400:
        assert set(response.json()) == ERROR_KEYS
        assert response.json()["statusCode"] == statuses[role]
        assert (rows(), db_state()) == before
    elif method == "get":
        assert (rows(), db_state()) == before
    else:
        effect_happened(route, history, roles)


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("run now", "You need the 'job:run' permission for this."),
        ("delete run", "You need the 'job:edit' permission for this."),
        ("clear history", "You need the 'job:edit' permission for this."),
        ("cancel run", "You need the 'job:run' permission for this."),
    ],
)
def test_a_403_names_the_missing_permission(roles, history, route, message):
    # given
    method, path, _ = ROUTES[route]

    # when
    response = getattr(roles.clients["view"], method)(resolve(path, roles, history))

    # then
    assert (response.status_code, response.json()["message"]) == (403, message)
