"""What the library API tests share: libraries on a local folder, a fake integration, the roles of the matrix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from informer import secrets
from informer.models import Tenant, User
from library.integrations import registry
from library.integrations.base import Integration, IntegrationError, Listing, RemoteEntry, TestResult
from library.models import (
    Library,
    LibraryFile,
    LibraryGroupObjectPermission,
    LibraryUserObjectPermission,
    StoredContent,
)
from library.services import shares as share_services
from tests.conftest import client_for
from tests.factories import TenantFactory, UserFactory

ROLES = ["anonymous", "other_tenant", "no_share", "view", "edit", "admin", "owner"]
ERROR_KEYS = {"statusCode", "error", "message", "details"}
SECRET = "s3cr3t-Pa55word!"


class FakeIntegration(Integration):
    """An integration with a secret ``password``, whose test answers with what it was given (or fails as told)."""

    type: ClassVar[str] = "fake"
    name: ClassVar[str] = "Fake"
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["host"],
        "properties": {
            "host": {"type": "string"},
            "username": {"type": "string"},
            "password": {"type": "string", "writeOnly": True},
        },
    }

    def validate(self) -> None:
        if self.config.settings.get("host") == "refused":
            raise IntegrationError("Refusing host 'refused'.", field="settings.host")

    def test(self) -> TestResult:
        host = self.config.settings.get("host")
        password = self.config.secrets.get("password", "")
        if host == "explodes":
            raise RuntimeError(f"client crashed with password={password}")
        if host == "echoes":
            return TestResult(success=False, message=f"login failed for secret {password}")
        if host == "down":
            raise IntegrationError("Connection refused.", field="settings.host", permanent=False)
        return TestResult(success=True, message=f"password {len(password)} chars", latency=1.5)

    def listing(self) -> Listing:
        raise NotImplementedError

    @contextmanager
    def download(self, path: str) -> Iterator[Iterator[bytes]]:
        raise NotImplementedError
        yield iter(())  # pragma: no cover

    def upload(self, path: str, content: IO[bytes], *, size: int, content_type: str = "") -> RemoteEntry:
        raise NotImplementedError

    def delete(self, path: str) -> None:
        raise NotImplementedError


def register_fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeIntegration]:
    """Register ``FakeIntegration`` as library type ``fake`` for one test."""
    monkeypatch.setitem(registry.INTEGRATIONS, "fake", f"{__name__}.FakeIntegration")
    return FakeIntegration


def grant_add(user: User) -> User:
    """Give ``user`` the capability of creating libraries (``library.add_library``)."""
    user.user_permissions.add(Permission.objects.get(content_type__app_label="library", codename="add_library"))
    # has_perm caches a user's permissions on the instance.
    return User.objects.get(pk=user.pk)


def make_folder(root: Path, name: str = "docs", files: dict[str, bytes] | None = None) -> Path:
    """A folder ``name`` under the library root holding ``files`` (path → bytes)."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for path, content in (files or {}).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(content)
    return folder


def make_library(owner: User, *, password: str = "", **fields: Any) -> Library:
    """A local library of ``owner`` on folder ``docs`` (as the API would save it), the owner at level 3."""
    values: dict[str, Any] = {"name": "Handbook", "slug": "handbook", "type": "local", "settings": {"path": "docs"}}
    values.update(fields)
    sealed = secrets.seal_json({"password": password} if password else {})
    library = Library.objects.create(tenant=owner.tenant, owner=owner, secrets_encrypted=sealed, **values)
    share_services.share_set(library=library, principal=owner, level=3)
    return library


@dataclass
class Roles:
    """The library under test and a client for each role of the permission matrix."""

    obj: Library
    clients: dict[str, APIClient]
    users: dict[str, User | None]


def make_roles(tenant: Tenant, owner: User, library: Library) -> Roles:
    """Users of each role on ``library``: view (1), edit (2), admin (3) by share, the owner, one without a share."""
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
        principal = users[role]
        assert principal is not None
        share_services.share_set(library=library, principal=principal, level=level)
    clients = {role: (client_for(user) if user else APIClient()) for role, user in users.items()}
    return Roles(obj=library, clients=clients, users=users)


def _rows(model: Any) -> list[dict[str, Any]]:
    return list(model.objects.order_by("pk").values())


def library_state() -> dict[str, Any]:
    """Every row of the library tables and their permissions, to prove a request changed nothing."""
    models = [Library, LibraryUserObjectPermission, LibraryGroupObjectPermission, LibraryFile, StoredContent]
    return {model._meta.label: _rows(model) for model in models}


def folder_state(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes, to prove the remote was left alone."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def assert_error(response: Any, status_code: int, field: str | None = None) -> dict[str, Any]:
    """``response`` is the error shape with ``status_code`` (naming ``field`` in details and message if given)."""
    assert response.status_code == status_code, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["statusCode"] == status_code
    if field is not None:
        assert field in body["details"], body
        assert field in body["message"], body
    return body


def assert_no_secret(response: Any, *values: str, key: bool = True) -> None:
    """None of ``values`` (nor the test password, nor a sealed token) is in ``response``; no ``password`` key either.

    ``key=False`` for the answers that describe the field rather than hold it (a JSON Schema, OPTIONS).
    """
    content = response.content.decode()
    for value in (SECRET, *values):
        assert value not in content
    assert "gAAAAA" not in content  # the opening of every Fernet token
    if key:
        assert '"password"' not in content
        assert '"secretAccessKey"' not in content
