"""The admin permission matrix: who may list, open, add and change each model, and that a refusal changes nothing.

Four roles: a superuser; a staff user of the objects' tenant with the model permissions (and, for jobs, admin
access to the job); a staff user of the same tenant without them; a staff user of another tenant with the same
model permissions. Workers are installation-wide: only the superuser reaches them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from informer.models import Tenant, User
from jobs.models import JobAction
from jobs.services import shares as share_services
from runs.models import Run, Trigger, Worker
from tests.factories import JobFactory, TeamFactory, TenantFactory, UserFactory, make_token
from tests.informer.admin.pages import form_data, logged_in, model_permissions, staff

ROLES = ["superuser", "with_permission", "without_permission", "other_tenant"]

JOB_PAGE_PERMISSIONS = [
    *model_permissions("jobs", "job", "jobaction", "jobattachment"),
    "jobs.run_job",
    "runs.view_run",
]
GRANTS: dict[str, list[str]] = {
    "tenant": model_permissions("informer", "tenant"),
    "user": model_permissions("informer", "user"),
    "team": model_permissions("informer", "team"),
    "apitoken": model_permissions("informer", "apitoken"),
    "job": JOB_PAGE_PERMISSIONS,
    "jobaction": JOB_PAGE_PERMISSIONS,
    "run": [*model_permissions("runs", "run")],
    "worker": model_permissions("runs", "worker"),
}
URLS = {
    "tenant": "/admin/informer/tenant/",
    "user": "/admin/informer/user/",
    "team": "/admin/informer/team/",
    "apitoken": "/admin/informer/apitoken/",
    "job": "/admin/jobs/job/",
    "jobaction": "/admin/jobs/jobaction/",
    "run": "/admin/runs/run/",
    "worker": "/admin/runs/worker/",
}
# The field a POSTed change sets, and the value it sets.
CHANGES = {
    "tenant": ("name", "Renamed"),
    "user": ("first_name", "Renamed"),
    "team": ("display_name", "Renamed"),
    "apitoken": ("name", "Renamed"),
    "job": ("name", "Renamed"),
    "jobaction": ("name", "Renamed"),
}


@dataclass
class World:
    objects: dict[str, Any]
    users: dict[str, User]


def build(tenant: Tenant, model: str) -> World:
    """The roles, with the model permissions ``model`` needs, and one object of each model in ``tenant``."""
    grants = GRANTS[model]
    users = {
        "superuser": UserFactory(username="root", tenant=TenantFactory(slug="ops"), is_staff=True, is_superuser=True),
        "with_permission": staff(tenant, *grants, username="granted"),
        "without_permission": staff(tenant, username="plain"),
        "other_tenant": staff(TenantFactory(slug="beta"), *grants, username="stranger"),
    }
    owner = UserFactory(username="owner", tenant=tenant)
    job = JobFactory(owner=owner, name="Nightly", slug="nightly")
    share_services.share_set(job=job, principal=users["with_permission"], level=3)
    objects = {
        "tenant": tenant,
        "user": UserFactory(username="member", tenant=tenant),
        "team": TeamFactory(name="ops-team", tenant=tenant),
        "apitoken": make_token(users["with_permission"], name="mine")[0],
        "job": job,
        "jobaction": JobAction.objects.create(
            job=job, type="email", name="Mail", data={"to": "a@example.com", "subject": "Hi"}
        ),
        "run": Run.objects.create(job=job, tenant=tenant, trigger=Trigger.MANUAL),
        "worker": Worker.objects.create(name="worker-1", host="h", pid=1),
    }
    return World(objects=objects, users=users)


# What each role gets, per model: (list, change page, add page).  "hidden" = the list answers but without the
# object, and the change page redirects to the admin index as for an object that does not exist.
EXPECTED: dict[str, dict[str, tuple[Any, Any, int]]] = {
    "tenant": {
        "superuser": (200, 200, 200),
        "with_permission": (200, 200, 403),
        "without_permission": (403, 403, 403),
        "other_tenant": ("hidden", "hidden", 403),
    },
    "run": {
        "superuser": (200, 200, 403),
        "with_permission": (200, 200, 403),
        "without_permission": (403, 403, 403),
        "other_tenant": ("hidden", "hidden", 403),
    },
    "worker": {
        "superuser": (200, 200, 403),
        "with_permission": (403, 403, 403),
        "without_permission": (403, 403, 403),
        "other_tenant": (403, 403, 403),
    },
}
DEFAULT = {
    "superuser": (200, 200, 200),
    "with_permission": (200, 200, 200),
    "without_permission": (403, 403, 403),
    "other_tenant": ("hidden", "hidden", 200),
}
CASES = [(model, role) for model in URLS for role in ROLES]


def change_url(model: str, obj: Any) -> str:
    return f"{URLS[model]}{obj.pk}/change/"


@pytest.mark.parametrize(("model", "role"), CASES)
def test_list_change_and_add_pages(tenant, model, role):
    # given
    world = build(tenant, model)
    obj = world.objects[model]
    client = logged_in(world.users[role])
    listed, changed, added = EXPECTED.get(model, DEFAULT)[role]

    # when
    listing = client.get(URLS[model])
    change_page = client.get(change_url(model, obj))
    add_page = client.get(f"{URLS[model]}add/")

    # then
    link = change_url(model, obj)
    if listed == "hidden":
        assert listing.status_code == 200
        assert link not in listing.content.decode()
    else:
        assert listing.status_code == listed
        if listed == 200:
            assert link in listing.content.decode()
    if changed == "hidden":
        assert change_page.status_code == 302
        assert change_page["Location"] == "/admin/"
    else:
        assert change_page.status_code == changed
    assert add_page.status_code == added


# Who may POST a change: (status, whether it is saved).
POSTED: dict[str, tuple[int, bool]] = {
    "superuser": (302, True),
    "with_permission": (302, True),
    "without_permission": (403, False),
    "other_tenant": (302, False),  # redirected to the index: the object does not exist for them
}


@pytest.mark.parametrize(("model", "role"), [(model, role) for model in CHANGES for role in ROLES])
def test_a_posted_change_is_saved_only_when_allowed(tenant, db_state, model, role):
    # given
    world = build(tenant, model)
    obj = world.objects[model]
    field, value = CHANGES[model]
    permitted = logged_in(world.users["superuser"] if role != "with_permission" else world.users[role])
    data = form_data(permitted.get(change_url(model, obj)))
    data[field] = value
    client = logged_in(world.users[role])
    before = db_state()

    # when
    response = client.post(change_url(model, obj), data)

    # then
    status, saved = POSTED[role]
    assert response.status_code == status, getattr(response, "context", None) and _errors(response)
    obj.refresh_from_db()
    if saved:
        assert getattr(obj, field) == value
    else:
        assert getattr(obj, field) != value
        assert db_state() == before


@pytest.mark.parametrize("model", ["run", "worker"])
@pytest.mark.parametrize("role", ROLES)
def test_history_and_workers_cannot_be_changed_by_a_post(tenant, db_state, model, role):
    # given
    world = build(tenant, model)
    obj = world.objects[model]
    client = logged_in(world.users[role])
    before = db_state()

    # when
    response = client.post(change_url(model, obj), {"status": "success", "name": "renamed", "error": "x"})

    # then
    assert response.status_code in (302, 403)
    assert db_state() == before


def _errors(response: Any) -> Any:
    context = response.context
    if not context or "adminform" not in context:
        return None
    return context["adminform"].form.errors, [inline.formset.errors for inline in context["inline_admin_formsets"]]
