"""Libraries' secrets (§9): ``settings.password`` and ``settings.secretAccessKey`` are write-only, sealed at rest,
never shown or logged; a left-out or blank secret keeps the stored one, null removes it."""

from __future__ import annotations

from typing import Any

import pytest

from informer import secrets
from library.models import Library
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.library.api.roles import (
    SECRET,
    assert_error,
    assert_no_secret,
    grant_add,
    library_state,
    make_library,
    make_roles,
    register_fake,
)

# A public address as a literal: saving validates it without a name to resolve, and nothing here connects to it.
DAV = {"url": "https://93.184.215.14/remote.php/dav/", "username": "reader", "root": "docs"}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    return register_fake(monkeypatch)


@pytest.fixture
def roles(tenant: Any, owner: Any) -> Any:
    """A WebDAV library with a stored password."""
    return make_roles(tenant, owner, make_library(owner, type="webdav", settings=dict(DAV), password=SECRET))


def test_a_webdav_password_is_sealed_and_shown_as_a_flag(owner):
    # given
    client = client_for(grant_add(owner))
    body = {"name": "Dav", "type": "webdav", "settings": {**DAV, "password": SECRET}}

    # when
    response = client.post("/api/libraries", body, format="json")

    # then
    assert response.status_code == 201, response.content
    assert response.json()["settings"] == {**DAV, "hasPassword": True}
    assert_no_secret(response)
    library = Library.objects.get()
    assert library.settings == DAV
    assert SECRET not in library.secrets_encrypted
    assert secrets.unseal_json(library.secrets_encrypted) == {"password": SECRET}


def test_an_s3_secret_key_is_sealed_and_shown_as_a_flag(owner):
    client = client_for(grant_add(owner))
    plain = {"bucket": "handbook", "prefix": "docs/", "region": "eu-west-1", "accessKeyId": "AKIAEXAMPLE"}
    body = {"name": "Bucket", "type": "s3", "settings": {**plain, "secretAccessKey": SECRET}}

    response = client.post("/api/libraries", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["settings"] == {**plain, "hasSecretAccessKey": True}
    assert_no_secret(response)
    library = Library.objects.get()
    assert library.settings == plain
    assert secrets.unseal_json(library.secrets_encrypted) == {"secretAccessKey": SECRET}


def test_a_library_without_a_secret_says_so(owner):
    client = client_for(grant_add(owner))

    response = client.post("/api/libraries", {"name": "Dav", "type": "webdav", "settings": DAV}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["settings"]["hasPassword"] is False
    assert Library.objects.get().secrets_encrypted == ""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, {"password": SECRET}),  # left out: kept
        ({"password": ""}, {"password": SECRET}),  # blank: kept
        ({"password": None}, {}),  # null: removed
        ({"password": "n3w-secret"}, {"password": "n3w-secret"}),  # a value: replaced
        ({"username": "writer"}, {"password": SECRET}),  # another setting changed: kept
    ],
)
def test_a_secret_merges_left_out_blank_keeps_null_clears(roles, given, expected):
    # when
    response = roles.clients["edit"].patch(f"/api/libraries/{roles.obj.pk}", {"settings": given}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["settings"]["hasPassword"] is bool(expected)
    assert_no_secret(response, "n3w-secret")
    roles.obj.refresh_from_db()
    assert secrets.unseal_json(roles.obj.secrets_encrypted) == expected
    assert roles.obj.settings == {**DAV, **{key: value for key, value in given.items() if key != "password"}}


def test_the_flag_sent_back_is_ignored(roles):
    # given: a client that sends back the settings it read
    client = roles.clients["owner"]
    shown = client.get(f"/api/libraries/{roles.obj.pk}").json()["settings"]

    # when
    response = client.put(f"/api/libraries/{roles.obj.pk}", {"settings": {**shown, "root": "other"}}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["settings"] == {**DAV, "root": "other", "hasPassword": True}
    roles.obj.refresh_from_db()
    assert secrets.unseal_json(roles.obj.secrets_encrypted) == {"password": SECRET}


def test_changing_the_type_drops_the_old_types_secrets(roles, local_library_root):
    (local_library_root / "docs").mkdir()

    response = roles.clients["owner"].patch(
        f"/api/libraries/{roles.obj.pk}", {"type": "local", "settings": {"path": "docs"}}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["settings"] == {"path": "docs"}
    roles.obj.refresh_from_db()
    assert (roles.obj.settings, roles.obj.secrets_encrypted) == ({"path": "docs"}, "")


@pytest.mark.parametrize("value", [5, True, ["x"], {"a": 1}])
def test_a_secret_that_is_not_text_is_a_400(roles, db_state, value):
    before = {**db_state(), **library_state()}

    response = roles.clients["owner"].patch(
        f"/api/libraries/{roles.obj.pk}", {"settings": {"password": value}}, format="json"
    )

    assert_error(response, 400, "settings.password")
    assert {**db_state(), **library_state()} == before


def test_the_secret_is_in_no_response_of_any_route(roles):
    # given
    client = roles.clients["owner"]
    pk = roles.obj.pk

    # when
    responses = [
        client.get("/api/libraries"),
        client.get(f"/api/libraries/{pk}"),
        client.get("/api/libraries/alpha:handbook"),
        client.put(f"/api/libraries/{pk}", {"description": "d"}, format="json"),
        client.patch(f"/api/libraries/{pk}", {"name": "Handbook"}, format="json"),
        client.get(f"/api/libraries/{pk}/files"),
        client.get(f"/api/libraries/{pk}/shares"),
        client.get(f"/api/libraries/{pk}/shares/user:{roles.users['owner'].pk}"),
        client.get("/api/library-drivers"),
        client.options(f"/api/libraries/{pk}"),
    ]

    # then
    assert [response.status_code for response in responses] == [200] * len(responses)
    for response in responses[:-2]:
        assert_no_secret(response)
    for response in responses[-2:]:  # the drivers' schemas and OPTIONS describe the field
        assert_no_secret(response, key=False)


def test_no_log_carries_the_secret(fake, owner, caplog):
    # given
    caplog.set_level("DEBUG")
    client = client_for(grant_add(owner))

    # when
    created = client.post(
        "/api/libraries",
        {"name": "F", "type": "fake", "settings": {"host": "explodes", "password": "pw-in-the-crash"}},
        format="json",
    )
    tested = client.post(f"/api/libraries/{created.json()['id']}/_test")
    refused = client.post(
        "/api/libraries",
        {"name": "x", "type": "fake", "settings": {"host": "refused", "password": "pw-2"}},
        format="json",
    )

    # then
    assert created.status_code == 201, created.content
    assert (tested.status_code, refused.status_code) == (400, 400)  # a failed test names settings
    assert tested.json()["details"]["settings"] == [
        "The test failed: RuntimeError: client crashed with password=********"
    ]
    assert "pw-in-the-crash" not in caplog.text
    assert "pw-2" not in caplog.text


def test_a_secret_sealed_under_another_key_shows_as_absent(roles, settings):
    # given: the installation's key changed since the password was stored
    settings.INFORMER_SECRETS_KEY = "another-key-altogether"

    # when
    response = roles.clients["owner"].get(f"/api/libraries/{roles.obj.pk}")
    tested = roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/_test")

    # then
    assert response.status_code == 200
    assert response.json()["settings"]["hasPassword"] is False
    assert tested.status_code == 400
    assert "Enter it again" in tested.json()["details"]["settings"][0]


def test_the_admin_never_shows_the_secret(roles):
    staff = UserFactory(tenant=roles.obj.tenant, is_staff=True, is_superuser=True)
    client = client_for(staff)
    client.force_login(staff)

    pages = [client.get("/admin/library/library/"), client.get(f"/admin/library/library/{roles.obj.pk}/change/")]

    for page in pages:
        assert page.status_code == 200
        content = page.content.decode()
        assert SECRET not in content
        assert roles.obj.secrets_encrypted not in content
