"""Shared fixtures: API clients per role, tenants, a job with a share of every level."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from informer.models import User
from jobs.models import Job
from jobs.services import shares as share_services
from tests.factories import JobFactory, TenantFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Datasource files (seed_demo's sales database among them) never land in the checkout's var/.
    settings.INFORMER_DATASOURCE_ROOT = tmp_path_factory.getbasetemp() / "datasources"
    # Nor library folders (seed_demo's documents), nor the contents a sync stores in default_storage.
    settings.INFORMER_LIBRARY_ROOT = tmp_path_factory.getbasetemp() / "library"
    settings.MEDIA_ROOT = tmp_path_factory.getbasetemp() / "media"


@pytest.fixture(autouse=True)
def _sync_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests run django-q2 tasks inline; integration tests start a real cluster instead."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def api() -> APIClient:
    """An anonymous client."""
    return APIClient()


def client_for(user: User) -> APIClient:
    """A client authenticated as ``user`` (forced, so tests do not depend on the login route)."""
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def tenant(db: Any):  # type: ignore[no-untyped-def]
    return TenantFactory(slug="alpha")


@pytest.fixture
def owner(tenant: Any) -> User:
    return UserFactory(username="owner", tenant=tenant)


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """File storage in a directory of this test's own."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def job(owner: Any) -> Job:
    """The owner's job "Nightly" (modules that need more in it define their own)."""
    return JobFactory(owner=owner, name="Nightly", slug="nightly")


@dataclass
class Roles:
    """One job and a client for each role of the permission matrix."""

    job: Job
    clients: dict[str, APIClient | None]
    users: dict[str, User | None]


ROLES = ["anonymous", "other_tenant", "no_share", "view", "edit", "admin", "owner"]


@pytest.fixture
def roles(tenant: Any, owner: User) -> Roles:
    job = JobFactory(owner=owner, name="Nightly", slug="nightly")
    users: dict[str, User | None] = {
        "anonymous": None,
        "other_tenant": UserFactory(username="stranger", tenant=TenantFactory(slug="beta")),
        "no_share": UserFactory(username="nobody", tenant=tenant),
        "view": UserFactory(username="viewer", tenant=tenant),
        "edit": UserFactory(username="editor", tenant=tenant),
        "admin": UserFactory(username="sharer", tenant=tenant),
        "owner": owner,
    }
    for role, level in (("view", 1), ("edit", 2), ("admin", 3)):
        share_services.share_set(job=job, principal=users[role], level=level)
    clients = {role: (client_for(user) if user else APIClient()) for role, user in users.items()}
    return Roles(job=job, clients=clients, users=users)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttle history lives in the cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()


def bearer_client(secret: str) -> APIClient:
    """A client that sends ``Authorization: Bearer <secret>`` on every request."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


# Columns that a request may legitimately touch without changing anything a denial must protect.
_VOLATILE = {"last_login", "last_used_at"}


def _rows(model: Any) -> list[dict[str, Any]]:
    return [
        {key: value for key, value in row.items() if key not in _VOLATILE}
        for row in model.objects.order_by("pk").values()
    ]


@pytest.fixture
def db_state(db: Any) -> Any:
    """A callable returning every row of the identity and job tables, to prove a request changed nothing."""
    from django.contrib.auth.models import Group

    from informer.models import ApiToken, Team, Tenant
    from jobs.models import JobAction, JobAttachment, JobGroupObjectPermission, JobTag, JobUserObjectPermission
    from runs.models import Run, Worker

    models = [
        *(Tenant, User, Group, Team, ApiToken),
        *(Job, JobTag, JobUserObjectPermission, JobGroupObjectPermission, JobAction, JobAttachment),
        *(Run, Worker),
    ]

    def snapshot() -> dict[str, Any]:
        state = {model._meta.label: _rows(model) for model in models}
        state["memberships"] = sorted(User.groups.through.objects.values_list("user_id", "group_id"))
        return state

    return snapshot
