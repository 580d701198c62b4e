"""Datasources' secrets (§8): the password and secret options are write-only, sealed at rest, never shown or logged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from datasets.models import Datasource
from informer import secrets
from tests.conftest import client_for
from tests.datasets.api.roles import (
    SECRET,
    assert_no_secret,
    grant_add,
    make_datasource,
    make_roles,
    make_source_file,
    register_fake,
)
from tests.factories import UserFactory


@pytest.fixture
def root(settings: Any, tmp_path: Path) -> Path:
    """A datasource root of this test's own holding ``sales.sqlite3``."""
    folder = tmp_path / "datasources"
    folder.mkdir()
    settings.INFORMER_DATASOURCE_ROOT = folder
    make_source_file(folder)
    return folder


@pytest.fixture
def fake_connector(monkeypatch: pytest.MonkeyPatch) -> Any:
    return register_fake(monkeypatch)


@pytest.fixture
def roles(root: Path, tenant: Any, owner: Any) -> Any:
    return make_roles(tenant, owner, make_datasource(owner, password=SECRET, description="Sales figures"))


# --- Secrets never shown ---------------------------------------------------------------------------------


def test_the_password_is_in_no_response_of_any_route(roles):
    # given
    client = roles.clients["owner"]
    pk = roles.obj.pk

    # when
    responses = [
        client.get("/api/datasources"),
        client.get(f"/api/datasources/{pk}"),
        client.get("/api/datasources/alpha:sales"),
        client.put(f"/api/datasources/{pk}", {"description": "d"}, format="json"),
        client.patch(f"/api/datasources/{pk}", {"name": "Sales"}, format="json"),
        client.post(f"/api/datasources/{pk}/_test"),
        client.get(f"/api/datasources/{pk}/shares"),
        client.get(f"/api/datasources/{pk}/shares/user:{roles.users['owner'].pk}"),
        client.get("/api/datasource-drivers"),
        client.options(f"/api/datasources/{pk}"),
    ]

    # then
    assert [response.status_code for response in responses] == [200] * len(responses)
    for response in responses[:-2]:
        assert_no_secret(response)
    for response in responses[-2:]:  # the drivers' schemas and OPTIONS describe the field
        assert_no_secret(response, key=False)


def test_the_admin_never_shows_the_password(roles, settings):
    # given
    staff = UserFactory(tenant=roles.obj.tenant, is_staff=True, is_superuser=True)
    client = client_for(staff)
    client.force_login(staff)

    # when
    pages = [
        client.get("/admin/datasets/datasource/"),
        client.get(f"/admin/datasets/datasource/{roles.obj.pk}/change/"),
    ]

    # then
    for page in pages:
        assert page.status_code == 200
        content = page.content.decode()
        assert SECRET not in content
        assert roles.obj.password_encrypted not in content


def test_no_log_carries_the_password(roles, caplog):
    # given
    caplog.set_level("DEBUG")
    client = roles.clients["owner"]

    # when
    client.patch(f"/api/datasources/{roles.obj.pk}", {"password": "brand-new-secret"}, format="json")
    client.post(f"/api/datasources/{roles.obj.pk}/_test")
    client.post("/api/datasources", {"name": "x", "type": "sqlite", "database": "..", "password": "brand-new-secret"})

    # then
    assert "brand-new-secret" not in caplog.text
    assert SECRET not in caplog.text


def test_secret_options_are_write_only_and_sealed(fake_connector, owner):
    # given: the connector's schema marks sslkey writeOnly
    client = client_for(grant_add(owner))
    body = {"name": "Fake", "type": "fake", "host": "h", "options": {"sslmode": "require", "sslkey": "KEY-MATERIAL"}}

    # when
    response = client.post("/api/datasources", body, format="json")

    # then: the plain option is shown and stored plain, the secret one neither
    assert response.status_code == 201, response.content
    assert response.json()["options"] == {"sslmode": "require"}
    assert_no_secret(response, "KEY-MATERIAL")
    datasource = Datasource.objects.get()
    assert datasource.options == {"sslmode": "require"}
    assert "KEY-MATERIAL" not in datasource.secret_options_encrypted
    assert secrets.unseal_json(datasource.secret_options_encrypted) == {"sslkey": "KEY-MATERIAL"}
    tested = client.post(f"/api/datasources/{datasource.pk}/_test").json()
    assert tested["message"] == "password 0 chars, sslkey 12 chars"


@pytest.mark.parametrize(
    ("options", "plain", "sealed"),
    [
        ({"sslmode": "disable"}, {"sslmode": "disable"}, {"sslkey": "KEY-MATERIAL"}),  # left out: kept
        ({"sslkey": ""}, {}, {"sslkey": "KEY-MATERIAL"}),  # blank: kept
        ({"sslkey": None}, {}, {}),  # null: removed
        ({"sslkey": "OTHER-KEY"}, {}, {"sslkey": "OTHER-KEY"}),  # a value: replaced
        ({}, {}, {"sslkey": "KEY-MATERIAL"}),
    ],
)
def test_secret_options_merge_like_the_password(fake_connector, owner, options, plain, sealed):
    # given
    client = client_for(grant_add(owner))
    body = {"name": "Fake", "type": "fake", "host": "h", "options": {"sslmode": "require", "sslkey": "KEY-MATERIAL"}}
    pk = client.post("/api/datasources", body, format="json").json()["id"]

    # when
    response = client.patch(f"/api/datasources/{pk}", {"options": options}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["options"] == plain
    assert_no_secret(response, "KEY-MATERIAL", "OTHER-KEY")
    datasource = Datasource.objects.get(pk=pk)
    assert datasource.options == plain
    assert secrets.unseal_json(datasource.secret_options_encrypted) == sealed


def test_leaving_options_out_keeps_them_all(fake_connector, owner):
    client = client_for(grant_add(owner))
    body = {"name": "Fake", "type": "fake", "host": "h", "options": {"sslmode": "require", "sslkey": "KEY-MATERIAL"}}
    pk = client.post("/api/datasources", body, format="json").json()["id"]

    response = client.patch(f"/api/datasources/{pk}", {"name": "Renamed"}, format="json")

    assert response.json()["options"] == {"sslmode": "require"}
    assert secrets.unseal_json(Datasource.objects.get(pk=pk).secret_options_encrypted) == {"sslkey": "KEY-MATERIAL"}


def test_an_option_the_type_does_not_read_is_a_400(fake_connector, owner):
    client = client_for(grant_add(owner))

    response = client.post(
        "/api/datasources", {"name": "F", "type": "fake", "host": "h", "options": {"sslcert": "x"}}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert list(body["details"]) == ["options.sslcert"]
    assert body["message"] == "options.sslcert: is not an option of fake; its options are: sslkey, sslmode."
    assert not Datasource.objects.exists()


def test_no_option_value_is_logged_either(fake_connector, owner, caplog):
    caplog.set_level("DEBUG")
    client = client_for(grant_add(owner))
    body = {"name": "F", "type": "fake", "host": "explodes", "password": "pw-in-the-crash", "options": {"sslkey": "K1"}}

    pk = client.post("/api/datasources", body, format="json").json()["id"]
    response = client.post(f"/api/datasources/{pk}/_test")

    assert response.status_code == 200
    assert "pw-in-the-crash" not in response.content.decode()
    assert "pw-in-the-crash" not in caplog.text
