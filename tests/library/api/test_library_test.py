"""``POST /api/libraries/{id}/_test`` (§9): reaches the remote and says why not; ``GET /api/library-drivers``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from informer import secrets
from library.models import Library
from tests.conftest import client_for
from tests.library.api.roles import (
    SECRET,
    assert_error,
    assert_no_secret,
    grant_add,
    library_state,
    make_folder,
    make_library,
    make_roles,
    register_fake,
)

TEST_KEYS = {"success", "message", "latency"}


@pytest.fixture
def root(local_library_root: Path) -> Path:
    make_folder(local_library_root, "docs", {"a.txt": b"alpha", "b.txt": b"bravo"})
    return local_library_root


@pytest.fixture
def roles(root: Path, tenant: Any, owner: Any) -> Any:
    return make_roles(tenant, owner, make_library(owner))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    return register_fake(monkeypatch)


def answer_of(client: Any, library: Any) -> dict[str, Any]:
    """The test's answer: a success as it comes, a failure (a 400 naming settings) as success false."""
    response = client.post(f"/api/libraries/{library.pk}/_test")
    if response.status_code == 400:
        body = response.json()
        assert set(body["details"]) == {"settings"}, body
        (message,) = body["details"]["settings"]
        assert body["message"] == message
        return {"success": False, "message": message, "latency": None}
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == TEST_KEYS
    assert body["success"] is True
    return body


def test_a_local_folder_that_opens(roles):
    body = answer_of(roles.clients["owner"], roles.obj)

    assert (body["success"], body["message"]) == (True, "Opened folder 'docs': 2 entries at its top.")
    assert isinstance(body["latency"], float)


def test_a_local_folder_that_is_gone_says_so(roles, root):
    (root / "docs").rename(root / "moved")

    body = answer_of(roles.clients["owner"], roles.obj)

    assert (body["success"], body["message"]) == (False, "There is no folder 'docs' under the library root.")


def test_a_stored_path_that_now_leads_out_of_the_root_fails_the_test(roles, root, tmp_path):
    # given: the folder was replaced by a link out of the root after it was saved
    (root / "docs").rename(root / "moved")
    (tmp_path / "elsewhere").mkdir()
    (root / "docs").symlink_to(tmp_path / "elsewhere")

    body = answer_of(roles.clients["owner"], roles.obj)

    assert body["success"] is False
    assert body["message"].startswith("settings.path: Refusing folder 'docs': it leads outside the library root")


def test_a_webdav_server_that_answers(webdav_server, owner):
    (webdav_server.folder / "a.txt").write_bytes(b"alpha")
    library = make_library(
        owner,
        type="webdav",
        settings={"url": webdav_server.url, "username": webdav_server.username, "root": ""},
        password=webdav_server.password,
    )

    body = answer_of(client_for(owner), library)

    assert body["success"] is True, body
    assert isinstance(body["latency"], float)
    assert_no_secret_text(body, webdav_server.password)


def test_wrong_webdav_credentials_are_a_readable_failure(webdav_server, owner):
    library = make_library(
        owner,
        type="webdav",
        settings={"url": webdav_server.url, "username": webdav_server.username, "root": ""},
        password="not-the-password",
    )

    body = answer_of(client_for(owner), library)

    assert (body["success"], body["message"]) == (False, "The server refused the username or password (HTTP 401).")
    assert_no_secret_text(body, "not-the-password")


def test_a_webdav_server_that_is_gone(webdav_server, owner):
    library = make_library(
        owner,
        type="webdav",
        settings={"url": webdav_server.url, "username": webdav_server.username, "root": ""},
        password=webdav_server.password,
    )
    webdav_server.stop()

    body = answer_of(client_for(owner), library)

    assert body["success"] is False
    assert body["message"].startswith(f"Request to {webdav_server.url} failed: "), body
    assert "Connection refused" in body["message"]


def test_a_refused_address_stored_before_the_rules_changed_fails_the_test(settings, owner):
    # given: a WebDAV library on loopback, saved while loopback was allowed
    library = make_library(owner, type="webdav", settings={"url": "http://127.0.0.1:9/dav/", "username": "u"})
    settings.INFORMER_OUTBOUND_ALLOW = []

    body = answer_of(client_for(owner), library)

    assert body["success"] is False
    assert body["message"].startswith("settings.url: ")
    assert "loopback" in body["message"]


@pytest.mark.parametrize(
    ("host", "success", "message"),
    [
        ("ok", True, f"password {len(SECRET)} chars"),
        ("echoes", False, "login failed for secret ********"),
        ("explodes", False, "The test failed: RuntimeError: client crashed with password=********"),
        ("down", False, "settings.host: Connection refused."),
        ("refused", False, "settings.host: Refusing host 'refused'."),
    ],
)
def test_every_failure_is_a_400_on_settings_with_the_secret_masked(fake, owner, host, success, message):
    library = make_library(owner, type="fake", settings={"host": host}, password=SECRET)

    response = client_for(owner).post(f"/api/libraries/{library.pk}/_test")

    assert response.status_code == (200 if success else 400), response.content
    said = response.json()["message"] if success else response.json()["details"]["settings"][0]
    assert said == message
    assert_no_secret(response)


def test_a_type_no_longer_registered_fails_the_test(owner):
    library = make_library(owner, type="ftp", settings={})

    body = answer_of(client_for(owner), library)

    assert body == {"success": False, "message": "type: unknown library type 'ftp'.", "latency": None}


@pytest.mark.parametrize("body", [{"settings": {"path": "other"}}, {"type": "local"}, {"bogus": 1}])
def test_the_test_takes_no_body(roles, db_state, body):
    before = {**db_state(), **library_state()}

    response = roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/_test", body, format="json")

    assert_error(response, 400, next(iter(body)))
    assert {**db_state(), **library_state()} == before


@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404)]
    + [(role, 200) for role in ("view", "edit", "admin", "owner")],
)
def test_test_permission_matrix(roles, db_state, role, status_code):
    before = {**db_state(), **library_state()}

    response = roles.clients[role].post(f"/api/libraries/{roles.obj.pk}/_test")

    assert response.status_code == status_code
    if status_code == 200:
        assert response.json()["success"] is True
    else:
        assert_error(response, status_code)
    assert {**db_state(), **library_state()} == before


def assert_no_secret_text(body: dict[str, Any], secret: str) -> None:
    assert secret not in str(body)


# --- Drivers ---------------------------------------------------------------------------------------------


def test_the_drivers_list_every_type_with_its_settings_schema(owner):
    response = client_for(owner).get("/api/library-drivers")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["start"], body["count"], body["total"]) == (0, 3, 3)
    items = body["_embedded"]["inf:library-driver"]
    assert [(item["id"], item["name"], item["available"]) for item in items] == [
        ("local", "Local folder", True),
        ("webdav", "WebDAV", True),
        ("s3", "Amazon S3 (or compatible)", True),
    ]
    schemas = {item["id"]: item["schema"] for item in items}
    assert schemas["local"]["required"] == ["path"]
    assert schemas["webdav"]["properties"]["password"]["writeOnly"] is True
    assert schemas["s3"]["properties"]["secretAccessKey"]["writeOnly"] is True
    for item in items:
        assert set(item) == {"_links", "id", "name", "available", "schema"}
        assert item["_links"] == {"self": {"href": f"http://testserver/api/library-drivers/{item['id']}"}}


def test_one_driver(owner):
    response = client_for(owner).get("/api/library-drivers/webdav")

    assert response.status_code == 200
    assert response.json()["id"] == "webdav"
    assert set(response.json()["schema"]["properties"]) >= {"url", "username", "password", "root"}


def test_an_unknown_driver_is_a_404(owner):
    assert_error(client_for(owner).get("/api/library-drivers/ftp"), 404)


def test_anonymous_drivers_are_a_401(api):
    assert_error(api.get("/api/library-drivers"), 401)
    assert_error(api.get("/api/library-drivers/local"), 401)


# --- S3 (moto over HTTP) ---------------------------------------------------------------------------------


def s3_library(owner: Any, s3_server: Any, **changes: Any) -> Any:
    """An s3 library on the moto server, created through the API as a client would."""
    config = s3_server.config(**changes)
    body = {"name": "Bucket", "type": "s3", "settings": {**config.settings, **config.secrets}}
    response = client_for(grant_add(owner)).post("/api/libraries", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["settings"]["hasSecretAccessKey"] is True
    return Library.objects.get(pk=response.json()["id"])


def test_an_s3_bucket_that_answers_and_syncs(s3_server, owner):
    # given
    s3_server.client().put_object(Bucket=s3_server.bucket, Key="docs/a.txt", Body=b"alpha")
    library = s3_library(owner, s3_server)
    client = client_for(owner)

    # when
    test = answer_of(client, library)
    sync = client.post(f"/api/libraries/{library.pk}/_sync")

    # then
    assert test["success"] is True, test
    assert sync.status_code == 200, sync.content
    assert (sync.json()["added"], sync.json()["bytes"], sync.json()["success"]) == (1, 5, True)
    assert_no_secret_text(test, s3_server.secret_access_key)


def test_an_s3_bucket_that_does_not_exist_is_a_readable_failure(s3_server, owner):
    library = s3_library(owner, s3_server, bucket="no-such-bucket-here")

    body = answer_of(client_for(owner), library)
    sync = client_for(owner).post(f"/api/libraries/{library.pk}/_sync")

    assert (body["success"], body["message"]) == (False, "There is no bucket 'no-such-bucket-here' (NoSuchBucket).")
    failed = assert_error(sync, 400, "settings")
    assert failed["message"] == (
        "settings: The listing failed, so nothing was changed: There is no bucket 'no-such-bucket-here' (NoSuchBucket)."
    )


def test_wrong_s3_credentials_are_a_readable_failure(s3_server, owner):
    s3_server.require_credentials()
    library = s3_library(owner, s3_server)
    Library.objects.filter(pk=library.pk).update(secrets_encrypted=secrets.seal_json({"secretAccessKey": "wrong"}))

    body = answer_of(client_for(owner), library)

    assert (body["success"], body["message"]) == (False, "The secret access key was refused (SignatureDoesNotMatch).")
    assert_no_secret_text(body, s3_server.secret_access_key)
