"""``/api/datasets[/{id}]`` (§8, §2): the representation, the list conventions, the permission matrix of every
route on a dataset (writes in test_datasets_write.py)."""

from __future__ import annotations

from typing import Any

import pytest

from datasets.models import Dataset, DatasetUserObjectPermission
from datasets.services import shares as share_services
from jobs.models import JobDataset
from tests.conftest import client_for
from tests.datasets.api.dataset_roles import (
    ROLES,
    SALES_QUERY,
    DatasetRoles,
    assert_error,
    dataset_state,
    expect,
    make_roles,
)
from tests.datasets.factories import DatasetFactory, DatasourceFactory, fields_of, stored_generation
from tests.factories import JobFactory, TenantFactory, UserFactory

ALL = {"view_dataset", "change_dataset", "refresh_dataset", "delete_dataset", "share_dataset"}
LINK_RELS = [
    "self",
    "inf:data",
    "inf:refresh",
    "inf:run",
    "inf:fields",
    "inf:dataset-shares",
    "inf:snapshots",
    "inf:download",
]
LINK_TAILS = ["", "/data", "/_refresh", "/_run", "/fields", "/shares", "/snapshots", "/export"]


@pytest.fixture
def roles(tenant: Any, owner: Any) -> DatasetRoles:
    return make_roles(tenant, owner)


def iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def codenames(dataset: Dataset, user: Any) -> set[str]:
    rows = DatasetUserObjectPermission.objects.filter(content_object=dataset, user=user)
    return set(rows.values_list("permission__codename", flat=True))


def test_get_shows_every_field(roles: DatasetRoles) -> None:
    # given
    dataset = roles.dataset
    base = f"http://testserver/api/datasets/{dataset.pk}"

    # when
    response = roles.clients["owner"].get(f"/api/datasets/{dataset.pk}")

    # then
    assert response.status_code == 200
    dataset.refresh_from_db()
    assert response.json() == {
        "_links": {rel: {"href": base + tail} for rel, tail in zip(LINK_RELS, LINK_TAILS, strict=True)},
        "id": str(dataset.pk),
        "name": "Sales",
        "slug": "sales",
        "naturalId": "alpha:sales",
        "description": "",
        "datasourceId": str(roles.datasource.pk),
        "query": SALES_QUERY,
        "params": [],
        "fields": [],
        "records": 0,
        "size": 0,
        "truncated": False,
        "dataUpdatedAt": None,
        "lastDurationMillis": None,
        "refreshing": False,
        "ownerId": roles.users["owner"].pk,
        "shared": True,
        "editingId": None,
        "createdAt": iso(dataset.created_at),
        "updatedAt": iso(dataset.updated_at),
        "permissions": {"edit": True, "share": True, "delete": True, "refresh": True, "copy": True},
        "_embedded": {"inf:field": []},
    }


def test_get_by_natural_id_and_the_stored_data(roles: DatasetRoles) -> None:
    # given
    fields = fields_of(("region", "string"), ("amount", "number"))
    stored_generation(roles.dataset, fields, [["West", 1.5], ["East", 2]])
    Dataset.objects.filter(pk=roles.dataset.pk).update(last_duration_millis=12)

    # when
    body = roles.clients["view"].get("/api/datasets/alpha:sales").json()

    # then
    assert body["id"] == str(roles.dataset.pk)
    assert body["fields"] == fields
    assert body["_embedded"] == {"inf:field": fields}
    assert (body["records"], body["truncated"], body["lastDurationMillis"]) == (2, False, 12)
    assert body["size"] == len('["West",1.5]') + len('["East",2]')
    assert body["dataUpdatedAt"].endswith("Z")
    assert body["permissions"] == {"edit": False, "share": False, "delete": False, "refresh": False, "copy": True}


@pytest.mark.parametrize(
    ("role", "flags"),
    [
        ("view", {"edit": False, "share": False, "delete": False, "refresh": False, "copy": True}),
        ("edit", {"edit": True, "share": False, "delete": False, "refresh": True, "copy": True}),
        ("admin", {"edit": True, "share": True, "delete": True, "refresh": True, "copy": True}),
        ("owner", {"edit": True, "share": True, "delete": True, "refresh": True, "copy": True}),
    ],
)
def test_permissions_flags_per_role(roles: DatasetRoles, role: str, flags: dict[str, bool]) -> None:
    assert roles.clients[role].get(f"/api/datasets/{roles.dataset.pk}").json()["permissions"] == flags


def test_copy_flag_needs_the_datasource(roles: DatasetRoles) -> None:
    # given: the viewer may read the dataset but no longer use its datasource
    share_services.share_set(obj=roles.datasource, principal=roles.users["view"], level=0)

    # when
    body = roles.clients["view"].get(f"/api/datasets/{roles.dataset.pk}").json()

    # then
    assert body["permissions"]["copy"] is False


def test_refresh_job_link_names_the_job_that_refreshes_it(roles: DatasetRoles) -> None:
    # given
    job = JobFactory(owner=roles.users["owner"], type="dataset-refresh", name="Refresh sales")
    JobDataset.objects.create(job=job, alias="sales", dataset=roles.dataset)
    other = JobFactory(owner=roles.users["owner"], type="email", name="Mail sales")
    JobDataset.objects.create(job=other, alias="sales", dataset=roles.dataset)

    # when
    links = roles.clients["owner"].get(f"/api/datasets/{roles.dataset.pk}").json()["_links"]

    # then
    assert links["inf:refresh-job"] == {"href": f"http://testserver/api/jobs/{job.pk}"}


def test_no_refresh_job_link_for_other_job_types(roles: DatasetRoles) -> None:
    job = JobFactory(owner=roles.users["owner"], type="email")
    JobDataset.objects.create(job=job, alias="sales", dataset=roles.dataset)
    assert "inf:refresh-job" not in roles.clients["owner"].get(f"/api/datasets/{roles.dataset.pk}").json()["_links"]


# The list


def names(response: Any) -> list[str]:
    return [item["name"] for item in response.json()["_embedded"]["inf:dataset"]]


@pytest.fixture
def many(owner: Any) -> list[Dataset]:
    source = DatasourceFactory(owner=owner)
    made = [
        DatasetFactory(owner=owner, datasource=source, name=name, description=description)
        for name, description in (("beta", "weekly orders"), ("Alpha", ""), ("gamma", "Orders by region"))
    ]
    Dataset.objects.filter(pk=made[0].pk).update(records=30)
    Dataset.objects.filter(pk=made[1].pk).update(records=4)
    Dataset.objects.filter(pk=made[2].pk).update(records=200)
    return made


def test_list_envelope(owner: Any, many: list[Dataset]) -> None:
    # when
    response = client_for(owner).get("/api/datasets?limit=2")

    # then
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"_links", "_embedded", "start", "count", "total"}
    assert (body["start"], body["count"], body["total"]) == (0, 2, 3)
    assert body["_links"] == {
        "self": {"href": "http://testserver/api/datasets?limit=2"},
        "next": {"href": "http://testserver/api/datasets?limit=2&start=2"},
    }
    assert names(response) == ["Alpha", "beta"]
    item = body["_embedded"]["inf:dataset"][0]
    assert item["_links"]["self"] == {"href": f"http://testserver/api/datasets/{many[1].pk}"}
    assert item["permissions"] == {"edit": True, "share": True, "delete": True, "refresh": True, "copy": True}
    assert item["shared"] is False


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Alpha", "beta", "gamma"]),
        ("sort=-name", ["gamma", "beta", "Alpha"]),
        ("sort=records", ["Alpha", "beta", "gamma"]),
        ("sort=-records", ["gamma", "beta", "Alpha"]),
        ("q=ORDERS", ["beta", "gamma"]),
        ("q=orders region", ["gamma"]),
        ("q=alp", ["Alpha"]),
        ("start=1&limit=1", ["beta"]),
        ("start=5", []),
    ],
)
def test_list_sort_search_paging(owner: Any, many: list[Dataset], query: str, expected: list[str]) -> None:
    assert names(client_for(owner).get(f"/api/datasets?{query}")) == expected


def test_list_filters(owner: Any, many: list[Dataset], tenant: Any) -> None:
    # given
    colleague = UserFactory(tenant=tenant)
    theirs = DatasetFactory(owner=colleague, name="theirs")
    share_services.share_set(obj=theirs, principal=owner, level=1)
    client = client_for(owner)

    # then
    assert names(client.get(f"/api/datasets?ownerId={colleague.pk}")) == ["theirs"]
    assert names(client.get(f"/api/datasets?datasourceId={many[0].datasource_id}")) == ["Alpha", "beta", "gamma"]
    assert names(client.get("/api/datasets")) == ["Alpha", "beta", "gamma", "theirs"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=query", "sort"),
        ("sort=-bogus", "sort"),
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("start=-1", "start"),
        ("ownerId=x", "ownerId"),
        ("datasourceId=not-a-uuid", "datasourceId"),
        ("q=a%00b", "q"),
    ],
)
def test_list_bad_parameters(owner: Any, many: list[Dataset], query: str, field: str) -> None:
    assert_error(client_for(owner).get(f"/api/datasets?{query}"), 400, field)


def test_list_shows_only_what_the_caller_may_read(roles: DatasetRoles) -> None:
    for role in ("view", "edit", "admin", "owner"):
        assert names(roles.clients[role].get("/api/datasets")) == ["Sales"], role
    for role in ("no_share", "other_tenant"):
        assert names(roles.clients[role].get("/api/datasets")) == [], role
    assert roles.clients["anonymous"].get("/api/datasets").status_code == 401


def test_list_through_a_team(roles: DatasetRoles, tenant: Any) -> None:
    # given
    from tests.factories import TeamFactory

    team = TeamFactory(tenant=tenant)
    member = UserFactory(tenant=tenant)
    member.groups.add(team)
    share_services.share_set(obj=roles.dataset, principal=team, level=2)

    # when
    body = client_for(member).get("/api/datasets").json()["_embedded"]["inf:dataset"]

    # then
    assert [item["name"] for item in body] == ["Sales"]
    assert body[0]["permissions"]["edit"] is True
    assert body[0]["permissions"]["delete"] is False


# The permission matrix


ROUTES: dict[str, tuple[str, str, dict[str, Any] | None, dict[str, int]]] = {
    "get": ("get", "/api/datasets/{dataset}", None, expect(200, 200, 200, 200)),
    "get by natural id": ("get", "/api/datasets/alpha:sales", None, expect(200, 200, 200, 200)),
    "put": ("put", "/api/datasets/{dataset}", {"description": "changed"}, expect(403, 200, 200, 200)),
    "patch": ("patch", "/api/datasets/{dataset}", {"description": "changed"}, expect(403, 200, 200, 200)),
    "delete": ("delete", "/api/datasets/{dataset}", None, expect(403, 403, 204, 204)),
    "copy": ("post", "/api/datasets/{dataset}/copy", {}, expect(201, 201, 201, 201)),
}


def effect_happened(route: str, roles: DatasetRoles, role: str, response: Any) -> None:
    dataset = Dataset.objects.filter(pk=roles.dataset.pk).first()
    if route in {"put", "patch"}:
        assert dataset is not None and dataset.description == "changed"
    elif route == "delete":
        assert dataset is None
    elif route == "copy":
        assert Dataset.objects.get(pk=response.json()["id"]).owner == roles.users[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(roles: DatasetRoles, route: str, role: str) -> None:
    # given
    method, path, body, expected = ROUTES[route]
    path = path.replace("{dataset}", str(roles.dataset.pk))
    before = dataset_state()

    # when
    response = getattr(roles.clients[role], method)(path, body, format="json")

    # then
    assert response.status_code == expected[role], (route, role, response.content)
    if response.status_code >= 400:
        assert_error(response, expected[role])
        assert dataset_state() == before
    elif method != "get":
        effect_happened(route, roles, role, response)


def test_other_tenant_superuser_sees_it(roles: DatasetRoles) -> None:
    # Superusers see every tenant's datasets, as they do jobs.
    superuser = UserFactory(tenant=TenantFactory(slug="gamma"), is_superuser=True)
    assert client_for(superuser).get(f"/api/datasets/{roles.dataset.pk}").status_code == 200
