"""``GET /api/datasets/{id}/export?format=csv|xlsx|json`` (§8): streamed files with their names."""

from __future__ import annotations

import io
import json
from typing import Any

import jsonschema
import pytest
import yaml
from openpyxl import load_workbook
from rest_framework.test import APIClient

from datasets.api.common import content_disposition
from tests.conftest import client_for
from tests.datasets.api.dataset_roles import ROLES, DatasetRoles, assert_error, dataset_state, expect, make_roles
from tests.datasets.factories import DatasetFactory, fields_of, stored_generation

FIELDS = fields_of(("region", "string"), ("amount", "number"), ("active", "boolean"))
ROWS = [["West", 10.5, True], ['East, "inner"', 20, False], ["Nord ü", None, None]]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def roles(tenant: Any, owner: Any) -> DatasetRoles:
    made = make_roles(tenant, owner)
    stored_generation(made.dataset, FIELDS, ROWS)
    return made


def download(roles: DatasetRoles, query: str = "", role: str = "view", **headers: Any) -> Any:
    return roles.clients[role].get(f"/api/datasets/{roles.dataset.pk}/export{query}", **headers)


def content(response: Any) -> bytes:
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content)


def test_csv_is_the_default(roles: DatasetRoles) -> None:
    # when
    response = download(roles)

    # then
    assert content(response) == (
        'region,amount,active\r\nWest,10.5,true\r\n"East, ""inner""",20,false\r\nNord ü,,\r\n'.encode()
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == "attachment; filename=\"sales.csv\"; filename*=UTF-8''sales.csv"


def test_json(roles: DatasetRoles) -> None:
    response = download(roles, "?format=json")
    assert json.loads(content(response)) == [
        {"region": "West", "amount": 10.5, "active": True},
        {"region": 'East, "inner"', "amount": 20, "active": False},
        {"region": "Nord ü", "amount": None, "active": None},
    ]
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == "attachment; filename=\"sales.json\"; filename*=UTF-8''sales.json"


def test_the_schema_describes_each_format_as_it_is_answered(roles: DatasetRoles) -> None:
    # given
    schema = yaml.safe_load(APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi").content)
    answers = schema["paths"]["/api/datasets/{id}/export"]["get"]["responses"]["200"]["content"]

    # when
    rows = json.loads(content(download(roles, "?format=json")))

    # then: a json export is a document a client parses, the other formats opaque files
    jsonschema.validate(rows, answers["application/json"]["schema"])
    assert answers["application/json"]["schema"] == {
        "type": "array",
        "items": {"type": "object", "additionalProperties": True},
    }
    assert answers["text/csv"]["schema"] == {"type": "string", "format": "binary"}
    assert answers[XLSX]["schema"] == {"type": "string", "format": "binary"}


def test_xlsx(roles: DatasetRoles) -> None:
    # when
    response = download(roles, "?format=xlsx")

    # then
    workbook = load_workbook(io.BytesIO(content(response)), read_only=True)
    rows = [list(row) for row in workbook.active.iter_rows(values_only=True)]
    assert rows == [
        ["region", "amount", "active"],
        ["West", 10.5, True],
        ['East, "inner"', 20, False],
        ["Nord ü"],  # empty cells are not written, and a read-only sheet ends the row at its last value
    ]
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == "attachment; filename=\"sales.xlsx\"; filename*=UTF-8''sales.xlsx"


def test_the_format_parameter_is_the_files_not_a_renderers(roles: DatasetRoles) -> None:
    # ?format= also names DRF's renderers ("json", "api"); here it is the file's format, whatever Accept says.
    assert content(download(roles, "?format=json", HTTP_ACCEPT="text/html")).startswith(b"[")
    assert content(download(roles, "?format=csv", HTTP_ACCEPT="text/csv")).startswith(b"region,")
    assert content(download(roles, "?format=xlsx", HTTP_ACCEPT=XLSX)).startswith(b"PK")


@pytest.mark.parametrize("file_format", ["pdf", "api", "CSV", "csv%00"])
def test_an_unknown_format_is_a_400(roles: DatasetRoles, file_format: str) -> None:
    before = dataset_state()
    response = download(roles, f"?format={file_format}", HTTP_ACCEPT="text/csv")
    body = assert_error(response, 400, "format")
    assert response["Content-Type"] == "application/json"
    assert "csv, xlsx, json" in body["message"]
    assert dataset_state() == before


def test_by_natural_id_and_a_dataset_never_refreshed(roles: DatasetRoles, owner: Any) -> None:
    assert content(roles.clients["view"].get("/api/datasets/alpha:sales/export?format=json")).startswith(b"[")
    fresh = DatasetFactory(owner=owner, slug="fresh")
    response = client_for(owner).get(f"/api/datasets/{fresh.pk}/export?format=json")
    assert json.loads(content(response)) == []


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        ("sales.csv", "attachment; filename=\"sales.csv\"; filename*=UTF-8''sales.csv"),
        ("Umsätze.csv", "attachment; filename=\"Ums_tze.csv\"; filename*=UTF-8''Ums%C3%A4tze.csv"),
        ('a"b.csv', "attachment; filename=\"a'b.csv\"; filename*=UTF-8''a%22b.csv"),
    ],
)
def test_content_disposition(filename: str, header: str) -> None:
    assert content_disposition(filename) == header


ROUTES = {
    "export csv": ("?format=csv", expect(200, 200, 200, 200)),
    "export xlsx": ("?format=xlsx", expect(200, 200, 200, 200)),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(roles: DatasetRoles, route: str, role: str) -> None:
    # given
    query, expected = ROUTES[route]
    before = dataset_state()

    # when
    response = download(roles, query, role=role)

    # then
    assert response.status_code == expected[role], (route, role)
    if response.status_code >= 400:
        assert_error(response, expected[role])
    else:
        assert len(content(response)) > 0
    assert dataset_state() == before
