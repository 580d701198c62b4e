"""``/api/datasets[/{id}]`` and ``…/copy`` (§8, §2): the representation, list conventions, writes, the matrix."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone

from datasets.models import Dataset, DatasetRow, DatasetUserObjectPermission, Generation, Snapshot
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


# Create


def create_body(roles: DatasetRoles, **fields: Any) -> dict[str, Any]:
    return {"name": "Orders", "datasourceId": str(roles.datasource.pk), "query": "SELECT * FROM orders", **fields}


def test_create(roles: DatasetRoles) -> None:
    # given
    params = [
        {"name": "region", "type": "string", "default": "West"},
        {"name": "since", "type": "date", "required": True},
        {"name": "top", "type": "integer", "default": 10, "required": False},
    ]
    body = create_body(roles, description="All orders", params=params, records=99, _links={})

    # when
    response = roles.clients["view"].post("/api/datasets", body, format="json")

    # then
    assert response.status_code == 201, response.json()
    created = Dataset.objects.get(pk=response.json()["id"])
    assert response["Location"] == f"http://testserver/api/datasets/{created.pk}"
    assert (created.name, created.slug, created.description, created.query) == (
        "Orders",
        "orders",
        "All orders",
        "SELECT * FROM orders",
    )
    assert created.params == [
        {"name": "region", "type": "string", "default": "West", "required": False},
        {"name": "since", "type": "date", "default": None, "required": True},
        {"name": "top", "type": "integer", "default": 10, "required": False},
    ]
    assert (created.owner, created.tenant_id, created.datasource_id, created.records) == (
        roles.users["view"],
        roles.dataset.tenant_id,
        roles.datasource.pk,
        0,
    )
    assert codenames(created, roles.users["view"]) == ALL
    assert response.json()["params"] == created.params
    assert response.json()["ownerId"] == roles.users["view"].pk
    assert response.json()["shared"] is False


def test_create_by_natural_id_of_the_datasource_and_unique_slug(roles: DatasetRoles) -> None:
    # when
    response = roles.clients["owner"].post(
        "/api/datasets", create_body(roles, name="Sales", datasourceId="alpha:sales-db"), format="json"
    )

    # then
    assert response.status_code == 201, response.json()
    assert response.json()["slug"] == "sales-2"
    assert response.json()["naturalId"] == "alpha:sales-2"


def test_create_with_a_taken_slug_is_a_conflict(roles: DatasetRoles) -> None:
    before = dataset_state()
    response = roles.clients["owner"].post("/api/datasets", create_body(roles, slug="sales"), format="json")
    assert_error(response, 409, "slug")
    assert dataset_state() == before


PARAM_ERRORS: list[tuple[str, Any, str]] = [
    ("not a list", {"name": "x"}, "params"),
    ("item not an object", ["region"], "params[0]"),
    ("bad name", [{"name": "1st", "type": "string"}], "params[0].name"),
    ("name with a dash", [{"name": "a-b"}], "params[0].name"),
    ("missing name", [{"type": "string"}], "params[0].name"),
    ("duplicate", [{"name": "a"}, {"name": "a", "type": "integer"}], "params[1].name"),
    ("unknown type", [{"name": "a", "type": "money"}], "params[0].type"),
    ("unknown key", [{"name": "a", "label": "A"}], "params[0].label"),
    ("required not boolean", [{"name": "a", "required": "yes"}], "params[0].required"),
    ("string default a number", [{"name": "a", "type": "string", "default": 3}], "params[0].default"),
    ("integer default a fraction", [{"name": "a", "type": "integer", "default": 1.5}], "params[0].default"),
    ("integer default a boolean", [{"name": "a", "type": "integer", "default": True}], "params[0].default"),
    ("number default text", [{"name": "a", "type": "number", "default": "1"}], "params[0].default"),
    ("boolean default text", [{"name": "a", "type": "boolean", "default": "true"}], "params[0].default"),
    ("date default impossible", [{"name": "a", "type": "date", "default": "2024-02-30"}], "params[0].default"),
    ("date default not a date", [{"name": "a", "type": "date", "default": "soon"}], "params[0].default"),
    ("datetime default a number", [{"name": "a", "type": "datetime", "default": 5}], "params[0].default"),
]


@pytest.mark.parametrize(("case", "params", "field"), PARAM_ERRORS, ids=[case[0] for case in PARAM_ERRORS])
def test_create_refuses_bad_params(roles: DatasetRoles, case: str, params: Any, field: str) -> None:
    before = dataset_state()
    response = roles.clients["owner"].post("/api/datasets", create_body(roles, params=params), format="json")
    assert_error(response, 400, field)
    assert dataset_state() == before


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("missing name", {"name": None}, "name"),
    ("blank name", {"name": ""}, "name"),
    ("name a number", {"name": 5}, "name"),
    ("name too long", {"name": "n" * 201}, "name"),
    ("missing query", {"query": None}, "query"),
    ("blank query", {"query": ""}, "query"),
    ("missing datasource", {"datasourceId": None}, "datasourceId"),
    ("unknown key", {"bogus": 1}, "bogus"),
    ("snake_case key", {"datasource_id": "x"}, "datasource_id"),
    ("bad slug", {"slug": "no spaces"}, "slug"),
]


@pytest.mark.parametrize(("case", "changes", "field"), BAD_BODIES, ids=[case[0] for case in BAD_BODIES])
def test_create_refuses_bad_bodies(roles: DatasetRoles, case: str, changes: dict[str, Any], field: str) -> None:
    body = {key: value for key, value in create_body(roles, **changes).items() if value is not None}
    before = dataset_state()
    assert_error(roles.clients["owner"].post("/api/datasets", body, format="json"), 400, field)
    assert dataset_state() == before


def test_create_on_a_datasource_the_caller_may_not_use_does_not_say_whether_it_exists(
    roles: DatasetRoles, tenant: Any
) -> None:
    # given: a datasource of the tenant the caller holds no right on, one of another tenant, and none at all
    hidden = DatasourceFactory(owner=UserFactory(tenant=tenant))
    foreign = DatasourceFactory(owner=roles.users["other_tenant"], slug="foreign")
    keys = [str(hidden.pk), str(foreign.pk), str(uuid.uuid4()), "beta:foreign", f"alpha:{hidden.slug}", "nope"]
    before = dataset_state()

    for key in keys:
        # when
        response = roles.clients["edit"].post("/api/datasets", create_body(roles, datasourceId=key), format="json")

        # then
        body = assert_error(response, 400, "datasourceId")
        assert body["message"] == f'datasourceId: no datasource "{key}" that you may use.'
    assert dataset_state() == before


def test_create_on_a_datasource_of_another_tenant_even_for_a_superuser(roles: DatasetRoles) -> None:
    # given
    superuser = UserFactory(tenant=roles.dataset.tenant, is_superuser=True)
    foreign = DatasourceFactory(owner=roles.users["other_tenant"])
    before = dataset_state()

    # when
    response = client_for(superuser).post(
        "/api/datasets", create_body(roles, datasourceId=str(foreign.pk)), format="json"
    )

    # then
    assert_error(response, 400, "datasourceId")
    assert dataset_state() == before


# Update


def test_put_merges_and_ignores_read_only_fields(roles: DatasetRoles) -> None:
    # given
    other_source = DatasourceFactory(owner=roles.users["owner"], slug="other")
    share_services.share_set(obj=other_source, principal=roles.users["edit"], level=1)

    # when
    response = roles.clients["edit"].put(
        f"/api/datasets/{roles.dataset.pk}",
        {
            "description": "changed",
            "params": [{"name": "region", "type": "string"}],
            "datasourceId": "alpha:other",
            "records": 5,
            "fields": [{"name": "x"}],
            "id": str(uuid.uuid4()),
            "editingId": None,
        },
        format="json",
    )

    # then
    assert response.status_code == 200, response.json()
    dataset = Dataset.objects.get(pk=roles.dataset.pk)
    assert (dataset.name, dataset.description, dataset.query) == ("Sales", "changed", SALES_QUERY)
    assert dataset.params == [{"name": "region", "type": "string", "default": None, "required": False}]
    assert (dataset.datasource_id, dataset.records, dataset.fields) == (other_source.pk, 0, [])
    assert response.json()["datasourceId"] == str(other_source.pk)


def test_patch_renames_by_natural_id(roles: DatasetRoles) -> None:
    response = roles.clients["owner"].patch(
        "/api/datasets/alpha:sales", {"name": "Renamed", "slug": "renamed"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["naturalId"] == "alpha:renamed"
    assert Dataset.objects.get(pk=roles.dataset.pk).name == "Renamed"


@pytest.mark.parametrize(
    ("body", "field", "status_code"),
    [
        ({"datasourceId": str(uuid.uuid4())}, "datasourceId", 400),
        ({"params": [{"name": "x", "type": "money"}]}, "params[0].type", 400),
        ({"name": ""}, "name", 400),
        ({"query": None}, "query", 400),
        ({"unknown": 1}, "unknown", 400),
    ],
)
def test_update_refuses_bad_input(roles: DatasetRoles, body: dict[str, Any], field: str, status_code: int) -> None:
    before = dataset_state()
    response = roles.clients["owner"].patch(f"/api/datasets/{roles.dataset.pk}", body, format="json")
    assert_error(response, status_code, field)
    assert dataset_state() == before


def test_update_to_a_datasource_the_editor_may_not_use(roles: DatasetRoles, tenant: Any) -> None:
    hidden = DatasourceFactory(owner=UserFactory(tenant=tenant))
    before = dataset_state()
    response = roles.clients["edit"].patch(
        f"/api/datasets/{roles.dataset.pk}", {"datasourceId": str(hidden.pk)}, format="json"
    )
    assert_error(response, 400, "datasourceId")
    assert dataset_state() == before


def test_update_slug_taken(roles: DatasetRoles) -> None:
    DatasetFactory(owner=roles.users["owner"], slug="taken")
    before = dataset_state()
    response = roles.clients["owner"].patch(f"/api/datasets/{roles.dataset.pk}", {"slug": "taken"}, format="json")
    assert_error(response, 409, "slug")
    assert dataset_state() == before


# Delete


def test_delete_removes_rows_generations_snapshots_and_shares(roles: DatasetRoles) -> None:
    # given
    fields = fields_of(("region", "string"))
    pinned = stored_generation(roles.dataset, fields, [["West"], ["East"]])
    Snapshot.objects.create(dataset=roles.dataset, generation=pinned, name="before")
    stored_generation(roles.dataset, fields, [["North"]])
    other = DatasetFactory(owner=roles.users["owner"])
    kept = stored_generation(other, fields, [["South"]])

    # when
    response = roles.clients["admin"].delete(f"/api/datasets/{roles.dataset.pk}")

    # then
    assert response.status_code == 204
    assert not Dataset.objects.filter(pk=roles.dataset.pk).exists()
    assert list(Generation.objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(DatasetRow.objects.values_list("generation_id", "position")) == [(kept.pk, 0)]
    assert Snapshot.objects.count() == 0
    assert not DatasetUserObjectPermission.objects.filter(content_object_id=roles.dataset.pk).exists()


def test_delete_while_a_job_uses_it_is_a_conflict(roles: DatasetRoles) -> None:
    # given
    job = JobFactory(owner=roles.users["owner"], name="Weekly report")
    JobDataset.objects.create(job=job, alias="sales", dataset=roles.dataset)
    stored_generation(roles.dataset, fields_of(("region", "string")), [["West"]])
    before = dataset_state()

    # when
    response = roles.clients["owner"].delete(f"/api/datasets/{roles.dataset.pk}")

    # then
    body = assert_error(response, 409)
    assert body["message"] == "Dataset 'Sales' is used by jobs (Weekly report); remove it from them first."
    assert dataset_state() == before


def test_delete_while_refreshing_is_a_conflict(roles: DatasetRoles) -> None:
    Dataset.objects.filter(pk=roles.dataset.pk).update(refresh_started_at=timezone.now())
    before = dataset_state()
    response = roles.clients["owner"].delete(f"/api/datasets/{roles.dataset.pk}")
    assert (
        assert_error(response, 409)["message"]
        == "Dataset 'Sales' is being refreshed; delete it once the refresh is over."
    )
    assert dataset_state() == before


def test_delete_with_an_abandoned_refresh_claim(roles: DatasetRoles, settings: Any) -> None:
    settings.INFORMER_QUERY_TIMEOUT = 10
    started = timezone.now() - timezone.timedelta(seconds=71)
    Dataset.objects.filter(pk=roles.dataset.pk).update(refresh_started_at=started)
    assert roles.clients["owner"].delete(f"/api/datasets/{roles.dataset.pk}").status_code == 204


# Copy


def test_copy_makes_a_dataset_of_the_caller_without_rows(roles: DatasetRoles) -> None:
    # given
    params = [{"name": "region", "type": "string", "default": "West", "required": False}]
    Dataset.objects.filter(pk=roles.dataset.pk).update(params=params, description="All sales")
    stored_generation(roles.dataset, fields_of(("region", "string")), [["West"]])

    # when
    response = roles.clients["view"].post(f"/api/datasets/{roles.dataset.pk}/copy", format="json")

    # then
    assert response.status_code == 201, response.json()
    copy = Dataset.objects.get(pk=response.json()["id"])
    assert response["Location"] == f"http://testserver/api/datasets/{copy.pk}"
    assert (copy.name, copy.slug, copy.description, copy.query, copy.params) == (
        "Sales (copy)",
        "sales-copy",
        "All sales",
        SALES_QUERY,
        params,
    )
    assert (copy.owner, copy.datasource_id, copy.records, copy.fields, copy.current_generation_id) == (
        roles.users["view"],
        roles.datasource.pk,
        0,
        [],
        None,
    )
    assert codenames(copy, roles.users["view"]) == ALL
    assert Generation.objects.filter(dataset=copy).count() == 0


def test_copy_with_a_name(roles: DatasetRoles) -> None:
    response = roles.clients["owner"].post(
        f"/api/datasets/{roles.dataset.pk}/copy", {"name": "West sales"}, format="json"
    )
    assert response.status_code == 201
    assert (response.json()["name"], response.json()["slug"]) == ("West sales", "west-sales")


@pytest.mark.parametrize(("body", "field"), [({"name": ""}, "name"), ({"name": 3}, "name"), ({"slug": "x"}, "slug")])
def test_copy_refuses_bad_bodies(roles: DatasetRoles, body: dict[str, Any], field: str) -> None:
    before = dataset_state()
    response = roles.clients["owner"].post(f"/api/datasets/{roles.dataset.pk}/copy", body, format="json")
    assert_error(response, 400, field)
    assert dataset_state() == before


def test_copy_needs_the_right_to_use_the_datasource(roles: DatasetRoles) -> None:
    share_services.share_set(obj=roles.datasource, principal=roles.users["view"], level=0)
    before = dataset_state()
    response = roles.clients["view"].post(f"/api/datasets/{roles.dataset.pk}/copy", format="json")
    assert_error(response, 400, "datasourceId")
    assert dataset_state() == before


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
