"""``GET /api/datasets/{id}/data`` (paging, typed sort, q, filter) and ``…/fields`` (§8)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.datasets.api.dataset_roles import ROLES, DatasetRoles, assert_error, dataset_state, expect, make_roles
from tests.datasets.factories import fields_of, stored_generation

FIELDS = fields_of(("id", "integer"), ("region", "string"), ("amount", "number"), ("sold_on", "date"))
ROWS = [
    [1, "West", 9, "2024-03-01"],
    [2, "east", 100, "2023-12-31"],
    [3, "North", 10.5, "2024-01-15"],
    [4, "West", None, None],
    [5, "south-west", 1000, "2024-02-29"],
]


def objects(*ids: int) -> list[dict[str, Any]]:
    names = [item["name"] for item in FIELDS]
    return [dict(zip(names, ROWS[index - 1], strict=True)) for index in ids]


@pytest.fixture
def roles(tenant: Any, owner: Any) -> DatasetRoles:
    made = make_roles(tenant, owner)
    stored_generation(made.dataset, FIELDS, ROWS)
    return made


def data(roles: DatasetRoles, query: str = "", role: str = "view") -> Any:
    return roles.clients[role].get(f"/api/datasets/{roles.dataset.pk}/data{query}")


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["items"]]


def test_a_page_in_informers_shape(roles: DatasetRoles) -> None:
    # when
    response = data(roles)

    # then
    assert response.status_code == 200
    base = f"http://testserver/api/datasets/{roles.dataset.pk}/data"
    assert response.json() == {
        "_links": {"self": {"href": base}},
        "items": objects(1, 2, 3, 4, 5),
        "start": 0,
        "count": 5,
        "total": 5,
    }


def test_paging_links(roles: DatasetRoles) -> None:
    # when
    body = data(roles, "?start=2&limit=2").json()

    # then
    base = f"http://testserver/api/datasets/{roles.dataset.pk}/data"
    assert body["items"] == objects(3, 4)
    assert (body["start"], body["count"], body["total"]) == (2, 2, 5)
    assert body["_links"] == {
        "self": {"href": f"{base}?start=2&limit=2"},
        "next": {"href": f"{base}?limit=2&start=4"},
        "prev": {"href": f"{base}?limit=2"},
    }


def test_by_natural_id_and_past_the_end(roles: DatasetRoles) -> None:
    body = roles.clients["view"].get("/api/datasets/alpha:sales/data?start=10").json()
    assert (body["items"], body["count"], body["total"]) == ([], 0, 5)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?sort=amount", [1, 3, 2, 5, 4]),  # numerically (as text 10.5 < 100 < 1000 < 9), empty last
        ("?sort=-amount", [4, 5, 2, 3, 1]),  # empty first going down
        ("?sort=sold_on", [2, 3, 5, 1, 4]),
        ("?sort=region", [2, 3, 5, 1, 4]),  # case-insensitively, ties by position
        ("?sort=-id&limit=2", [5, 4]),
        ("?sort=amount&start=1&limit=2", [3, 2]),
        ("?q=WEST", [1, 4, 5]),
        ("?q=ea", [2]),
        ("?q=nothing", []),
        ("?filter=" + quote(json.dumps({"region": "West"})), [1, 4]),
        ("?filter=" + quote(json.dumps({"amount": {"gte": 100}})), [2, 5]),
        ("?filter=" + quote(json.dumps({"amount": {"isnull": True}})), [4]),
        ("?filter=" + quote(json.dumps({"region": "West", "id": {"gt": 1}})), [4]),
        ("?filter=" + quote(json.dumps({"amount": {"lt": 100}})) + "&sort=-amount", [3, 1]),
        ("?q=west&sort=-id", [5, 4, 1]),
    ],
)
def test_sort_search_and_filter(roles: DatasetRoles, query: str, expected: list[int]) -> None:
    assert ids(data(roles, query)) == expected


def test_the_total_counts_the_matches(roles: DatasetRoles) -> None:
    body = data(roles, "?q=west&limit=1").json()
    assert (body["count"], body["total"]) == (1, 3)


def test_a_dataset_never_refreshed_has_no_rows(roles: DatasetRoles, owner: Any) -> None:
    from tests.datasets.factories import DatasetFactory

    fresh = DatasetFactory(owner=owner)
    from tests.conftest import client_for

    body = client_for(owner).get(f"/api/datasets/{fresh.pk}/data").json()
    assert (body["items"], body["count"], body["total"]) == ([], 0, 0)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?sort=bogus", "sort"),
        ("?sort=-bogus", "sort"),
        ("?filter=" + quote(json.dumps({"bogus": 1})), "filter"),
        ("?filter=" + quote(json.dumps({"amount": {"near": 1}})), "filter"),
        ("?filter=not-json", "filter"),
        ("?filter=" + quote(json.dumps(["region"])), "filter"),
        ("?limit=1001", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=many", "limit"),
        ("?start=-1", "start"),
        ("?start=1.5", "start"),
        ("?q=a%00b", "q"),
        ("?sort=a%00b", "sort"),
    ],
)
def test_bad_parameters(roles: DatasetRoles, query: str, field: str) -> None:
    before = dataset_state()
    assert_error(data(roles, query), 400, field)
    assert dataset_state() == before


def test_fields(roles: DatasetRoles) -> None:
    # when
    response = roles.clients["view"].get(f"/api/datasets/{roles.dataset.pk}/fields")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "_links": {"self": {"href": f"http://testserver/api/datasets/{roles.dataset.pk}/fields"}},
        "_embedded": {"inf:field": FIELDS},
        "start": 0,
        "count": 4,
        "total": 4,
    }


ROUTES = {"data": expect(200, 200, 200, 200), "fields": expect(200, 200, 200, 200)}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(roles: DatasetRoles, route: str, role: str) -> None:
    # given
    before = dataset_state()

    # when
    response = roles.clients[role].get(f"/api/datasets/{roles.dataset.pk}/{route}")

    # then
    assert response.status_code == ROUTES[route][role], (route, role, response.content)
    if response.status_code >= 400:
        assert_error(response, ROUTES[route][role])
    else:
        assert response.json()["count"] == (5 if route == "data" else 4)
    assert dataset_state() == before
