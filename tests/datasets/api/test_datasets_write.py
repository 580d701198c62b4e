"""Writes on ``/api/datasets`` (§8, §2): create, update, delete and copy; bad input is a 400 naming the field and
changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone

from datasets.models import Dataset, DatasetRow, DatasetUserObjectPermission, Generation, Snapshot
from datasets.services import shares as share_services
from jobs.models import JobDataset
from tests.conftest import client_for
from tests.datasets.api.dataset_roles import SALES_QUERY, DatasetRoles, assert_error, dataset_state, make_roles
from tests.datasets.factories import DatasetFactory, DatasourceFactory, fields_of, stored_generation
from tests.factories import JobFactory, UserFactory

ALL = {"view_dataset", "change_dataset", "refresh_dataset", "delete_dataset", "share_dataset"}


@pytest.fixture
def roles(tenant: Any, owner: Any) -> DatasetRoles:
    return make_roles(tenant, owner)


def codenames(dataset: Dataset, user: Any) -> set[str]:
    rows = DatasetUserObjectPermission.objects.filter(content_object=dataset, user=user)
    return set(rows.values_list("permission__codename", flat=True))


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
    ("integer default past 64 bits", [{"name": "a", "type": "integer", "default": 2**63}], "params[0].default"),
    (
        "integer default past 64 bits, a float",
        [{"name": "a", "type": "integer", "default": -1e30}],
        "params[0].default",
    ),
    ("string default holding NUL", [{"name": "a", "default": "a\x00b"}], "params[0].default"),
    ("date default holding NUL", [{"name": "a", "type": "date", "default": "2024-01-31\x00"}], "params[0].default"),
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


def test_create_anonymously_is_a_401(roles: DatasetRoles) -> None:
    before = dataset_state()
    assert_error(roles.clients["anonymous"].post("/api/datasets", create_body(roles), format="json"), 401)
    assert dataset_state() == before


def test_create_from_another_tenant_on_this_tenants_datasource(roles: DatasetRoles) -> None:
    before = dataset_state()
    response = roles.clients["other_tenant"].post("/api/datasets", create_body(roles), format="json")
    assert assert_error(response, 400, "datasourceId")["message"] == (
        f'datasourceId: no datasource "{roles.datasource.pk}" that you may use.'
    )
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
