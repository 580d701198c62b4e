"""``GET /api/datasource-drivers[/{id}]`` (§8): each connector's id, name, availability and settings schema."""

from __future__ import annotations

import pytest

from datasets.connectors.registry import connector_class
from tests.conftest import client_for
from tests.datasets.api.roles import assert_error, assert_no_secret


def test_the_drivers_list(owner):
    # when
    response = client_for(owner).get("/api/datasource-drivers")

    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"_links", "_embedded", "start", "count", "total"}
    assert (body["start"], body["count"], body["total"]) == (0, 3, 3)
    items = body["_embedded"]["inf:datasource-driver"]
    assert [item["id"] for item in items] == ["sqlite", "postgresql", "mysql"]
    for item in items:
        connector = connector_class(item["id"])
        assert item == {
            "_links": {"self": {"href": f"http://testserver/api/datasource-drivers/{item['id']}"}},
            "id": connector.type,
            "name": connector.name,
            "available": True,
            "schema": connector.config_schema,
        }
    assert_no_secret(response, key=False)


@pytest.mark.parametrize("driver_id", ["postgresql", "mysql"])
def test_network_types_mark_the_password_write_only(owner, driver_id):
    schema = client_for(owner).get(f"/api/datasource-drivers/{driver_id}").json()["schema"]

    assert schema["properties"]["password"]["writeOnly"] is True
    assert {"host", "port", "database", "username"} <= set(schema["properties"])


@pytest.mark.parametrize("driver_id", ["sqlite", "postgresql", "mysql"])
def test_one_driver(owner, driver_id):
    response = client_for(owner).get(f"/api/datasource-drivers/{driver_id}")

    assert response.status_code == 200
    assert response.json()["id"] == driver_id
    assert response.json() == next(
        item
        for item in client_for(owner).get("/api/datasource-drivers").json()["_embedded"]["inf:datasource-driver"]
        if item["id"] == driver_id
    )


@pytest.mark.parametrize("driver_id", ["oracle", "SQLITE", "fake"])
def test_an_unknown_driver_is_a_404(owner, driver_id):
    assert_error(client_for(owner).get(f"/api/datasource-drivers/{driver_id}"), 404)


@pytest.mark.parametrize("path", ["/api/datasource-drivers", "/api/datasource-drivers/sqlite"])
def test_anonymous_is_a_401(api, db, path):
    assert_error(api.get(path), 401)


def test_any_user_of_any_tenant_may_read_them(db):
    from tests.factories import TenantFactory, UserFactory

    stranger = UserFactory(tenant=TenantFactory(slug="beta"))

    assert client_for(stranger).get("/api/datasource-drivers").status_code == 200
