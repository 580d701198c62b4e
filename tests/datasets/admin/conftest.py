"""The datasets admin's world: a SQLite source with sales rows, a tenant's datasource and dataset on it, and staff.

``granted`` is a staff user of the tenant holding the datasets app's model permissions and admin access (level
3) to the datasource and the dataset; ``plain`` holds the same model permissions and no share; ``stranger`` is
a staff user of another tenant with the same model permissions, whose own datasource and dataset are there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from datasets.models import Dataset, Datasource
from datasets.services import shares as share_services
from informer import secrets
from informer.models import Tenant, User
from tests.datasets.conftest import SourceDatabase
from tests.datasets.factories import DatasetFactory, DatasourceFactory
from tests.factories import TenantFactory, UserFactory
from tests.informer.admin.pages import model_permissions, staff

SECRET = "s3cret-Pa55word!"
DATASET_GRANTS = [
    *model_permissions("datasets", "datasource", "dataset", "snapshot", "generation"),
    "datasets.refresh_dataset",
]
SALES = """
CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, amount REAL);
INSERT INTO sales (region, amount) VALUES ('West', 12.5), ('East', 7.25), ('West', 3.0);
"""


@dataclass
class World:
    tenant: Tenant
    datasource: Datasource
    dataset: Dataset
    other_datasource: Datasource
    other_dataset: Dataset
    users: dict[str, User]


@pytest.fixture
def world(tenant: Tenant, sqlite_source: SourceDatabase) -> World:
    sqlite_source.execute(SALES)
    owner = UserFactory(username="owner", tenant=tenant)
    datasource = DatasourceFactory(
        owner=owner,
        name="Warehouse",
        slug="warehouse",
        database="source.sqlite3",
        password_encrypted=secrets.seal(SECRET),
    )
    dataset = DatasetFactory(
        owner=owner,
        datasource=datasource,
        name="Sales",
        slug="sales",
        query="SELECT region, amount FROM sales ORDER BY id",
    )
    beta = TenantFactory(slug="beta")
    other_owner = UserFactory(username="other-owner", tenant=beta)
    other_datasource = DatasourceFactory(
        owner=other_owner, name="Their source", slug="theirs", password_encrypted=secrets.seal(SECRET)
    )
    other_dataset = DatasetFactory(
        owner=other_owner, datasource=other_datasource, name="Their sales", slug="their-sales", query="SELECT 1"
    )
    users = {
        "superuser": UserFactory(username="root", tenant=TenantFactory(slug="ops"), is_staff=True, is_superuser=True),
        "granted": staff(tenant, *DATASET_GRANTS, username="granted"),
        "plain": staff(tenant, *DATASET_GRANTS, username="plain"),
        "stranger": staff(beta, *DATASET_GRANTS, username="stranger"),
    }
    share_services.share_set(obj=datasource, principal=users["granted"], level=3)
    share_services.share_set(obj=dataset, principal=users["granted"], level=3)
    return World(tenant, datasource, dataset, other_datasource, other_dataset, users)


def fresh(obj: Any) -> Any:
    return type(obj).objects.get(pk=obj.pk)
