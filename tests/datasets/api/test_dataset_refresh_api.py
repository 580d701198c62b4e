"""``POST /api/datasets/{id}/_run`` and ``…/_refresh`` (§8) against a SQLite source file the tests write."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from datasets.models import Dataset, DatasetRow, Generation
from tests.datasets.api.dataset_roles import (
    ROLES,
    SALES_ROWS,
    DatasetRoles,
    assert_error,
    dataset_state,
    expect,
    make_roles,
    sales_database,
)

SALES_FIELDS = [
    {"name": "id", "label": "Id", "dataType": "integer", "position": 0},
    {"name": "region", "label": "Region", "dataType": "string", "position": 1},
    {"name": "amount", "label": "Amount", "dataType": "number", "position": 2},
    {"name": "sold_on", "label": "Sold on", "dataType": "string", "position": 3},
]
SALES_OBJECTS = [
    {"id": 1, "region": "West", "amount": 120.5, "sold_on": "2024-01-05"},
    {"id": 2, "region": "East", "amount": 80.0, "sold_on": "2024-01-06"},
    {"id": 3, "region": "West", "amount": 42.0, "sold_on": "2024-02-01"},
]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@pytest.fixture
def source(datasource_root: Path) -> Path:
    return sales_database(datasource_root)


@pytest.fixture
def roles(tenant: Any, owner: Any, source: Path) -> DatasetRoles:
    return make_roles(tenant, owner)


def with_query(roles: DatasetRoles, query: str, params: list[dict[str, Any]] | None = None) -> None:
    Dataset.objects.filter(pk=roles.dataset.pk).update(query=query, params=params or [])


REGION_QUERY = "SELECT id, region FROM sales WHERE region = :region AND id >= :first ORDER BY id"
REGION_PARAMS = [
    {"name": "region", "type": "string", "default": None, "required": True},
    {"name": "first", "type": "integer", "default": 1, "required": False},
]


# _run


def test_run_answers_the_first_rows_and_stores_nothing(roles: DatasetRoles) -> None:
    # given
    before = dataset_state()

    # when
    response = roles.clients["view"].post(f"/api/datasets/{roles.dataset.pk}/_run", {}, format="json")

    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert isinstance(body.pop("duration"), int)
    assert body == {"records": 3, "success": True, "params": {}, "fields": SALES_FIELDS, "rows": SALES_OBJECTS}
    assert dataset_state() == before


def test_run_with_a_limit_and_no_body(roles: DatasetRoles) -> None:
    assert roles.clients["owner"].post(f"/api/datasets/{roles.dataset.pk}/_run").json()["records"] == 3
    body = roles.clients["owner"].post(f"/api/datasets/{roles.dataset.pk}/_run", {"limit": 2}, format="json").json()
    assert (body["records"], body["rows"]) == (2, SALES_OBJECTS[:2])


def test_run_binds_parameters(roles: DatasetRoles) -> None:
    # given
    with_query(roles, REGION_QUERY, REGION_PARAMS)

    # when
    response = roles.clients["owner"].post(
        f"/api/datasets/{roles.dataset.pk}/_run", {"params": {"region": "West", "first": "2"}}, format="json"
    )

    # then
    assert response.status_code == 200, response.json()
    assert response.json()["params"] == {"region": "West", "first": 2}
    assert response.json()["rows"] == [{"id": 3, "region": "West"}]


def test_a_parameter_is_bound_never_interpolated(roles: DatasetRoles, source: Path) -> None:
    # given
    with_query(roles, REGION_QUERY, REGION_PARAMS)

    # when
    response = roles.clients["owner"].post(
        f"/api/datasets/{roles.dataset.pk}/_run", {"params": {"region": "West' OR '1'='1"}}, format="json"
    )

    # then
    assert response.status_code == 200, response.json()
    assert response.json()["rows"] == []


BAD_RUNS: list[tuple[str, dict[str, Any], str]] = [
    ("missing required param", {"params": {}}, "params.region"),
    ("unknown param", {"params": {"region": "West", "bogus": 1}}, "params.bogus"),
    ("param of the wrong type", {"params": {"region": "West", "first": "soon"}}, "params.first"),
    ("params not an object", {"params": ["West"]}, "params"),
    ("limit over 1000", {"params": {"region": "West"}, "limit": 1001}, "limit"),
    ("limit zero", {"params": {"region": "West"}, "limit": 0}, "limit"),
    ("limit as text", {"params": {"region": "West"}, "limit": "5"}, "limit"),
    ("unknown key", {"params": {"region": "West"}, "rows": 5}, "rows"),
    # wider than every source binds (SQLite's driver raised OverflowError: a 500)
    ("integer past 64 bits", {"params": {"region": "West", "first": 2**63}}, "params.first"),
    ("integer past 64 bits, negative", {"params": {"region": "West", "first": -(2**63) - 1}}, "params.first"),
    ("integer past 64 bits as text", {"params": {"region": "West", "first": "1" + "0" * 30}}, "params.first"),
    ("integer past 64 bits as a whole float", {"params": {"region": "West", "first": 1e300}}, "params.first"),
]


@pytest.mark.parametrize("route", ["_run", "_refresh"])
@pytest.mark.parametrize(("case", "body", "field"), BAD_RUNS, ids=[case[0] for case in BAD_RUNS])
def test_bad_input_is_a_400_naming_it(
    roles: DatasetRoles, route: str, case: str, body: dict[str, Any], field: str
) -> None:
    # given
    with_query(roles, REGION_QUERY, REGION_PARAMS)
    if route == "_refresh" and "limit" in body:
        body = {key: value for key, value in body.items() if key != "limit"} | {"limit": 5}
        field = "limit"  # _refresh takes no limit: an unknown key
    before = dataset_state()

    # when
    response = roles.clients["owner"].post(f"/api/datasets/{roles.dataset.pk}/{route}", body, format="json")

    # then
    assert_error(response, 400, field)
    assert dataset_state() == before


@pytest.mark.parametrize("route", ["_run", "_refresh"])
def test_an_integer_past_64_bits_is_refused_with_the_range(roles: DatasetRoles, route: str) -> None:
    # given
    with_query(roles, REGION_QUERY, REGION_PARAMS)
    before = dataset_state()

    # when
    response = roles.clients["owner"].post(
        f"/api/datasets/{roles.dataset.pk}/{route}", {"params": {"region": "West", "first": 10**30}}, format="json"
    )

    # then
    body = assert_error(response, 400, "params.first")
    assert body["message"] == "params.first: must be an integer from -9223372036854775808 to 9223372036854775807."
    assert dataset_state() == before


@pytest.mark.parametrize("given", [10**30, "1" + "0" * 30, -(10**30)])
def test_a_whole_number_past_64_bits_for_a_number_is_bound_as_a_double(roles: DatasetRoles, given: Any) -> None:
    # given
    with_query(
        roles,
        "SELECT id FROM sales WHERE amount <= :most ORDER BY id",
        [{"name": "most", "type": "number", "default": None, "required": True}],
    )

    # when
    response = roles.clients["owner"].post(
        f"/api/datasets/{roles.dataset.pk}/_run", {"params": {"most": given}}, format="json"
    )

    # then
    assert response.status_code == 200, response.json()
    expected = float(given)
    assert response.json()["params"] == {"most": expected}
    assert response.json()["rows"] == ([{"id": 1}, {"id": 2}, {"id": 3}] if expected > 0 else [])


@pytest.mark.parametrize("route", ["_run", "_refresh"])
def test_a_syntax_error_is_a_400_with_the_servers_message(roles: DatasetRoles, route: str) -> None:
    # given
    with_query(roles, "SELECT region FROM sales WHERE region = = 1")
    before = dataset_state()

    # when
    response = roles.clients["owner"].post(f"/api/datasets/{roles.dataset.pk}/{route}", {}, format="json")

    # then
    body = assert_error(response, 400, "query")
    assert body["message"] == 'query: near "=": syntax error'
    assert body["details"] == {"query": ['query: near "=": syntax error']}
    assert "Traceback" not in body["message"]
    assert dataset_state() == before


@pytest.mark.parametrize("route", ["_run", "_refresh"])
def test_a_write_is_refused_and_changes_nothing_on_the_source(roles: DatasetRoles, route: str, source: Path) -> None:
    # given
    with_query(roles, "DELETE FROM sales")
    before = dataset_state()

    # when
    response = roles.clients["owner"].post(f"/api/datasets/{roles.dataset.pk}/{route}", {}, format="json")

    # then
    assert_error(response, 400, "query")
    assert dataset_state() == before
    connection = sqlite3.connect(source)
    try:
        assert connection.execute("SELECT * FROM sales ORDER BY id").fetchall() == SALES_ROWS
    finally:
        connection.close()


def test_an_unreadable_source_is_a_400(roles: DatasetRoles, source: Path) -> None:
    source.unlink()
    before = dataset_state()
    response = roles.clients["owner"].post(f"/api/datasets/{roles.dataset.pk}/_refresh", {}, format="json")
    assert response.status_code == 400
    assert dataset_state() == before


# _refresh


def test_refresh_stores_the_rows_and_answers_what_it_did(roles: DatasetRoles) -> None:
    # when
    response = roles.clients["edit"].post(f"/api/datasets/{roles.dataset.pk}/_refresh", {}, format="json")

    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert isinstance(body.pop("duration"), int)
    assert ISO_UTC.fullmatch(body.pop("dataUpdatedAt"))
    assert body == {
        "id": str(roles.dataset.pk),
        "records": 3,
        "previousRecordCount": 0,
        "fieldsAdded": ["id", "region", "amount", "sold_on"],
        "fieldsUpdated": [],
        "truncated": False,
        "success": True,
    }
    dataset = Dataset.objects.get(pk=roles.dataset.pk)
    assert (dataset.records, dataset.fields, dataset.refresh_started_at) == (3, SALES_FIELDS, None)
    assert DatasetRow.objects.filter(generation_id=dataset.current_generation_id).count() == 3
    detail = roles.clients["edit"].get(f"/api/datasets/{roles.dataset.pk}").json()
    assert (detail["records"], detail["fields"], detail["refreshing"]) == (3, SALES_FIELDS, False)


def test_a_second_refresh_reports_the_previous_count_and_changed_fields(roles: DatasetRoles) -> None:
    # given
    client = roles.clients["owner"]
    client.post(f"/api/datasets/{roles.dataset.pk}/_refresh", {}, format="json")
    with_query(roles, "SELECT id, CAST(amount AS TEXT) AS amount, 1 AS one FROM sales WHERE id < 3")

    # when
    body = client.post(f"/api/datasets/{roles.dataset.pk}/_refresh", {}, format="json").json()

    # then
    assert (body["records"], body["previousRecordCount"]) == (2, 3)
    assert (body["fieldsAdded"], body["fieldsUpdated"]) == (["one"], ["amount"])
    assert Generation.objects.filter(dataset=roles.dataset).count() == 1  # the old generation was collected


def test_refresh_with_parameters(roles: DatasetRoles) -> None:
    with_query(roles, REGION_QUERY, REGION_PARAMS)
    response = roles.clients["owner"].post(
        f"/api/datasets/{roles.dataset.pk}/_refresh", {"params": {"region": "East"}}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["records"] == 1
    assert Generation.objects.get(dataset=roles.dataset).params == {"region": "East", "first": 1}


def test_refresh_while_refreshing_is_a_409(roles: DatasetRoles) -> None:
    # given
    Dataset.objects.filter(pk=roles.dataset.pk).update(refresh_started_at=timezone.now())
    before = dataset_state()

    # when
    response = roles.clients["owner"].post(f"/api/datasets/{roles.dataset.pk}/_refresh", {}, format="json")

    # then
    assert assert_error(response, 409)["message"] == (
        "The dataset is being refreshed; try again once that refresh has finished."
    )
    assert dataset_state() == before


def test_refreshing_shows_in_the_representation(roles: DatasetRoles) -> None:
    Dataset.objects.filter(pk=roles.dataset.pk).update(refresh_started_at=timezone.now())
    assert roles.clients["view"].get(f"/api/datasets/{roles.dataset.pk}").json()["refreshing"] is True


# The permission matrix

ROUTES = {
    "_run": expect(200, 200, 200, 200),
    "_refresh": expect(403, 200, 200, 200),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(roles: DatasetRoles, route: str, role: str) -> None:
    # given
    before = dataset_state()

    # when
    response = roles.clients[role].post(f"/api/datasets/{roles.dataset.pk}/{route}", {}, format="json")

    # then
    assert response.status_code == ROUTES[route][role], (route, role, response.content)
    if response.status_code >= 400:
        assert_error(response, ROUTES[route][role])
    if response.status_code >= 400 or route == "_run":
        assert dataset_state() == before
    else:
        assert Dataset.objects.get(pk=roles.dataset.pk).records == 3
