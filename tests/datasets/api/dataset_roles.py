"""What the dataset and snapshot API tests share: a dataset with a client per role, a SQLite source file, and
the rows of every dataset table (to prove a denied or failed request changed nothing)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rest_framework.test import APIClient

from datasets.models import (
    Dataset,
    DatasetGroupObjectPermission,
    DatasetRow,
    DatasetUserObjectPermission,
    Datasource,
    DatasourceUserObjectPermission,
    Generation,
    Snapshot,
)
from datasets.services import shares as share_services
from informer.models import Tenant, User
from tests.conftest import client_for
from tests.datasets.factories import DatasetFactory, DatasourceFactory
from tests.factories import TenantFactory, UserFactory

ERROR_KEYS = {"statusCode", "error", "message", "details"}
ROLES = ["anonymous", "other_tenant", "no_share", "view", "edit", "admin", "owner"]
DENIED_OUTSIDE = {"anonymous": 401, "other_tenant": 404, "no_share": 404}
SALES_QUERY = "SELECT id, region, amount, sold_on FROM sales ORDER BY id"
SALES_ROWS = [
    (1, "West", 120.5, "2024-01-05"),
    (2, "East", 80, "2024-01-06"),
    (3, "West", 42, "2024-02-01"),
]


def expect(view: int, edit: int, admin: int, owner: int) -> dict[str, int]:
    """The statuses of a route per role: outsiders are refused alike, then each share level and the owner."""
    return {**DENIED_OUTSIDE, "view": view, "edit": edit, "admin": admin, "owner": owner}


@dataclass
class DatasetRoles:
    """One dataset (alpha:sales) on a SQLite datasource, and a client for each role of the permission matrix."""

    dataset: Dataset
    datasource: Datasource
    clients: dict[str, APIClient]
    users: dict[str, User | None]


def sales_database(root: Path, name: str = "sales.sqlite3") -> Path:
    """A SQLite file ``name`` under the datasource root with a ``sales`` table of ``SALES_ROWS``."""
    path = root / name
    connection = sqlite3.connect(path)
    try:
        connection.executescript("CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, amount REAL, sold_on TEXT);")
        connection.executemany("INSERT INTO sales VALUES (?, ?, ?, ?)", SALES_ROWS)
        connection.commit()
    finally:
        connection.close()
    return path


def make_roles(tenant: Tenant, owner: User, **dataset_fields: Any) -> DatasetRoles:
    """The owner's dataset ``alpha:sales`` shared at levels 1, 2 and 3; every user of the tenant may use its source."""
    datasource = DatasourceFactory(owner=owner, name="Sales DB", slug="sales-db", database="sales.sqlite3")
    fields = {"name": "Sales", "slug": "sales", "query": SALES_QUERY, **dataset_fields}
    dataset = DatasetFactory(owner=owner, datasource=datasource, **fields)
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
        share_services.share_set(obj=dataset, principal=users[role], level=level)
    for role in ("no_share", "view", "edit", "admin"):
        share_services.share_set(obj=datasource, principal=users[role], level=1)
    clients = {role: (client_for(user) if user else APIClient()) for role, user in users.items()}
    return DatasetRoles(dataset=dataset, datasource=datasource, clients=clients, users=users)


def _rows(model: Any) -> list[dict[str, Any]]:
    return list(model.objects.order_by("pk").values())


def dataset_state() -> dict[str, Any]:
    """Every row of the dataset tables: equal before and after a request that must change nothing."""
    state = {
        model._meta.label: _rows(model)
        for model in (
            Datasource,
            DatasourceUserObjectPermission,
            Dataset,
            DatasetUserObjectPermission,
            DatasetGroupObjectPermission,
            Generation,
            Snapshot,
        )
    }
    state["rows"] = list(
        DatasetRow.objects.order_by("generation_id", "position").values_list("generation_id", "position", "cells")
    )
    return state


def assert_error(response: Any, status_code: int, field: str | None = None) -> dict[str, Any]:
    """The response is the error shape with ``status_code``; with ``field``, its details and message name it."""
    body = response.json()
    assert response.status_code == status_code, body
    assert set(body) == ERROR_KEYS
    assert body["statusCode"] == status_code
    if field is not None:
        assert field in body["details"], body
        assert field in body["message"], body
    return body
