"""What the datasource and share API tests share: SQLite files to point at, objects, the roles of the matrix."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from datasets.connectors import registry
from datasets.connectors.base import Connector, ConnectorError, TestResult
from datasets.models import (
    Dataset,
    DatasetGroupObjectPermission,
    DatasetUserObjectPermission,
    Datasource,
    DatasourceGroupObjectPermission,
    DatasourceUserObjectPermission,
)
from datasets.services import shares as share_services
from informer import secrets
from informer.models import Tenant, User
from tests.conftest import client_for
from tests.factories import TenantFactory, UserFactory

ROLES = ["anonymous", "other_tenant", "no_share", "view", "edit", "admin", "owner"]
ERROR_KEYS = {"statusCode", "error", "message", "details"}
SECRET = "s3cr3t-Pa55word!"


class FakeConnector(Connector):
    """A connector with a secret option, whose test answers with what it was given (or fails as told)."""

    type = "fake"
    name = "Fake"
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "host": {"type": "string"},
            "password": {"type": "string", "writeOnly": True},
            "options": {
                "type": "object",
                "properties": {"sslmode": {"type": "string"}, "sslkey": {"type": "string", "writeOnly": True}},
            },
        },
    }

    def validate(self) -> None:
        if self.config.host == "refused":
            raise ConnectorError("Refusing host 'refused'.", field="host")

    def test(self) -> TestResult:
        if self.config.host == "explodes":
            raise RuntimeError(f"driver crashed with password={self.config.password}")
        if self.config.host == "echoes":
            return TestResult(success=False, message=f"login failed for secret {self.config.password}")
        secret = self.config.secret_options.get("sslkey", "")
        return TestResult(
            success=True,
            message=f"password {len(self.config.password)} chars, sslkey {len(secret)} chars",
            latency=1.5,
            server_version="Fake 1.0",
            database=self.config.database,
        )

    def open(self, query: str, params: dict[str, Any], *, timeout: float) -> Any:
        raise NotImplementedError


def register_fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeConnector]:
    """Register ``FakeConnector`` as datasource type ``fake`` for one test."""
    monkeypatch.setitem(registry.CONNECTORS, "fake", f"{__name__}.FakeConnector")
    return FakeConnector


def make_source_file(root: Path, name: str = "sales.sqlite3") -> Path:
    """A small SQLite database under ``root``."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.executescript(
            "CREATE TABLE sales (region TEXT, amount INTEGER); INSERT INTO sales VALUES ('West', 5);"
        )
    finally:
        connection.close()
    return path


def grant_add(user: User) -> User:
    """Give ``user`` the capability of creating datasources (``datasets.add_datasource``)."""
    user.user_permissions.add(Permission.objects.get(content_type__app_label="datasets", codename="add_datasource"))
    # has_perm caches a user's permissions on the instance.
    return User.objects.get(pk=user.pk)


def make_datasource(owner: User, *, password: str = "", **fields: Any) -> Datasource:
    """A SQLite datasource of ``owner`` on ``sales.sqlite3`` (as the API would save it), the owner at level 3."""
    values: dict[str, Any] = {"name": "Sales", "slug": "sales", "type": "sqlite", "database": "sales.sqlite3"}
    values.update(fields)
    datasource = Datasource.objects.create(
        tenant=owner.tenant, owner=owner, password_encrypted=secrets.seal(password), **values
    )
    share_services.share_set(obj=datasource, principal=owner, level=3)
    return datasource


def make_dataset(owner: User, datasource: Datasource, **fields: Any) -> Dataset:
    """A dataset of ``owner`` reading ``datasource``, the owner at level 3."""
    values: dict[str, Any] = {"name": "West sales", "slug": "west-sales", "query": "SELECT * FROM sales"}
    values.update(fields)
    dataset = Dataset.objects.create(tenant=owner.tenant, owner=owner, datasource=datasource, **values)
    share_services.share_set(obj=dataset, principal=owner, level=3)
    return dataset


@dataclass
class Roles:
    """The object under test and a client for each role of the permission matrix."""

    obj: Any
    clients: dict[str, APIClient]
    users: dict[str, User | None]


def make_roles(tenant: Tenant, owner: User, obj: Datasource | Dataset) -> Roles:
    """Users of each role on ``obj``: view (1), edit (2), admin (3) by share, the owner, one without a share."""
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
        share_services.share_set(obj=obj, principal=principal, level=level)
    clients = {role: (client_for(user) if user else APIClient()) for role, user in users.items()}
    return Roles(obj=obj, clients=clients, users=users)


def _rows(model: Any) -> list[dict[str, Any]]:
    return list(model.objects.order_by("pk").values())


def datasets_state() -> dict[str, Any]:
    """Every row of the datasource and dataset tables and their permissions, to prove a request changed nothing."""
    models = [
        Datasource,
        DatasourceUserObjectPermission,
        DatasourceGroupObjectPermission,
        Dataset,
        DatasetUserObjectPermission,
        DatasetGroupObjectPermission,
    ]
    return {model._meta.label: _rows(model) for model in models}


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
