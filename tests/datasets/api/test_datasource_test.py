"""``POST /api/datasources/{id}/_test`` and ``POST /api/datasources/_test-config`` (§8): a failure is success false."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from datasets.models import Datasource
from tests.conftest import client_for
from tests.datasets.api.roles import (
    SECRET,
    assert_error,
    assert_no_secret,
    datasets_state,
    grant_add,
    make_datasource,
    make_roles,
    make_source_file,
    register_fake,
)
from tests.datasets.conftest import unreachable

RESULT_KEYS = {"success", "message", "latency", "serverVersion", "database"}
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


@pytest.fixture
def root(settings: Any, tmp_path: Path) -> Path:
    """A datasource root of this test's own holding ``sales.sqlite3``."""
    folder = tmp_path / "datasources"
    folder.mkdir()
    settings.INFORMER_DATASOURCE_ROOT = folder
    make_source_file(folder)
    return folder


@pytest.fixture
def roles(root: Path, tenant: Any, owner: Any) -> Any:
    return make_roles(tenant, owner, make_datasource(owner, password=SECRET))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    return register_fake(monkeypatch)


def state(db_state: Any) -> dict[str, Any]:
    return {**db_state(), **datasets_state()}


def local_postgresql() -> None:
    """Skip (fail under CI=true) when the machine's PostgreSQL does not answer."""
    import psycopg

    try:
        psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3).close()
    except psycopg.Error as error:
        unreachable(f"PostgreSQL at {PG_HOST}:{PG_PORT}", error)


# --- _test -----------------------------------------------------------------------------------------------


def test_testing_a_stored_sqlite_datasource(roles):
    # when
    response = roles.clients["view"].post(f"/api/datasources/{roles.obj.pk}/_test")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == RESULT_KEYS
    assert (body["success"], body["message"], body["database"]) == (
        True,
        "Opened sales.sqlite3 read-only.",
        "sales.sqlite3",
    )
    assert body["serverVersion"].startswith("SQLite 3.")
    assert isinstance(body["latency"], float)
    assert body["latency"] >= 0
    assert_no_secret(response)


def test_by_natural_id(roles):
    response = roles.clients["owner"].post("/api/datasources/alpha:sales/_test")

    assert response.json()["success"] is True


def test_a_file_gone_since_it_was_saved_is_success_false(roles, root):
    # given
    (root / "sales.sqlite3").unlink()

    # when
    response = roles.clients["owner"].post(f"/api/datasources/{roles.obj.pk}/_test")

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert body["message"] == "database: There is no SQLite file 'sales.sqlite3' under the datasource root."
    assert (body["serverVersion"], body["database"]) == (None, None)


def test_a_password_sealed_under_another_key_is_success_false(roles, settings):
    # given: the installation's key changed since the password was saved
    settings.INFORMER_SECRETS_KEY = "another key entirely"

    # when
    response = roles.clients["owner"].post(f"/api/datasources/{roles.obj.pk}/_test")

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert "Enter it again" in body["message"]


@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404)]
    + [(role, 200) for role in ("view", "edit", "admin", "owner")],
)
def test_test_permission_matrix(roles, db_state, role, status_code):
    # given
    before = state(db_state)

    # when
    response = roles.clients[role].post(f"/api/datasources/{roles.obj.pk}/_test")

    # then
    assert response.status_code == status_code
    if status_code == 200:
        assert response.json()["success"] is True
    else:
        assert_error(response, status_code)
    assert state(db_state) == before  # a test changes nothing, whoever asks
    assert_no_secret(response)


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("explodes", "The test failed: RuntimeError: driver crashed with password=********"),
        ("echoes", "login failed for secret ********"),
        ("refused", "host: Refusing host 'refused'."),
    ],
)
def test_a_failing_driver_is_success_false_with_the_secret_masked(fake, tenant, owner, host, message):
    # given
    datasource = make_datasource(owner, type="fake", host=host, database="", password=SECRET)

    # when
    response = client_for(owner).post(f"/api/datasources/{datasource.pk}/_test")

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["message"]) == (False, message)
    assert_no_secret(response)


def test_testing_a_postgresql_datasource_on_the_local_server(settings, owner):
    # given
    local_postgresql()
    settings.INFORMER_DATASOURCE_ALLOW = ["127.0.0.1", "localhost"]
    datasource = make_datasource(
        owner, type="postgresql", host=PG_HOST, port=PG_PORT, database="postgres", username=PG_USER
    )

    # when
    response = client_for(owner).post(f"/api/datasources/{datasource.pk}/_test")

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True, body
    assert body["database"] == "postgres"
    assert "PostgreSQL" in body["serverVersion"]
    assert body["latency"] > 0


def test_a_postgresql_server_refusing_the_login_is_success_false(settings, owner):
    # given
    local_postgresql()
    settings.INFORMER_DATASOURCE_ALLOW = ["127.0.0.1", "localhost"]
    datasource = make_datasource(
        owner,
        type="postgresql",
        host=PG_HOST,
        port=PG_PORT,
        database="no_such_database_here",
        username=PG_USER,
        password=SECRET,
    )

    # when
    response = client_for(owner).post(f"/api/datasources/{datasource.pk}/_test")

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert "no_such_database_here" in body["message"]
    assert_no_secret(response)


def test_a_loopback_postgresql_host_not_allowed_is_success_false(owner):
    datasource = make_datasource(owner, type="postgresql", host="127.0.0.1", port=5432, database="postgres")

    response = client_for(owner).post(f"/api/datasources/{datasource.pk}/_test")

    body = response.json()
    assert body["success"] is False
    assert body["message"].startswith("host: ")
    assert "INFORMER_DATASOURCE_ALLOW" in body["message"]


# --- _test-config ----------------------------------------------------------------------------------------


def test_testing_unsaved_settings(root, owner, db_state):
    # given
    client = client_for(grant_add(owner))
    before = state(db_state)
    body = {"name": "Draft", "type": "sqlite", "database": "sales.sqlite3", "password": SECRET}

    # when
    response = client.post("/api/datasources/_test-config", body, format="json")

    # then
    assert response.status_code == 200, response.content
    answer = response.json()
    assert set(answer) == RESULT_KEYS
    assert (answer["success"], answer["message"]) == (True, "Opened sales.sqlite3 read-only.")
    assert state(db_state) == before
    assert_no_secret(response)


def test_testing_unsaved_settings_needs_the_add_datasource_permission(root, owner, db_state):
    before = state(db_state)

    response = client_for(owner).post(
        "/api/datasources/_test-config", {"name": "D", "type": "sqlite", "database": "sales.sqlite3"}, format="json"
    )

    body = assert_error(response, 403)
    assert body["message"] == "You need the 'datasets.add_datasource' permission to test unsaved datasource settings."
    assert state(db_state) == before


def test_testing_unsaved_settings_anonymously_is_a_401(root, api):
    response = api.post("/api/datasources/_test-config", {"name": "D", "type": "sqlite", "database": "sales.sqlite3"})

    assert_error(response, 401)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "D", "type": "sqlite", "database": "../x.sqlite3"}, "database: Refusing SQLite path '../x.sqlite3'"),
        ({"name": "D", "type": "sqlite", "database": "/etc/passwd"}, "database: Refusing SQLite path '/etc/passwd'"),
        ({"name": "D", "type": "postgresql", "host": "10.0.0.8", "database": "d"}, "host: "),
        ({"name": "D", "type": "postgresql", "host": "169.254.169.254", "database": "d"}, "host: "),
    ],
)
def test_settings_the_safety_rules_refuse_are_success_false(root, owner, body, message):
    response = client_for(grant_add(owner)).post("/api/datasources/_test-config", body, format="json")

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["success"] is False
    assert answer["message"].startswith(message)
    assert not Datasource.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "D", "type": "oracle"}, "type"),
        ({"name": "D"}, "type"),
        ({"type": "sqlite", "database": "sales.sqlite3"}, "name"),
        ({"name": "D", "type": "sqlite", "bogus": True}, "bogus"),
        ({"name": "D", "type": "sqlite", "port": "5432"}, "port"),
    ],
)
def test_a_malformed_body_is_a_400(root, owner, body, field):
    response = client_for(grant_add(owner)).post("/api/datasources/_test-config", body, format="json")

    assert_error(response, 400, field)
    assert not Datasource.objects.exists()


def test_testing_unsaved_postgresql_settings_on_the_local_server(settings, owner):
    # given
    local_postgresql()
    settings.INFORMER_DATASOURCE_ALLOW = ["127.0.0.1", "localhost"]
    body = {
        "name": "PG",
        "type": "postgresql",
        "host": PG_HOST,
        "port": PG_PORT,
        "database": "postgres",
        "username": PG_USER,
    }

    # when
    response = client_for(grant_add(owner)).post("/api/datasources/_test-config", body, format="json")

    # then
    answer = response.json()
    assert answer["success"] is True, answer
    assert answer["database"] == "postgres"


def test_test_takes_no_settings_in_its_body(roles, db_state):
    before = state(db_state)

    response = roles.clients["owner"].post(
        f"/api/datasources/{roles.obj.pk}/_test", {"database": "other.sqlite3"}, format="json"
    )

    assert_error(response, 400, "database")
    assert state(db_state) == before
