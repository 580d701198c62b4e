"""Shared fixtures: API clients per role, tenants, a job with a share of every level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from informer.models import User
from jobs import services
from jobs.models import Job
from tests.factories import JobFactory, TenantFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
        services.share_set(job=job, principal=users[role], level=level)
    clients = {role: (client_for(user) if user else APIClient()) for role, user in users.items()}
    return Roles(job=job, clients=clients, users=users)
