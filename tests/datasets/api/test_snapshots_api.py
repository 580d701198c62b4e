"""``/api/datasets/{id}/snapshots[/{snapshotId}]``, ``…/data`` and ``…/_restore`` (§8)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from datasets.models import Dataset, DatasetRow, Generation, Snapshot
from tests.conftest import bearer_client, client_for
from tests.datasets.api.dataset_roles import ROLES, DatasetRoles, assert_error, dataset_state, expect, make_roles
from tests.datasets.factories import DatasetFactory, fields_of, stored_generation
from tests.factories import make_token

FIELDS = fields_of(("region", "string"), ("amount", "integer"))
JANUARY = [["West", 10], ["East", 20]]
FEBRUARY = [["West", 11], ["East", 21], ["North", 31]]


@dataclass
class Pinned:
    roles: DatasetRoles
    january: Generation
    february: Generation
    snapshot: Snapshot

    def path(self, tail: str = "", snapshot: Any = None) -> str:
        snapshot_id = self.snapshot.pk if snapshot is None else snapshot
        return f"/api/datasets/{self.roles.dataset.pk}/snapshots/{snapshot_id}{tail}"


@pytest.fixture
def pinned(tenant: Any, owner: Any) -> Pinned:
    """January's rows pinned by a snapshot, February's current."""
    roles = make_roles(tenant, owner)
    january = stored_generation(roles.dataset, FIELDS, JANUARY)
    snapshot = Snapshot.objects.create(
        dataset=roles.dataset,
        generation=january,
        name="January",
        note="month end",
        created_at=timezone.now() - timedelta(days=30),
    )
    february = stored_generation(roles.dataset, FIELDS, FEBRUARY)
    return Pinned(roles, january, february, snapshot)


def iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def representation(snapshot: Snapshot, generation: Generation) -> dict[str, Any]:
    base = f"http://testserver/api/datasets/{snapshot.dataset_id}"
    own = f"{base}/snapshots/{snapshot.pk}"
    return {
        "_links": {
            "self": {"href": own},
            "inf:dataset": {"href": base},
            "inf:data": {"href": f"{own}/data"},
            "inf:restore": {"href": f"{own}/_restore"},
        },
        "id": str(snapshot.pk),
        "datasetId": str(snapshot.dataset_id),
        "name": snapshot.name,
        "note": snapshot.note,
        "records": generation.records,
        "size": generation.size,
        "trigger": snapshot.trigger,
        "jobId": None,
        "runId": None,
        "createdAt": iso(snapshot.created_at),
    }


# Create


def test_create_pins_the_current_rows(pinned: Pinned) -> None:
    # when
    response = pinned.roles.clients["edit"].post(
        f"/api/datasets/{pinned.roles.dataset.pk}/snapshots", {"name": "February", "note": "closing"}, format="json"
    )

    # then
    assert response.status_code == 201, response.json()
    snapshot = Snapshot.objects.get(pk=response.json()["id"])
    assert response["Location"] == f"http://testserver/api/datasets/{pinned.roles.dataset.pk}/snapshots/{snapshot.pk}"
    assert (snapshot.generation_id, snapshot.name, snapshot.note, snapshot.trigger) == (
        pinned.february.pk,
        "February",
        "closing",
        "manual",
    )
    assert snapshot.created_by == pinned.roles.users["edit"]
    assert response.json() == representation(snapshot, pinned.february)
    assert response.json()["records"] == 3


def test_create_with_an_api_token_is_trigger_api(pinned: Pinned) -> None:
    # given
    _, secret = make_token(pinned.roles.users["owner"])

    # when
    response = bearer_client(secret).post(f"/api/datasets/{pinned.roles.dataset.pk}/snapshots")

    # then
    assert response.status_code == 201, response.json()
    assert (response.json()["trigger"], response.json()["name"], response.json()["note"]) == ("api", "", "")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "n" * 201}, "name"),
        ({"name": 3}, "name"),
        ({"note": ["x"]}, "note"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_create_refuses_bad_bodies(pinned: Pinned, body: dict[str, Any], field: str) -> None:
    before = dataset_state()
    response = pinned.roles.clients["owner"].post(
        f"/api/datasets/{pinned.roles.dataset.pk}/snapshots", body, format="json"
    )
    assert_error(response, 400, field)
    assert dataset_state() == before


def test_read_only_fields_are_ignored(pinned: Pinned) -> None:
    response = pinned.roles.clients["owner"].post(
        f"/api/datasets/{pinned.roles.dataset.pk}/snapshots",
        {"trigger": "job", "records": 9, "jobId": str(uuid.uuid4())},
        format="json",
    )
    assert response.status_code == 201
    assert (response.json()["trigger"], response.json()["records"], response.json()["jobId"]) == ("manual", 3, None)


def test_create_of_a_dataset_never_refreshed(owner: Any) -> None:
    fresh = DatasetFactory(owner=owner)
    before = dataset_state()
    response = client_for(owner).post(f"/api/datasets/{fresh.pk}/snapshots")
    assert assert_error(response, 400)["message"] == (
        "The dataset has never been refreshed: there are no rows to take a snapshot of."
    )
    assert dataset_state() == before


# Read


def test_list_newest_first(pinned: Pinned) -> None:
    # given
    latest = Snapshot.objects.create(dataset=pinned.roles.dataset, generation=pinned.february, name="February")

    # when
    response = pinned.roles.clients["view"].get(f"/api/datasets/{pinned.roles.dataset.pk}/snapshots")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "_links": {"self": {"href": f"http://testserver/api/datasets/{pinned.roles.dataset.pk}/snapshots"}},
        "_embedded": {
            "inf:snapshot": [representation(latest, pinned.february), representation(pinned.snapshot, pinned.january)]
        },
        "start": 0,
        "count": 2,
        "total": 2,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?sort=name", ["April", "February", "January"]),
        ("?sort=-createdAt&limit=1", ["April"]),
        ("?sort=createdAt", ["January", "February", "April"]),
        ("?q=month", ["January"]),
        ("?start=2", ["January"]),
    ],
)
def test_list_sort_search_paging(pinned: Pinned, query: str, expected: list[str]) -> None:
    dataset = pinned.roles.dataset
    Snapshot.objects.create(dataset=dataset, generation=pinned.february, name="February", created_at=timezone.now())
    Snapshot.objects.create(
        dataset=dataset, generation=pinned.february, name="April", created_at=timezone.now() + timedelta(seconds=1)
    )
    response = pinned.roles.clients["view"].get(f"/api/datasets/{dataset.pk}/snapshots{query}")
    assert [item["name"] for item in response.json()["_embedded"]["inf:snapshot"]] == expected


@pytest.mark.parametrize(("query", "field"), [("?sort=note", "sort"), ("?limit=1001", "limit"), ("?start=x", "start")])
def test_list_bad_parameters(pinned: Pinned, query: str, field: str) -> None:
    response = pinned.roles.clients["view"].get(f"/api/datasets/{pinned.roles.dataset.pk}/snapshots{query}")
    assert_error(response, 400, field)


def test_list_shows_only_this_datasets_snapshots(pinned: Pinned) -> None:
    other = DatasetFactory(owner=pinned.roles.users["owner"])
    Snapshot.objects.create(dataset=other, generation=stored_generation(other, FIELDS, JANUARY))
    body = pinned.roles.clients["owner"].get(f"/api/datasets/{pinned.roles.dataset.pk}/snapshots").json()
    assert [item["id"] for item in body["_embedded"]["inf:snapshot"]] == [str(pinned.snapshot.pk)]


def test_get_by_the_datasets_natural_id(pinned: Pinned) -> None:
    response = pinned.roles.clients["view"].get(f"/api/datasets/alpha:sales/snapshots/{pinned.snapshot.pk}")
    assert response.status_code == 200
    assert response.json() == representation(pinned.snapshot, pinned.january)


def test_a_snapshot_of_another_dataset_or_tenant_is_not_found(pinned: Pinned) -> None:
    # given: a snapshot of another dataset of the owner, and a dataset of another tenant
    other = DatasetFactory(owner=pinned.roles.users["owner"])
    elsewhere = Snapshot.objects.create(dataset=other, generation=stored_generation(other, FIELDS, JANUARY))
    foreign = DatasetFactory(owner=pinned.roles.users["other_tenant"])
    foreign_snapshot = Snapshot.objects.create(dataset=foreign, generation=stored_generation(foreign, FIELDS, JANUARY))
    owner = pinned.roles.clients["owner"]
    before = dataset_state()

    # then
    for tail in ("", "/data"):
        assert_error(owner.get(pinned.path(tail, snapshot=elsewhere.pk)), 404)
        assert_error(owner.get(pinned.path(tail, snapshot="not-a-uuid")), 404)
        assert_error(owner.get(pinned.path(tail, snapshot=uuid.uuid4())), 404)
        assert_error(owner.get(f"/api/datasets/{foreign.pk}/snapshots/{foreign_snapshot.pk}{tail}"), 404)
    assert_error(owner.get(f"/api/datasets/{foreign.pk}/snapshots"), 404)
    assert_error(owner.post(f"/api/datasets/{foreign.pk}/snapshots"), 404)
    assert_error(owner.delete(f"/api/datasets/{foreign.pk}/snapshots/{foreign_snapshot.pk}"), 404)
    assert_error(owner.post(f"/api/datasets/{foreign.pk}/snapshots/{foreign_snapshot.pk}/_restore"), 404)
    assert_error(owner.delete(pinned.path(snapshot=elsewhere.pk)), 404)
    assert_error(owner.post(pinned.path("/_restore", snapshot=elsewhere.pk)), 404)
    assert dataset_state() == before


def test_data_reads_the_pinned_rows(pinned: Pinned) -> None:
    # when
    response = pinned.roles.clients["view"].get(pinned.path("/data?limit=1&sort=-amount"))

    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["items"] == [{"region": "East", "amount": 20}]
    assert (body["start"], body["count"], body["total"]) == (0, 1, 2)
    assert body["_links"]["next"] == {"href": f"http://testserver{pinned.path('/data?limit=1&sort=-amount&start=1')}"}


@pytest.mark.parametrize(
    ("query", "field"), [("?sort=bogus", "sort"), ("?limit=1001", "limit"), ("?filter=x", "filter")]
)
def test_data_bad_parameters(pinned: Pinned, query: str, field: str) -> None:
    assert_error(pinned.roles.clients["view"].get(pinned.path(f"/data{query}")), 400, field)


# Delete and restore


def test_delete_collects_rows_nothing_else_pins(pinned: Pinned) -> None:
    # when
    response = pinned.roles.clients["edit"].delete(pinned.path())

    # then
    assert response.status_code == 204
    assert not Snapshot.objects.filter(pk=pinned.snapshot.pk).exists()
    assert list(Generation.objects.values_list("pk", flat=True)) == [pinned.february.pk]
    assert set(DatasetRow.objects.values_list("generation_id", flat=True)) == {pinned.february.pk}


def test_restore_makes_the_pinned_rows_current(pinned: Pinned) -> None:
    # when
    response = pinned.roles.clients["edit"].post(pinned.path("/_restore"))

    # then
    assert response.status_code == 200, response.json()
    dataset = Dataset.objects.get(pk=pinned.roles.dataset.pk)
    assert (dataset.current_generation_id, dataset.records, dataset.refresh_started_at) == (pinned.january.pk, 2, None)
    assert (response.json()["id"], response.json()["records"]) == (str(dataset.pk), 2)
    assert response.json()["_links"]["self"] == {"href": f"http://testserver/api/datasets/{dataset.pk}"}
    rows = pinned.roles.clients["view"].get(f"/api/datasets/{dataset.pk}/data").json()["items"]
    assert rows == [{"region": "West", "amount": 10}, {"region": "East", "amount": 20}]
    assert not Generation.objects.filter(pk=pinned.february.pk).exists()  # nothing pins February any more


def test_restore_while_refreshing_is_a_409(pinned: Pinned) -> None:
    Dataset.objects.filter(pk=pinned.roles.dataset.pk).update(refresh_started_at=timezone.now())
    before = dataset_state()
    assert_error(pinned.roles.clients["owner"].post(pinned.path("/_restore")), 409)
    assert dataset_state() == before


# The permission matrix

SNAPSHOTS = "/api/datasets/{dataset}/snapshots"
SNAPSHOT = SNAPSHOTS + "/{snapshot}"
ROUTES: dict[str, tuple[str, str, dict[str, int]]] = {
    "list": ("get", SNAPSHOTS, expect(200, 200, 200, 200)),
    "create": ("post", SNAPSHOTS, expect(403, 201, 201, 201)),
    "get": ("get", SNAPSHOT, expect(200, 200, 200, 200)),
    "data": ("get", SNAPSHOT + "/data", expect(200, 200, 200, 200)),
    "delete": ("delete", SNAPSHOT, expect(403, 204, 204, 204)),
    "restore": ("post", SNAPSHOT + "/_restore", expect(403, 200, 200, 200)),
}


def effect_happened(route: str, pinned: Pinned) -> None:
    if route == "create":
        assert Snapshot.objects.filter(dataset=pinned.roles.dataset).count() == 2
    elif route == "delete":
        assert not Snapshot.objects.filter(pk=pinned.snapshot.pk).exists()
    elif route == "restore":
        assert Dataset.objects.get(pk=pinned.roles.dataset.pk).current_generation_id == pinned.january.pk


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(pinned: Pinned, route: str, role: str) -> None:
    # given
    method, path, expected = ROUTES[route]
    path = path.replace("{dataset}", str(pinned.roles.dataset.pk)).replace("{snapshot}", str(pinned.snapshot.pk))
    before = dataset_state()

    # when
    response = getattr(pinned.roles.clients[role], method)(path, format="json")

    # then
    assert response.status_code == expected[role], (route, role, response.content)
    if response.status_code >= 400:
        assert_error(response, expected[role])
        assert dataset_state() == before
    elif method == "get":
        assert dataset_state() == before
    else:
        effect_happened(route, pinned)
